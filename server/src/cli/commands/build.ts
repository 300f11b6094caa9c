// `layerlift build`: the user's own builder (docker buildx when present, else docker build),
// its output streamed as is; as soon as the Dockerfile's base is known the pre-push starts in
// parallel with the build, and `--push` pushes layer-aware afterwards.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { formatReference, parseReference } from '../../core/reference';
import { hostPlatform, parsePlatform } from '../../core/platform';
import { analyzeDockerfile } from '../../analysis/analyzeDockerfile';
import { imageBaseOf } from '../../analysis/baseImage';
import { prepushBase, type PrepushResult } from '../../push/prepush';
import { runBuilder } from '../../push/builder';
import { makeClient, parseBuildArgs, parseCommandArgs, registryFlags, registryFlagsHelp } from '../options';
import { UsageError } from '../usageError';
import { redact } from '../../registry/credentials';
import type { CommandIO } from '../io';
import { runPush } from './push';

export const buildHelp = `Usage: layerlift build -f DOCKERFILE -t REF [--build-arg K=V]... [--target STAGE] [--platform P]
                       [--push] [--prepush auto|mount|runner|local|off] [--runner CMD] [CONTEXT]

Runs your builder (docker buildx build --load when buildx is installed, else docker build) and
streams its output. With --push, the base image is pre-pushed next to REF's registry while the
build runs, and the built image is then pushed layer-aware (see layerlift push --help).

Options:
  -f, --file DOCKERFILE            default: CONTEXT/Dockerfile
  -t, --tag REF                    the image to build (and push)
  --build-arg K=V                  repeatable
  --target STAGE                   the stage to build
  --platform OS/ARCH               the platform to build for
  --push                           push REF after the build
  --prepush STRATEGY               how the base gets next to the registry (default auto; off: no pre-push)
  --runner CMD                     runner command for --prepush runner/auto
  --uploader auto|engine|layerlift  who sends the new layers with --push (default auto: the engine)
${registryFlagsHelp}`;

export async function runBuild(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('build', args, {
    ...registryFlags,
    file: { type: 'string', short: 'f' },
    tag: { type: 'string', short: 't' },
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
  if (!values.tag) throw new UsageError('build needs -t REF', 'build');
  if (positionals.length > 1) throw new UsageError(`build takes one CONTEXT, got ${positionals.length}`, 'build');
  const context = resolve(positionals[0] ?? '.');
  const dockerfile = resolve(values.file ?? `${context}/Dockerfile`);
  const tag = parseReference(values.tag);
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
  try {
    const code = await runBuilder({ context, dockerfile, tag: values.tag, buildArgs, target: values.target, platform: values.platform }, { env: io.env, signal: controller.signal, onOutput: (text) => io.stderrRaw(text) });
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
  const pushArgs = [values.tag, '--prepush', strategy === 'off' ? 'off' : 'mount', ...(base ? ["--base", formatReference(base)] : []), ...(values.json ? ['--json'] : []), ...(values.uploader ? ['--uploader', values.uploader] : []), ...(values['insecure-registry'] ?? []).flatMap((r) => ['--insecure-registry', r])];
  return runPush(pushArgs, io);
}
