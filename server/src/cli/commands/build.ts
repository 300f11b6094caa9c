// `layerlift build`: the user's own builder (docker buildx when present, else docker build),
// its output streamed as is; as soon as the Dockerfile's base is known the pre-push starts in
// parallel with the build, and `--push` pushes layer-aware afterwards.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { formatReference, parseReference, type ImageReference } from '../../core/reference';
import { hostPlatform, parsePlatform } from '../../core/platform';
import { analyzeDockerfile } from '../../analysis/analyzeDockerfile';
import { imageBaseOf } from '../../analysis/baseImage';
import { prepushBase, type PrepushResult } from '../../push/prepush';
import { chooseBuilder, pullCacheImage, runBuilder } from '../../push/builder';
import { planBuildCache } from '../../push/buildCache';
import { makeClient, parseBuildArgs, parseCommandArgs, registryFlags, registryFlagsHelp } from '../options';
import { UsageError } from '../usageError';
import { redact } from '../../registry/credentials';
import type { CommandIO } from '../io';
import { runPush } from './push';
import { buildComposeServices, loadCompose } from './compose';

export const buildHelp = `Usage: layerlift build -f DOCKERFILE -t REF... [--build-arg K=V]... [--target STAGE] [--platform P]
                       [--cache-from REF]... [--cache auto] [--push] [--prepush auto|mount|runner|local|off]
                       [--runner CMD] [--progress MODE] [CONTEXT]
       layerlift build --compose FILE [SERVICE...] [--push] [--prepush STRATEGY] [--mirror P=M]...

Runs your builder (docker buildx build --load when buildx is installed, else docker build) and
streams its output. With --push, the base image is pre-pushed next to REF's registry while the
build runs, and the built image is then pushed layer-aware (see layerlift push --help).

Options:
  -f, --file DOCKERFILE            default: CONTEXT/Dockerfile
  -t, --tag REF                    the image to build (and push); repeatable: the layers are pushed once,
                                   then every tag
  --cache-from REF                 a cache source (repeatable): pulled first for the legacy builder (a
                                   missing one is a cold build), read from the registry by BuildKit,
                                   whose images then carry their cache inline (BUILDKIT_INLINE_CACHE=1)
  --cache auto                     cache from the first tag's current image, and for every stage the
                                   target needs from REPO:cache-<stage>, built with --target <stage>
                                   and pushed back with --push: a CI job with an empty engine reuses
                                   every step before the first change
  --build-arg K=V                  repeatable
  --target STAGE                   the stage to build
  --platform OS/ARCH               the platform to build for
  --push                           push REF after the build
  --prepush STRATEGY               how the base gets next to the registry (default auto; off: no pre-push)
  --runner CMD                     runner command for --prepush runner/auto
  --uploader auto|engine|layerlift  who sends the new layers with --push (default auto: the engine)
  --progress auto|tty|plain|json|quiet  the push's progress (see layerlift push --help)
  --compose FILE                   build the Compose project's services that have build: (all, or the
                                   SERVICEs named), with their contexts, Dockerfiles, args and targets;
                                   --push then pushes them as layerlift push --compose does
${registryFlagsHelp}

Exit codes: 0 built (and pushed); the builder's own code when the build failed; 1 when the push
failed (one line; the tags unchanged); 2 bad usage.`;

