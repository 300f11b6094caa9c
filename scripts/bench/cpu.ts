// CPU seconds a push costs, per party, from /proc (Linux): the tool's own process, through this
// process's cutime + cstime (the CPU of children it has waited for: the tool the bench ran, and
// whatever that tool waited for); dockerd's and the registry's through utime + stime of their
// /proc/PID/stat (proc(5)). The uplink proxy runs inside the bench and is counted by no one.
import { readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';

export interface CpuSeconds {
  /** The tool's process: layerlift's node, docker's CLI, skopeo. */
  client: number;
  /** dockerd: its export (layerlift's own uploader, skopeo) or its push (docker, the engine uploader). */
  engine: number;
  registry: number;
}

let ticks: number | undefined;
function ticksPerSecond(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** Fields after "pid (comm) " of /proc/PID/stat; comm may hold spaces, so split after the last ')'. */
async function statFields(pid: number | 'self'): Promise<string[] | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime (own) or cutime + cstime (waited-for children), in seconds; 0 where /proc has none. */
async function cpuOf(pid: number | 'self', children: boolean): Promise<number> {
  const fields = await statFields(pid);
  if (!fields) return 0;
  // proc(5) numbers the fields from 1 with pid and comm first: utime 14, stime 15, cutime 16, cstime 17.
  const [a, b] = children ? [fields[13], fields[14]] : [fields[11], fields[12]];
  return (Number(a) + Number(b)) / ticksPerSecond();
}

export interface CpuProbe {
  /** The CPU spent since the probe started. */
  stop(): Promise<CpuSeconds>;
}

export async function startCpuProbe(pids: { engine?: number; registry?: number }): Promise<CpuProbe> {
  const read = async (): Promise<CpuSeconds> => ({
    client: await cpuOf('self', true),
    engine: pids.engine === undefined ? 0 : await cpuOf(pids.engine, false),
    registry: pids.registry === undefined ? 0 : await cpuOf(pids.registry, false),
  });
  const before = await read();
  return {
    async stop() {
      const after = await read();
      return { client: after.client - before.client, engine: after.engine - before.engine, registry: after.registry - before.registry };
    },
  };
}
