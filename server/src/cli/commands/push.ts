// `layerlift push IMAGE [TARGET]` and `layerlift plan IMAGE [TARGET]`: a layer-aware push of a
// local image (Docker engine, `oci:DIR[:TAG]`, `docker-archive:FILE`), or just its plan.
import { timing } from '../../core/timing';
import { readFile } from 'node:fs/promises';
import { formatReference, parseReference, type ImageReference } from '../../core/reference';
import { analyzeDockerfile } from '../../analysis/analyzeDockerfile';
import { imageBaseOf } from '../../analysis/baseImage';
import type { PushResult } from '../../push/pushImage';
import type { PrepushStrategy, PushPlan } from '../../push/plan';
import type { UploaderChoice } from '../../push/mover';
import { renderPlan, summaryLine } from '../../push/report';
import { runPushSession, UploaderRefused } from '../../push/pushSession';
import { loadCompose, pushComposeServices } from './compose';
import { dockerConfigCredentials } from '../../registry/credentials';
import { insecureRegistriesOf, limitRateFlagHelp, limitRateOf, makeClient, mirrorFlagHelp, parseCommandArgs, parseMirrors, registryFlags, registryFlagsHelp } from '../options';
import { PROGRESS_MODES, pushProgress, type ProgressMode } from '../pushProgress';
import { UsageError } from '../usageError';
import { redact } from '../../registry/credentials';
import type { CommandIO } from '../io';

const strategies: PrepushStrategy[] = ['auto', 'mount', 'runner', 'local', 'off'];
const uploaders: UploaderChoice[] = ['auto', 'engine', 'layerlift'];

const pushFlagsHelp = `  --uploader auto|engine|layerlift  who sends the layers the registry lacks (default auto: the engine's own
                                   push for engine images, Layerlift's uploader for image files and zstd)
  --progress auto|tty|plain|json|quiet
                                   progress on stderr (default auto: a live line on a terminal; off one,
                                   a timestamped line per layer change and a heartbeat every 10 s, or
                                   nothing with --json); json: one JSON object per event per line
  --prepush auto|mount|runner|local|off
                                   how base layers the target lacks get there (default auto: mount where
                                   the registry has them, else the runner if set, else copy through here)
  --runner CMD                     pre-push command run by the shell, with {source} and {target}, e.g.
                                   "ssh build-host layerlift copy {source} {target}"
  --base REF                       the base image (default: found from --dockerfile, or in the engine)
  --dockerfile FILE                the Dockerfile IMAGE was built from (its FROM is the base)
  --concurrency N                  blobs in flight at once (default 4)
  --compression gzip|zstd          how new layers are compressed (default gzip; zstd needs Node 22.15+)
  --compression-level N            gzip level 1-9 (default 6, what docker uses)
  --cleanup-prepush                remove the prepush-<digest> tag after the push
${limitRateFlagHelp} (Layerlift's uploader)
${mirrorFlagHelp}
${registryFlagsHelp}`;

export const pushHelp = `Usage: layerlift push IMAGE [TARGET...] [--uploader U] [--prepush STRATEGY] [--runner CMD] [--json]
       layerlift push --compose FILE [SERVICE...] [--prepush STRATEGY] [--mirror P=M]... [--json]

Pushes IMAGE (a Docker engine image, oci:DIR[:TAG] or docker-archive:FILE) to TARGET (default:
IMAGE's own reference; several TARGETs: the layers go once, then every tag), sending only what
the target registry lacks: layers it has are skipped, layers another repository there has are
mounted, the base is pre-pushed near the registry, and the rest is sent by the engine's own push
(engine images) or Layerlift's resumable uploader (image files, zstd). The tag moves last.

Options:
${pushFlagsHelp}

--json prints {"target","digest","uploader","blobs":[{"digest","size","action","from"}],"bytesUploaded","seconds","planSeconds"}.

Exit codes: 0 pushed; 1 failed (one line on stderr; the target tag is unchanged); 2 bad usage.`;