export async function runBuild(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('build', args, {
    ...registryFlags,
    file: { type: 'string', short: 'f' },
    tag: { type: 'string', short: 't', multiple: true },
    'cache-from': { type: 'string', multiple: true },
    cache: { type: 'string' },
    progress: { type: 'string' },
    compose: { type: 'string' },
    mirror: { type: 'string', multiple: true },
    'build-arg': { type: 'string', multiple: true },
    target: { type: 'string' },
    platform: { type: 'string' },
    push: { type: 'boolean' },
    prepush: { type: 'string' },
    runner: { type: 'string' },
    uploader: { type: 'string' },
  });
  if (values.help) {
    io.stdout(buildHelp);
    return 0;
  }
  if (values.compose !== undefined) return buildCompose(values, positionals, io);
  if (!values.tag || values.tag.length === 0) throw new UsageError('build needs -t REF', 'build');
  if (values.cache !== undefined && values.cache !== 'auto' && values.cache !== 'off') throw new UsageError(`--cache must be auto or off, got "${values.cache}"`, 'build');
  if (positionals.length > 1) throw new UsageError(`build takes one CONTEXT, got ${positionals.length}`, 'build');
  const context = resolve(positionals[0] ?? '.');
  const dockerfile = resolve(values.file ?? `${context}/Dockerfile`);
  const targets = values.tag.map((t) => parseReference(t));
  const tag = targets[0] as ImageReference;
  const buildArgs = parseBuildArgs(values['build-arg'], 'build');
  const platform = values.platform ? parsePlatform(values.platform) : hostPlatform();
  const strategy = values.prepush ?? 'auto';
  if (!['auto', 'mount', 'runner', 'local', 'off'].includes(strategy)) throw new UsageError(`--prepush must be auto, mount, runner, local or off, got "${strategy}"`, 'build');

  // The base, resolved as docker build resolves it, so the pre-push can start right away.
  const analysis = analyzeDockerfile(await readFile(dockerfile, 'utf8').catch(() => {
    throw new UsageError(`cannot read ${dockerfile}`, 'build');
  }), { buildArgs, target: values.target, platform });
  const base = imageBaseOf(analysis);

  const controller = new AbortController();
  io.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const client = makeClient(values['insecure-registry'], io.env);
  let prepush: Promise<PrepushResult | undefined> = Promise.resolve(undefined);
  if (values.push && base && strategy !== 'off') {
    io.stderr(`layerlift: pre-pushing ${base.registry}/${base.repository} next to ${tag.registry}/${tag.repository} while the build runs`);
    prepush = prepushBase(client, base, tag, { strategy: strategy as 'auto', runner: values.runner, platform, signal: controller.signal }).catch((error: unknown) => {
      // The push re-plans anyway: a failed pre-push only means more to upload.
      if (!controller.signal.aborted) io.stderr(redact(`layerlift: warning: pre-push failed: ${error instanceof Error ? error.message : String(error)}`));
      return undefined;
    });
  }
  let finished = false;
  let cacheTags: string[] = [];
  try {
    const builder = await chooseBuilder(io.env);
    const cache = planBuildCache({ targets, stages: analysis.stages, neededStages: analysis.neededStages, target: values.target, cacheFrom: values['cache-from'] ?? [], auto: values.cache === 'auto', builder });
    cacheTags = cache.cacheTags;
    const builderOptions = { env: io.env, signal: controller.signal, onOutput: (text: string) => io.stderrRaw(text) };
    // The legacy builder only uses cache images it has: pull them first (missing: a cold build).
    for (const ref of cache.pulls) {
      io.stderr(`layerlift: pulling cache image ${ref}`);
      if (!(await pullCacheImage(ref, builderOptions))) io.stderr(`layerlift: no cache image ${ref} yet; building without it`);
    }
    let code = 0;
    for (const step of cache.steps) {
      code = await runBuilder({ context, dockerfile, tag: step.tags, buildArgs: { ...cache.buildArgs, ...buildArgs }, target: step.target, platform: values.platform, cacheFrom: step.cacheFrom, builder }, builderOptions);
      if (code !== 0) break;
    }
    if (code !== 0) {
      controller.abort();
      await prepush;
      io.stderr(`layerlift: the build failed (exit ${code}); nothing was pushed`);
      return code;
    }
    const done = await prepush;
    finished = true;
    if (done) io.stderr(`layerlift: base pre-pushed (${done.strategy}) in ${done.seconds.toFixed(1)} s`);
  } finally {
    // A failed or cancelled build stops the pre-push and waits for it, runner included.
    if (!finished) {
      controller.abort();
      await prepush;
    }
    await client.close();
  }
  if (!values.push) return 0;
  const common = [...(values.uploader ? ['--uploader', values.uploader] : []), ...(values['insecure-registry'] ?? []).flatMap((r) => ['--insecure-registry', r])];
  // The stages' cache images first (each its own image; the engine finds their base), quietly…
  for (const cacheTag of cacheTags) {
    const code = await runPush([cacheTag, '--progress', 'quiet', '--prepush', 'off', ...common], io);
    if (code !== 0) return code;
  }
  // …then the image under every tag: the layers once, then each tag's manifest.
  const pushArgs = [values.tag[0] as string, ...values.tag, ...(values.progress ? ['--progress', values.progress] : []), '--prepush', strategy === 'off' ? 'off' : 'mount', ...(base ? ['--base', formatReference(base)] : []), ...(values.json ? ['--json'] : []), ...common];
  return runPush(pushArgs, io);
}

async function buildCompose(values: { push?: boolean; prepush?: string; runner?: string; uploader?: string; mirror?: string[]; compose?: string; json?: boolean; 'insecure-registry'?: string[] }, services: string[], io: CommandIO): Promise<number> {
  const project = await loadCompose(values.compose as string, services, io.env, 'build');
  const code = await buildComposeServices(project, io, io.signal);
  if (code !== 0 || !values.push) return code;
  const args = ['--compose', project.file, ...services, '--prepush', values.prepush ?? 'auto', ...(values.runner ? ['--runner', values.runner] : []), ...(values.uploader ? ['--uploader', values.uploader] : []), ...(values.mirror ?? []).flatMap((m) => ['--mirror', m]), ...(values.json ? ['--json'] : []), ...(values['insecure-registry'] ?? []).flatMap((r) => ['--insecure-registry', r])];
  return runPush(args, io);
}
