// A private Docker engine for tests: its own dockerd (and the containerd it starts) with its
// data, exec state and API socket in a temp dir, so tests never touch a host daemon and never
// see each other's images. Networking is off (--bridge=none, no iptables): containers can still
// RUN with only a loopback interface, which is all a Dockerfile build in this bed needs.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startDaemon, type Daemon } from './process';
import { writeBusyboxRootfsTar } from './fixturesLayers';

export interface DockerEngine {
  /** `unix:///…/d.sock`, the value for DOCKER_HOST. */
  readonly host: string;
  readonly socketPath: string;
  /** Environment for the docker CLI: DOCKER_HOST, and a private DOCKER_CONFIG so that
   *  `docker login` never writes to the real ~/.docker. */
  readonly env: { DOCKER_HOST: string; DOCKER_CONFIG: string };
  readonly daemon: Daemon;
  /** Stops dockerd by PID, makes sure containerd and any shims it started are gone too, then
   *  removes every directory the engine used. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartDockerEngineOptions {
  timeoutMs?: number;
  /** Extra dockerd flags, e.g. ['--insecure-registry', 'myhost:5000']. */
  extraArgs?: string[];
}

// Unix socket paths are limited to 107 bytes; containerd also puts sockets under exec-root.
// A long TMPDIR would break that, so fall back to /tmp when it is too long.
function shortTempBase(): string {
  const base = tmpdir();
  return base.length <= 40 ? base : '/tmp';
}

export async function startDockerEngine(options: StartDockerEngineOptions = {}): Promise<DockerEngine> {
  const root = await mkdtemp(join(shortTempBase(), 'll-dockerd-'));
  const socketPath = join(root, 'd.sock');
  const configFile = join(root, 'daemon.json');
  const cliConfig = join(root, 'cli');
  await Promise.all([mkdir(join(root, 'data')), mkdir(join(root, 'exec')), mkdir(cliConfig)]);
  // Our own daemon.json, so that a host /etc/docker/daemon.json cannot change our daemon; it
  // also moves dockerd 20.10's trust key out of /etc/docker (hidden option, no flag for it).
  await writeFile(configFile, JSON.stringify({ 'deprecated-key-path': join(root, 'key.json') }));
  const args = [
    '--data-root', join(root, 'data'),
    '--exec-root', join(root, 'exec'),
    '--pidfile', join(root, 'd.pid'),
    '--config-file', configFile,
    '-H', `unix://${socketPath}`,
    '--iptables=false', '--ip6tables=false', '--bridge=none',
    // vfs copies whole layers, which is slow but works on every filesystem, including
    // ones where overlayfs cannot be mounted (nested sandboxes).
    '--storage-driver=vfs',
    ...(options.extraArgs ?? []),
  ];
  let daemon: Daemon | undefined;
  const agent = new Agent({ connect: { socketPath } });
  const cleanup = async () => {
    // dockerd gives each running container its stop timeout (10 s) on shutdown; a test bed's
    // containers hold nothing worth that wait, so kill them first.
    if (daemon) await killContainers(socketPath).catch(() => undefined);
    if (daemon) await daemon.stop(15000);
    await killLeftovers(root);
    await unmountUnder(root);
    await rm(root, { recursive: true, force: true });
  };
  try {
    const started = await startDaemon({
      name: 'dockerd',
      command: 'dockerd',
      args,
      readyPattern: /API listen on/,
      timeoutMs: options.timeoutMs ?? 60000,
    });
    daemon = started.daemon;
    // "API listen on" is printed just before serving; only a real /_ping proves it answers.
    const deadline = Date.now() + (options.timeoutMs ?? 60000);
    for (;;) {
      try {
        const response = await request('http://docker/_ping', { dispatcher: agent });
        const body = await response.body.text();
        if (response.statusCode === 200 && body === 'OK') break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error('dockerd never answered /_ping');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await agent.close();
    await cleanup();
    throw error;
  }
  await agent.close();
  const host = `unix://${socketPath}`;
  const running = daemon;
  let stopped: Promise<void> | undefined;
  return {
    host,
    socketPath,
    env: { DOCKER_HOST: host, DOCKER_CONFIG: cliConfig },
    daemon: running,
    stop: () => (stopped ??= cleanup()),
  };
}

/** SIGKILLs every running container through the API (best effort, bounded in time). */
async function killContainers(socketPath: string): Promise<void> {
  const agent = new Agent({ connect: { socketPath }, headersTimeout: 5000, bodyTimeout: 5000 });
  try {
    const list = await request('http://docker/containers/json', { dispatcher: agent });
    const containers = (await list.body.json()) as { Id: string }[];
    await Promise.all(
      containers.map(async ({ Id }) => {
        const killed = await request(`http://docker/containers/${Id}/kill`, { method: 'POST', dispatcher: agent });
        await killed.body.dump();
      }),
    );
  } finally {
    await agent.close();
  }
}

/** Processes whose command line mentions our private root (containerd, its shims) and all
 *  their descendants (container processes, whose command lines don't). They normally exit
 *  with dockerd; if dockerd had to be SIGKILLed they would be orphaned. Matching on our unique
 *  temp path (never on a program name) keeps other tests' daemons safe. */
async function ourProcesses(root: string): Promise<number[]> {
  const parentOf = new Map<number, number>();
  const ours = new Set<number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const [cmdline, stat] = await Promise.all([
      readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => ''),
      readFile(`/proc/${entry}/stat`, 'utf8').catch(() => ''),
    ]);
    // stat is "pid (comm) state ppid …"; comm may contain spaces, so parse after the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z' || state === undefined) continue; // zombies cannot be killed, only reaped
    parentOf.set(pid, Number(ppid));
    if (cmdline.includes(root) && pid !== process.pid) ours.add(pid);
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parentOf) {
      if (!ours.has(pid) && ours.has(ppid)) {
        ours.add(pid);
        grew = true;
      }
    }
  }
  return [...ours];
}