export const planHelp = `Usage: layerlift plan IMAGE [TARGET] [--prepush STRATEGY] [--runner CMD] [--json]

Prints, before anything is sent, what a push would do with each blob: exists, mount (from
which repository), prepush (by which strategy) or upload, with sizes.

Options:
${pushFlagsHelp}`;

const flags = {
  ...registryFlags,
  prepush: { type: 'string' },
  runner: { type: 'string' },
  base: { type: 'string' },
  dockerfile: { type: 'string' },
  concurrency: { type: 'string' },
  compression: { type: 'string' },
  'compression-level': { type: 'string' },
  'cleanup-prepush': { type: 'boolean' },
  'limit-rate': { type: 'string' },
  uploader: { type: 'string' },
  mirror: { type: 'string', multiple: true },
  progress: { type: 'string' },
  compose: { type: 'string' },
} as const;

export async function runPush(args: string[], io: CommandIO): Promise<number> {
  return run('push', args, io);
}

export async function runPlan(args: string[], io: CommandIO): Promise<number> {
  return run('plan', args, io);
}

async function run(command: 'push' | 'plan', args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(command, args, flags);
  if (values.help) {
    io.stdout(command === 'push' ? pushHelp : planHelp);
    return 0;
  }
  if (values.compose !== undefined && command === 'push') return pushCompose(values, positionals, io);
  if (positionals.length < 1 || (command === 'plan' && positionals.length > 2)) throw new UsageError(`${command} takes IMAGE and ${command === 'plan' ? 'an optional TARGET' : 'optional TARGETs'}, got ${positionals.length} argument(s)`, command);
  const imageSpec = positionals[0] as string;
  const strategy = (values.prepush ?? 'auto') as PrepushStrategy;
  if (!strategies.includes(strategy)) throw new UsageError(`--prepush must be one of ${strategies.join(', ')}, got "${values.prepush}"`, command);
  const concurrency = values.concurrency === undefined ? 4 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency must be a whole number above 0, got "${values.concurrency}"`, command);
  const targetTexts = positionals.length > 1 ? positionals.slice(1) : /^(oci|docker-archive):/.test(imageSpec) ? [] : [imageSpec.replace(/^docker-daemon:/, '')];
  if (targetTexts.length === 0) throw new UsageError(`${command}: name a TARGET for ${imageSpec}`, command);
  const targets = targetTexts.map((text) => parseReference(text));
  const base = values.base ? parseReference(values.base) : values.dockerfile ? await baseFromDockerfile(values.dockerfile) : undefined;

  const level = values['compression-level'] === undefined ? undefined : Number(values['compression-level']);
  if (level !== undefined && (!Number.isInteger(level) || level < 1 || level > 9)) throw new UsageError(`--compression-level must be 1 to 9, got "${values['compression-level']}"`, command);
  const compression = values.compression ?? 'gzip';
  if (compression !== 'gzip' && compression !== 'zstd') throw new UsageError(`--compression must be gzip or zstd, got "${compression}"`, command);

  const uploader = (values.uploader ?? io.env.LAYERLIFT_UPLOADER ?? 'auto') as UploaderChoice;
  if (!uploaders.includes(uploader)) throw new UsageError(`--uploader must be one of ${uploaders.join(', ')}, got "${uploader}"`, command);

  const limitRate = limitRateOf(values['limit-rate'], command);
  const credentials = dockerConfigCredentials({ env: io.env });
  const client = makeClient(values['insecure-registry'], io.env, credentials, limitRate);
  const mode = (values.progress ?? 'auto') as ProgressMode;
  if (!PROGRESS_MODES.includes(mode)) throw new UsageError(`--progress must be one of ${PROGRESS_MODES.join(', ')}, got "${values.progress}"`, command);
  const progress = pushProgress(command === 'plan' && mode === 'auto' ? 'quiet' : mode, io, { json: Boolean(values.json) });
  const results: PushResult[] = [];
  try {
    // Several targets: the first push sends the layers, each later one finds them there (exists
    // or mount) and puts only its manifest.
    for (const target of targets) {
      const result = await runPushSession(
        { image: imageSpec, target, base, uploader, mirrors: parseMirrors(values.mirror, command), strategy, runner: values.runner, concurrency, compression, compressionLevel: level, planOnly: command === 'plan', cleanupPrepush: values['cleanup-prepush'], signal: io.signal, onEvent: (e) => progress.update(e) },
        { client, credentials, insecureRegistries: insecureRegistriesOf(values['insecure-registry'], io.env), env: io.env },
      ).catch((error: unknown) => {
        throw error instanceof UploaderRefused ? new UsageError(`${command}: ${error.message}`, command) : error;
      });
      results.push(result);
      timing('push session done');
      progress.close();
      for (const warning of result.warnings) io.stderr(redact(`layerlift: warning: ${warning}`));
      if (command === 'plan') io.stdout(values.json ? JSON.stringify(planJson(target, result.plan), null, 2) : renderPlan(target, result.plan));
      else if (!values.json) io.stderr(summaryLine(result));
    }
    if (command === 'push' && values.json) io.stdout(JSON.stringify(results.length === 1 ? summaryJson(results[0] as PushResult) : results.map(summaryJson), null, 2));
    return 0;
  } finally {
    progress.close();
    await client.close();
  }
}

async function baseFromDockerfile(path: string): Promise<ImageReference | undefined> {
  return imageBaseOf(analyzeDockerfile(await readFile(path, 'utf8')));
}

function summaryJson(result: PushResult) {
  return { target: result.target, digest: result.digest, uploader: result.uploader, planSeconds: result.planMs / 1000, blobs: result.blobs.map((b) => ({ digest: b.digest, size: b.size, action: b.action, from: b.from ?? null })), bytesUploaded: result.bytesUploaded, seconds: result.seconds };
}

function planJson(target: ImageReference, plan: PushPlan) {
  return { target: formatReference(target), uploader: plan.uploader, layers: plan.layers, config: plan.config, prepush: plan.prepush ?? null, uplinkBytes: plan.uplinkBytes, unknownUploads: plan.unknownUploads, totalBytes: plan.totalBytes };
}

async function pushCompose(values: Record<string, unknown>, services: string[], io: CommandIO): Promise<number> {
  const strategy = (values.prepush ?? 'auto') as PrepushStrategy;
  if (!strategies.includes(strategy)) throw new UsageError(`--prepush must be one of ${strategies.join(', ')}, got "${String(values.prepush)}"`, 'push');
  const uploader = (values.uploader ?? io.env.LAYERLIFT_UPLOADER ?? 'auto') as UploaderChoice;
  if (!uploaders.includes(uploader)) throw new UsageError(`--uploader must be one of ${uploaders.join(', ')}, got "${uploader}"`, 'push');
  const project = await loadCompose(values.compose as string, services, io.env, 'push');
  const insecure = values['insecure-registry'] as string[] | undefined;
  const limitRate = limitRateOf(values['limit-rate'] as string | undefined, 'push');
  const credentials = dockerConfigCredentials({ env: io.env });
  const client = makeClient(insecure, io.env, credentials, limitRate);
  try {
    const { results } = await pushComposeServices(project, io, {
      client,
      credentials,
      insecureRegistries: insecureRegistriesOf(insecure, io.env),
      strategy,
      runner: values.runner as string | undefined,
      mirrors: parseMirrors(values.mirror as string[] | undefined, 'push'),
      uploader,
      concurrency: 4,
      signal: io.signal,
    });
    if (values.json) io.stdout(JSON.stringify({ project: project.name, images: results.map((r) => ({ service: r.service, ...summaryJson(r.result) })) }, null, 2));
    return 0;
  } finally {
    await client.close();
  }
}
