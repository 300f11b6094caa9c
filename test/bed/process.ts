// Starting and stopping the real daemons the tests use (registry, token server, dockerd).
// Every daemon listens on 127.0.0.1, lives in a temp dir and is stopped by its own PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Daemon {
  readonly pid: number;
  readonly name: string;
  /** Everything the daemon printed so far (stdout and stderr interleaved). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolves once this pattern appears in the output; its first group is returned as `match`. */
  readyPattern: RegExp;
  timeoutMs?: number;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

export async function startDaemon(options: StartOptions): Promise<{ daemon: Daemon; match: RegExpMatchArray }> {
  const child = spawn(options.command, options.args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let log = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => running.delete(child));

  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${options.name} did not become ready in ${options.timeoutMs ?? 20000} ms:\n${log}`));
    }, options.timeoutMs ?? 20000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString('utf8');
      const found = options.readyPattern.exec(log);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} could not start: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited early (${code ?? signal}):\n${log}`));
    });
  });
  // Keep collecting output after readiness so failures can be explained.
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name} has no pid`);
  const daemon: Daemon = {
    pid,
    name: options.name,
    output: () => log,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // exited in the meantime
        }
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  return { daemon, match };
}

/** A fresh temp dir and its remover. */
export async function makeTempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `layerlift-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