async function isAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** SIGKILL right away: dockerd is already gone, so nothing here has state worth a graceful end,
 *  and a container's PID 1 ignores SIGTERM anyway. Every PID seen is remembered, because a
 *  container process stops looking like ours as soon as its shim dies and it is reparented. */
export async function killLeftovers(root: string): Promise<void> {
  const known = new Set<number>();
  for (let attempt = 0; attempt < 50; attempt++) {
    for (const pid of await ourProcesses(root)) known.add(pid);
    let alive = 0;
    for (const pid of known) {
      if (!(await isAlive(pid))) continue;
      alive++;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    if (alive === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** dockerd can leave mounts (netns files, vfs layers of running containers) under its dirs
 *  when it is killed; rm would fail on them, so detach them first. */
export async function unmountUnder(root: string): Promise<void> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const points = mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length); // deepest first
  for (const point of points) await run('umount', ['-l', point], {}).catch(() => undefined);
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command, resolving with its output, rejecting with the output on a non-zero exit. */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string | Buffer },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const result = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (code === 0) resolve(result);
      else {
        const why = `${command} ${args.join(' ')} exited ${code ?? signal}`;
        reject(new Error(`${why}\n${result.stdout}\n${result.stderr}`));
      }
    });
    child.stdin.end(options.input ?? '');
  });
}

/** The docker CLI against this engine. The legacy builder is used for `docker build`
 *  (DOCKER_BUILDKIT=0): its image store is the engine's own, so built images are immediately
 *  visible to `docker push`/`image inspect`, and it needs no buildkit daemon. */
export function docker(
  engine: DockerEngine,
  args: string[],
  options: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return run('docker', args, {
    cwd: options.cwd,
    input: options.input,
    env: { ...process.env, ...engine.env, DOCKER_BUILDKIT: '0', ...options.env },
  });
}

/** `docker build -t TAG CONTEXT`; resolves with the image id (sha256:…) and the build log. */
export async function buildImage(
  engine: DockerEngine,
  contextDir: string,
  tag: string,
  options: { dockerfile?: string; buildArgs?: Record<string, string>; noCache?: boolean } = {},
): Promise<{ imageId: string; output: string }> {
  const iidDir = await mkdtemp(join(shortTempBase(), 'll-iid-'));
  try {
    const iidFile = join(iidDir, 'iid');
    const args = ['build', '-t', tag, '--iidfile', iidFile];
    if (options.dockerfile !== undefined) args.push('-f', options.dockerfile);
    if (options.noCache) args.push('--no-cache');
    for (const [key, value] of Object.entries(options.buildArgs ?? {})) args.push('--build-arg', `${key}=${value}`);
    args.push(contextDir);
    const result = await docker(engine, args);
    const imageId = (await readFile(iidFile, 'utf8')).trim();
    return { imageId, output: result.stdout + result.stderr };
  } finally {
    await rm(iidDir, { recursive: true, force: true });
  }
}

/** Imports the busybox-static rootfs (same content as the fixtures' busybox layer) as TAG, a
 *  base image for Dockerfiles without any registry. Resolves with the image id. */
export async function importBusyboxImage(engine: DockerEngine, tag = 'layerlift/busybox:latest'): Promise<string> {
  const dir = await mkdtemp(join(shortTempBase(), 'll-bb-'));
  try {
    const tarPath = join(dir, 'rootfs.tar');
    await writeBusyboxRootfsTar(tarPath);
    const result = await docker(engine, ['import', '--change', 'CMD ["/bin/sh"]', tarPath, tag]);
    return result.stdout.trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `docker image inspect` parsed (first element). */
export async function inspectImage(engine: DockerEngine, ref: string): Promise<Record<string, unknown>> {
  const result = await docker(engine, ['image', 'inspect', ref]);
  const parsed = JSON.parse(result.stdout) as Record<string, unknown>[];
  const first = parsed[0];
  if (!first) throw new Error(`no image ${ref}`);
  return first;
}

/**
 * What the engine remembers of its pushes and pulls: moby's v2 metadata (diff_id ↔ blob digest
 * per repository, `image/<driver>/distribution`), which `docker push` reads to find "Layer
 * already exists" and mount candidates. dockerd reads these files on every lookup
 * (distribution/metadata FSMetadataStore, no cache), so a benchmark can give each tool the same
 * starting memory by copying them back between runs — a user's engine after `docker pull` and a
 * build, not one that another tool's push has taught.
 */
export function engineMemoryDir(engine: DockerEngine): string {
  return join(engine.socketPath, '..', 'data', 'image', 'vfs', 'distribution');
}

/** Copies the engine's push/pull memory to `snapshot` (replacing what was there). */
export async function saveEngineMemory(engine: DockerEngine, snapshot: string): Promise<void> {
  await rm(snapshot, { recursive: true, force: true });
  await cp(engineMemoryDir(engine), snapshot, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

/** Puts the engine's push/pull memory back as `snapshot` had it. */
export async function restoreEngineMemory(engine: DockerEngine, snapshot: string): Promise<void> {
  const dir = engineMemoryDir(engine);
  await rm(dir, { recursive: true, force: true });
  await cp(snapshot, dir, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}
