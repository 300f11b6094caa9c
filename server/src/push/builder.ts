// Running the user's own builder: `docker buildx build --load` where buildx is installed (so
// BuildKit builds as the user expects), else `docker build` (DOCKER_BUILDKIT decides as docker
// does: chooseBuilder). Output is streamed as is.
import { execFile, spawn } from 'node:child_process';
import type { BuilderKind } from './buildCache';
import { builderKindFor, needsBuildxProbe } from '../analysis/builderChoice';

export interface BuildRequest {
  context: string;
  dockerfile: string;
  /** One or more -t (a single string is one tag). */
  tag: string | string[];
  buildArgs: Record<string, string>;
  target?: string;
  platform?: string;
  /** --cache-from values, already in the builder's form (buildCache.ts). */
  cacheFrom?: string[];
  /** Which builder to run; default: chosen as docker chooses (chooseBuilder). */
  builder?: BuilderKind;
}

export class BuilderError extends Error {
  readonly code = 'BUILDER_UNAVAILABLE';
}

/** Whether `docker buildx` is installed (asynchronously: the language server must not block). */
function hasBuildx(env: NodeJS.ProcessEnv): Promise<boolean> {
  return new Promise((resolve) => execFile('docker', ['buildx', 'version'], { env, timeout: 10_000 }, (error) => resolve(!error)));
}

/**
 * The builder docker would use: DOCKER_BUILDKIT=0 the legacy builder, DOCKER_BUILDKIT=1 BuildKit
 * (buildx when installed, else the CLI's own), otherwise buildx where installed, else legacy.
 * The decision is analysis/builderChoice.ts (shared with analyze and the context scanner); this
 * edge only asks whether buildx is installed.
 */
export async function chooseBuilder(env: NodeJS.ProcessEnv): Promise<BuilderKind> {
  const buildx = needsBuildxProbe(env.DOCKER_BUILDKIT) && (await hasBuildx(env));
  return builderKindFor(env.DOCKER_BUILDKIT, buildx);
}

/** Resolves with the builder's exit code; cancelling sends it SIGINT, as Ctrl-C would. */
export async function runBuilder(build: BuildRequest, options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; onOutput?: (text: string) => void }): Promise<number> {
  const env = options.env ?? process.env;
  const builder = build.builder ?? (await chooseBuilder(env));
  if (options.signal?.aborted) return 130;
  const args = [...(builder === 'buildx' ? ['buildx', 'build', '--load'] : ['build']), '-f', build.dockerfile];
  for (const tag of typeof build.tag === 'string' ? [build.tag] : build.tag) args.push('-t', tag);
  for (const [key, value] of Object.entries(build.buildArgs)) args.push('--build-arg', `${key}=${value}`);
  if (build.target) args.push('--target', build.target);
  if (build.platform) args.push('--platform', build.platform);
  for (const source of build.cacheFrom ?? []) args.push('--cache-from', source);
  args.push(build.context);
  return runDocker(args, env, options);
}

/** `docker pull REF` for a cache image: resolves true when pulled, false when it is not there. */
export async function pullCacheImage(ref: string, options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; onOutput?: (text: string) => void }): Promise<boolean> {
  return (await runDocker(['pull', ref], options.env ?? process.env, options)) === 0;
}

function runDocker(args: string[], env: NodeJS.ProcessEnv, options: { signal?: AbortSignal; onOutput?: (text: string) => void }): Promise<number> {
  return new Promise((resolveCode, reject) => {
    const child = spawn('docker', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => options.onOutput?.(chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => options.onOutput?.(chunk.toString('utf8')));
    const stop = () => child.kill('SIGINT');
    options.signal?.addEventListener('abort', stop, { once: true });
    child.once('error', (error) => reject(new BuilderError(`cannot run docker: ${error.message} — install the docker CLI`)));
    child.once('exit', (code) => {
      options.signal?.removeEventListener('abort', stop);
      resolveCode(code ?? 1);
    });
  });
}
