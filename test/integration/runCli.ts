// Runs the built CLI (dist/cli.js, made by `npm run compile`) as a user would.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const cliPath = join(__dirname, '..', '..', 'dist', 'cli.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Peak resident memory of the CLI process (VmHWM), in bytes, sampled from /proc. */
  peakRssBytes: number;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, options: { timeoutMs?: number; /** node flags before the script, e.g. --cpu-prof */ nodeArgs?: string[] } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    // A clean HOME so the developer's own Docker config is never read.
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), cliPath, ...args], { env: { PATH: process.env.PATH, HOME: '/nonexistent-home', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const sample = () => {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const status = (require('node:fs') as typeof import('node:fs')).readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const match = /VmHWM:\s+(\d+) kB/.exec(status);
        if (match) peak = Math.max(peak, Number(match[1]) * 1024);
      } catch {
        // the process is gone
      }
    };
    const sampler = setInterval(sample, 50);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearInterval(sampler);
      clearTimeout(timer);
      resolve({ code, stdout, stderr, peakRssBytes: peak });
    });
  });
}
