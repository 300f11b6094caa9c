// `layerlift copy SRC DST`: one image (or an index with --all) between or within registries.
import { formatReference, parseReference } from '../../core/reference';
import { parsePlatform } from '../../core/platform';
import { copyImage, type CopyEvent, type CopyResult } from '../../copy/copyImage';
import { limitRateOf, limitRateFlagHelp, makeClient, parseCommandArgs, registryFlags, registryFlagsHelp } from '../options';
import { formatBytes, formatDuration } from '../../core/format';
import { ProgressLine } from '../progress';
import { UsageError } from '../usageError';
import type { CommandIO } from '../io';

export const copyHelp = `Usage: layerlift copy SRC DST [--all] [--platform OS/ARCH] [--json]

Copies an image blob by blob. Blobs DST already has are skipped, blobs in another repository
of the same registry are mounted (nothing is sent), the rest stream from SRC to DST in resumable
chunks, with memory bounded and no temp files. Digests are kept byte for byte; DST's tag moves
only after every blob has arrived. This is what a runner near the registry runs to pre-push a
base image.

Options:
  --all                            copy a multi-platform index with every platform
  --platform OS/ARCH[/VARIANT]     platform to pick from a multi-platform image (default: this machine's)
  --concurrency N                  blobs in flight at once (default 4)
  --chunk-size MB                  upload chunk size in MiB (default 8)
${limitRateFlagHelp}
${registryFlagsHelp}

Exit status: 0 when DST holds the image, 1 otherwise (one line on stderr says why).

Examples:
  layerlift copy python:3.12-slim registry.example.com/mirror/python:3.12-slim
  layerlift copy --all 127.0.0.1:5000/base:1 127.0.0.1:5001/base:1`;

export async function runCopy(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('copy', args, {
    ...registryFlags,
    all: { type: 'boolean' },
    platform: { type: 'string' },
    concurrency: { type: 'string' },
    'chunk-size': { type: 'string' },
    'limit-rate': { type: 'string' },
  });
  if (values.help) {
    io.stdout(copyHelp);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(`copy takes SRC and DST, got ${positionals.length} argument(s)`, 'copy');
  const concurrency = positiveInt(values.concurrency, 'concurrency', 4);
  const chunkMiB = positiveInt(values['chunk-size'], 'chunk-size', 8);
  const source = parseReference(positionals[0] as string);
  const target = parseReference(positionals[1] as string);
  const client = makeClient(values['insecure-registry'], io.env, undefined, limitRateOf(values['limit-rate'], 'copy'));
  const progress = io.stderrIsTTY && !values.json ? new ProgressLine(io) : undefined;
  const started = Date.now();
  try {
    const result = await copyImage(client, source, target, {
      all: values.all,
      platform: values.platform ? parsePlatform(values.platform) : undefined,
      concurrency,
      chunkSize: chunkMiB * 1024 * 1024,
      signal: io.signal,
      onEvent: (event) => progress?.update(toProgress(event)),
    });
    progress?.clear();
    const seconds = (Date.now() - started) / 1000;
    if (values.json) {
      io.stdout(JSON.stringify({ source: formatReference(source), target: formatReference(target), ...result, seconds }, null, 2));
    } else {
      io.stderr(summary(formatReference(target), result, seconds));
    }
    return 0;
  } finally {
    progress?.clear();
    await client.close();
  }
}

function positiveInt(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${name} must be a whole number above 0, got "${text}"`, 'copy');
  return value;
}

export function summary(target: string, result: CopyResult, seconds: number): string {
  const counts = { exists: 0, mounted: 0, uploaded: 0, 'skipped-foreign': 0 };
  for (const blob of result.blobs) counts[blob.action]++;
  const parts = [`${counts.uploaded} uploaded`, `${counts.mounted} mounted`, `${counts.exists} already there`];
  return `Copied ${target}@${result.digest}${result.platform ? ` (${result.platform})` : ''}: sent ${formatBytes(result.bytesSent)} of ${formatBytes(result.totalBytes)} in ${formatDuration(seconds * 1000)} — ${result.blobs.length} blobs: ${parts.join(', ')}`;
}

function toProgress(event: CopyEvent): Parameters<ProgressLine['update']>[0] {
  switch (event.type) {
    case 'plan':
      return { type: 'total', items: event.blobs, bytes: event.bytes };
    case 'blob-progress':
      return { type: 'progress', id: event.digest, committed: event.committed };
    case 'blob-done':
      return { type: 'done', id: event.digest, bytes: event.size };
    case 'blob-start':
      return { type: 'progress', id: event.digest, committed: 0 };
    default:
      return { type: 'status', text: '' };
  }
}
