// The `runner` pre-push strategy: the user's command template (`ssh build-host layerlift copy
// {source} {target}`, `skopeo copy docker://{source} docker://{target}`, a CI job...) run through
// the shell where bandwidth is. Placeholders are shell-quoted (plan.ts renderRunner), so image
// names, tags or anything a registry said can never become part of the command.
import { spawn } from 'node:child_process';
import { renderRunner } from './plan';

export class RunnerError extends Error {
  readonly code = 'RUNNER_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'RunnerError';
  }
}

export async function runPrepushRunner(
  template: string,
  values: { source: string; target: string },
  signal?: AbortSignal,
  onOutput?: (text: string) => void,
): Promise<void> {
  if (!template.trim()) throw new RunnerError('pre-push runner: no command configured — set --runner, e.g. "ssh build-host layerlift copy {source} {target}"');
  if (!template.includes('{source}') || !template.includes('{target}')) {
    // The template is not echoed: it may carry credentials (--dest-creds user:pass).
    throw new RunnerError('pre-push runner: the command must use both {source} and {target}');
  }
  if (signal?.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
  const command = renderRunner(template, values);
  // detached: the runner gets its own process group, so cancelling stops everything it started.
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let tail = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-2000);
    onOutput?.(text);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const kill = () => {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  };
  signal?.addEventListener('abort', kill, { once: true });
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve(exitCode));
    });
    if (signal?.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
    if (code !== 0) {
      const last = tail.trim().split('\n').at(-1) ?? '';
      throw new RunnerError(`pre-push runner exited with ${code ?? 'a signal'}${last ? `: ${last.slice(0, 200)}` : ''} — check the --runner command`);
    }
  } finally {
    signal?.removeEventListener('abort', kill);
  }
}
