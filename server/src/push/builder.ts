// Running the user's own builder: `docker buildx build --load` where buildx is installed (so
// BuildKit builds as the user expects), else the classic `docker build`. Output is streamed as is.
import { execFile, spawn } from 'node:child_process';

export interface BuildRequest {
  context: string;
  dockerfile: string;
  tag: string;
  buildArgs: Record<string, string>;
  target?: string;
  platform?: string;
}

export class BuilderError extends Error {
  readonly code = 'BUILDER_UNAVAILABLE';
}

/** Whether `docker buildx` is installed (asynchronously: the language server must not block). */
function hasBuildx(env: NodeJS.ProcessEnv): Promise<boolean> {
  return new Promise((resolve) => execFile('docker', ['buildx', 'version'], { env, timeout: 10_000 }, (error) => resolve(!error)));
}

/** Resolves with the builder's exit code; cancelling sends it SIGINT, as Ctrl-C would. */
export async function runBuilder(build: BuildRequest, options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; onOutput?: (text: string) => void }): Promise<number> {
  const env = options.env ?? process.env;
  const buildx = await hasBuildx(env);
  if (options.signal?.aborted) return 130;
  const args = [...(buildx ? ['buildx', 'build', '--load'] : ['build']), '-f', build.dockerfile, '-t', build.tag];
  for (const [key, value] of Object.entries(build.buildArgs)) args.push('--build-arg', `${key}=${value}`);
  if (build.target) args.push('--target', build.target);
  if (build.platform) args.push('--platform', build.platform);
  args.push(build.context);
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
