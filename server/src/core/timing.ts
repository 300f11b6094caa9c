// LAYERLIFT_TIMING=1: one stderr line per stage of a push, in ms since the process started
// (performance.now()), so the time Layerlift adds around the mover can be broken down as issue 10
// asks (process start, inspect, base, plan, mounts, the engine's push, the check after it).
// Off by default: nothing is measured or printed.
const enabled = typeof process !== 'undefined' && process.env.LAYERLIFT_TIMING === '1';

export function timing(stage: string): void {
  if (enabled) process.stderr.write(`layerlift timing: ${performance.now().toFixed(1)} ms ${stage}\n`);
}

// The process's last moment too: what closing sockets, the engine and the event loop cost.
if (enabled) process.once('exit', () => timing('exit'));
