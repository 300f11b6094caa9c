// Response mutations for the registry fuzz loop (registryFuzz.test.ts): a correct registry answer
// for manifests and blobs, then one mutation applied to its status, headers, framing or body.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { raw } from '../bed/hostileRegistry';

export const mutations = [
  'none', 'status', 'truncate', 'flip', 'extend', 'content-length-over', 'content-length-under', 'chunk-garbage',
  'drop', 'drop-mid', 'stall', 'digest-header', 'content-type', 'empty', 'retry-after', 'redirect-garbage',
  'redirect-relative', 'error-body', 'huge-header', 'not-http',
] as const;
export type Mutation = (typeof mutations)[number];

const statuses = [200, 201, 204, 206, 301, 400, 401, 403, 404, 405, 416, 429, 500, 502, 503, 599];
const errorBodies = ['', 'null', '{"errors":"x"}', '{"errors":[{"code":{"a":1}}]}', `{"errors":[{"code":"${'X'.repeat(5000)}","message":"a\\nb"}]}`, '{"errors":[{"code":"DENIED","message":"no\\r\\nway"}]}', '\u0000'];

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export interface FuzzInput {
  manifest: Buffer;
  config: Buffer;
  layer: Buffer;
  mutation: Mutation;
  /** A number in [0, 1) that picks the mutation's variant (where to cut, which status...). */
  variant: number;
}

function head(status: number, headers: Record<string, string | number>): string {
  return `HTTP/1.1 ${status} X\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

export function fuzzResponse(req: IncomingMessage, res: ServerResponse, input: FuzzInput): void {
  const isManifest = /\/manifests\//.test(req.url ?? '');
  const isHead = req.method === 'HEAD';
  const body = isManifest ? input.manifest : input.layer;
  const headers: Record<string, string | number> = {
    'content-type': isManifest ? 'application/vnd.oci.image.manifest.v1+json' : 'application/octet-stream',
    'docker-content-digest': sha256(body),
    'content-length': body.length,
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(input.variant * items.length)] as T;
  const at = Math.floor(input.variant * body.length);
  const send = (status: number, h: Record<string, string | number>, b: Buffer) => {
    res.writeHead(status, h);
    res.end(isHead ? undefined : b);
  };
  switch (input.mutation) {
    case 'none':
      return send(200, headers, body);
    case 'status':
      return send(pick(statuses), { ...headers, 'content-length': 0 }, Buffer.alloc(0));
    case 'truncate':
      return send(200, { ...headers, 'content-length': at }, body.subarray(0, at));
    case 'flip': {
      const flipped = Buffer.from(body);
      flipped[at] = (flipped[at] ?? 0) ^ 0x20;
      return send(200, headers, flipped);
    }
    case 'extend': {
      const longer = Buffer.concat([body, Buffer.from(' '.repeat(1 + Math.floor(input.variant * 100)))]);
      return send(200, { ...headers, 'content-length': longer.length }, longer);
    }
    case 'content-length-over':
      return raw(res, Buffer.concat([Buffer.from(head(200, { ...headers, 'content-length': body.length + 1 + at })), isHead ? Buffer.alloc(0) : body]));
    case 'content-length-under':
      return raw(res, Buffer.concat([Buffer.from(head(200, { ...headers, 'content-length': at })), isHead ? Buffer.alloc(0) : body]));
    case 'chunk-garbage': {
      const { 'content-length': _, ...rest } = headers;
      return raw(res, Buffer.concat([Buffer.from(head(200, { ...rest, 'transfer-encoding': 'chunked' })), Buffer.from(`${pick(['zz', '-1', 'ffffffffffffffffff', '3'])}\r\nabcdef\r\n`)]));
    }
    case 'drop':
      res.socket?.destroy();
      return;
    case 'drop-mid':
      res.writeHead(200, headers);
      res.write(body.subarray(0, at), () => res.socket?.destroy());
      return;
    case 'stall':
      // Longer than the client's headers timeout: each attempt times out.
      setTimeout(() => (res.writableEnded ? undefined : send(200, headers, body)), 300).unref();
      return;
    case 'digest-header':
      return send(200, { ...headers, 'docker-content-digest': pick(['sha256:abc', 'md5:00', sha256(Buffer.from('other')), '', 'sha512:' + 'a'.repeat(128)]) }, body);
    case 'content-type':
      return send(200, { ...headers, 'content-type': pick(['', 'text/html', 'application/vnd.docker.distribution.manifest.v1+json', ';;;', 'application/vnd.oci.image.index.v1+json']) }, body);
    case 'empty':
      return send(200, { ...headers, 'content-length': 0 }, Buffer.alloc(0));
    case 'retry-after':
      return send(pick([429, 503]), { 'retry-after': pick(['1', '0', 'soon', '-3', 'Wed, 21 Oct 2099 07:28:00 GMT', '99999999999999999999']), 'content-length': 0 }, Buffer.alloc(0));
    case 'redirect-garbage':
      return send(pick([301, 302, 307, 308]), { location: pick(['http://[::1', '', 'http://', '//', 'javascript:alert(1)', 'ftp://127.0.0.1/x', `http://127.0.0.1:1/${'a'.repeat(10)}`]), 'content-length': 0 }, Buffer.alloc(0));
    case 'redirect-relative':
      // A redirect within the same server to a path it also answers: must end well.
      if (!req.url?.includes('moved=1')) return send(307, { location: `${req.url}?moved=1`, 'content-length': 0 }, Buffer.alloc(0));
      return send(200, headers, body);
    case 'error-body': {
      const text = Buffer.from(pick(errorBodies));
      return send(pick([400, 401, 403, 404, 500]), { 'content-type': 'application/json', 'content-length': text.length }, text);
    }
    case 'huge-header':
      return raw(res, Buffer.concat([Buffer.from(head(200, { ...headers, 'x-junk': 'j'.repeat(64 * 1024 + Math.floor(input.variant * 1e6)) })), isHead ? Buffer.alloc(0) : body]));
    case 'not-http':
      return raw(res, pick(['SSH-2.0-OpenSSH\r\n', 'HTTP/9 OK\r\n\r\n', '\r\n\r\n', 'HTTP/1.1 abc\r\n\r\n']));
  }
}
