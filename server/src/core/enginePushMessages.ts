// The JSON message stream of an engine's push (`POST /images/{name}/push`), read into typed
// messages. Docker (moby distribution/push_v2.go, pkg/jsonmessage) sends one JSON object per line:
//   {"status":"Preparing","progressDetail":{},"id":"<12 hex of the layer's diff_id>"}
//   {"status":"Waiting"|"Layer already exists"|"Mounted from team/base"|"Pushed", "id":…}
//   {"status":"Pushing","progressDetail":{"current":N,"total":M},"id":…}   (M: the layer's
//        uncompressed size; N counts bytes read into the compressor, so it may pass M)
//   {"status":"Retrying in 5 seconds","id":…}
//   {"status":"TAG: digest: sha256:… size: N"} and {"aux":{"Tag","Digest","Size"}}
//   {"errorDetail":{"message":"…"},"error":"…"}
// Podman's compatible service sends the first status, then only the digest line or the error.

export type LayerState = 'preparing' | 'waiting' | 'exists' | 'mounted' | 'pushing' | 'pushed' | 'retrying' | 'other';

export type EnginePushMessage =
  | { kind: 'layer'; id: string; state: LayerState; current?: number; total?: number; from?: string; text: string }
  | { kind: 'digest'; tag?: string; digest: string; size?: number }
  | { kind: 'error'; message: string }
  | { kind: 'status'; text: string };

const DIGEST_LINE = /^(?:(\S+): )?digest: (sha256:[0-9a-f]{64}) size: (\d+)$/;

function layerState(status: string): { state: LayerState; from?: string } {
  if (status === 'Preparing') return { state: 'preparing' };
  if (status === 'Waiting') return { state: 'waiting' };
  if (status === 'Layer already exists') return { state: 'exists' };
  if (status.startsWith('Mounted from ')) return { state: 'mounted', from: status.slice('Mounted from '.length) };
  if (status === 'Pushing') return { state: 'pushing' };
  if (status === 'Pushed') return { state: 'pushed' };
  if (status.startsWith('Retrying in ')) return { state: 'retrying' };
  return { state: 'other' };
}

const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);

/** One line of the stream; undefined for blank lines and for JSON that is not a message. */
export function parseEnginePushLine(line: string): EnginePushMessage | undefined {
  const trimmed = line.trim();
  if (trimmed === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return { kind: 'status', text: trimmed.slice(0, 500) };
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as { status?: unknown; id?: unknown; error?: unknown; errorDetail?: { message?: unknown }; progressDetail?: { current?: unknown; total?: unknown }; aux?: { Tag?: unknown; Digest?: unknown; Size?: unknown } };
  if (m.errorDetail !== undefined || m.error !== undefined) {
    const message = typeof m.errorDetail?.message === 'string' ? m.errorDetail.message : typeof m.error === 'string' ? m.error : 'the engine reported an error without a message';
    return { kind: 'error', message };
  }
  if (m.aux && typeof m.aux.Digest === 'string') {
    return { kind: 'digest', digest: m.aux.Digest, ...(typeof m.aux.Tag === 'string' ? { tag: m.aux.Tag } : {}), ...(num(m.aux.Size) !== undefined ? { size: num(m.aux.Size) } : {}) };
  }
  const status = typeof m.status === 'string' ? m.status : undefined;
  if (status === undefined) return undefined;
  const digestLine = DIGEST_LINE.exec(status);
  if (digestLine) return { kind: 'digest', digest: digestLine[2] as string, ...(digestLine[1] ? { tag: digestLine[1] } : {}), size: Number(digestLine[3]) };
  if (typeof m.id === 'string' && m.id !== '') {
    const { state, from } = layerState(status);
    const current = num(m.progressDetail?.current);
    const total = num(m.progressDetail?.total);
    return { kind: 'layer', id: m.id, state, text: status, ...(current !== undefined ? { current } : {}), ...(total !== undefined ? { total } : {}), ...(from ? { from } : {}) };
  }
  return { kind: 'status', text: status };
}

/** Splits a byte stream into lines (a message may arrive in pieces, or several in one chunk). */
export class LineSplitter {
  private rest = '';
  push(chunk: string): string[] {
    this.rest += chunk;
    const lines = this.rest.split('\n');
    this.rest = lines.pop() ?? '';
    return lines;
  }
  end(): string[] {
    const last = this.rest;
    this.rest = '';
    return last.trim() === '' ? [] : [last];
  }
}

/**
 * Which diff_id a Docker progress id stands for: moby names a layer by the first 12 hex digits
 * of its diff_id (stringid.TruncateID). Undefined when none or several match.
 */
export function diffIdForProgressId(id: string, diffIds: readonly string[]): string | undefined {
  if (!/^[0-9a-f]{12,64}$/.test(id)) return undefined;
  const matches = new Set(diffIds.filter((d) => d.slice(d.indexOf(':') + 1).startsWith(id)));
  return matches.size === 1 ? [...matches][0] : undefined;
}
