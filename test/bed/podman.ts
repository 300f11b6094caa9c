// A private Podman for tests: Debian's podman serving the Docker-compatible API
// (`podman system service --time=0 unix://SOCK`) with everything it keeps in a temp dir: storage
// (vfs, --root), run state (--runroot), libpod's state (--tmpdir), volumes, network configs, its
// own containers.conf / storage.conf / registries.conf, HOME and XDG dirs — so it never touches
// the host's containers or /run/libpod, and tests never see each other's images.
// Three paths Podman (as root) writes whatever it is told: containers/image's blob-info cache
// (/var/lib/containers/cache), image copies' temp files (/var/tmp) and libpod's lock segment
// (/dev/shm/libpod_lock). It runs in a mount
// namespace of its own (unshare -m) where directories of the temp dir (a tmpfs for /dev/shm) are
// mounted over them.
// Stopped by its PID (unshare execs podman); anything left that names the temp dir is killed,
// then the dir goes.
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { pack } from 'tar-stream';
import { startDaemon, type Daemon } from './process';
import { killLeftovers, unmountUnder } from './dockerEngine';

export interface Podman {
  /** `unix:///…/p.sock`, the value for DOCKER_HOST. */
  readonly host: string;
  readonly socketPath: string;
  /** The temp dir holding everything this Podman uses. */
  readonly root: string;
  readonly daemon: Daemon;
  /** Stops the service by PID, then removes every directory it used. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartPodmanOptions {
  timeoutMs?: number;
}

// Unix socket paths are limited to 107 bytes.
function shortTempBase(): string {
  const base = tmpdir();
  return base.length <= 40 ? base : '/tmp';
}

export async function startPodman(options: StartPodmanOptions = {}): Promise<Podman> {
  const root = await mkdtemp(join(shortTempBase(), 'll-podman-'));
  const socketPath = join(root, 'p.sock');
  const dirs = { storage: join(root, 'storage'), run: join(root, 'run'), libpod: join(root, 'libpod'), volumes: join(root, 'volumes'), networks: join(root, 'networks'), home: join(root, 'home'), varTmp: join(root, 'var-tmp'), varLib: join(root, 'var-lib'), config: join(root, 'config'), data: join(root, 'data'), tmp: join(root, 'tmp') };
  await Promise.all(Object.values(dirs).map((dir) => mkdir(dir, { recursive: true, mode: 0o700 })));
  // Config files of our own, so the host's /etc/containers cannot change this Podman.
  const containersConf = join(root, 'containers.conf');
  const storageConf = join(root, 'storage.conf');
  const registriesConf = join(root, 'registries.conf');
  await writeFile(containersConf, ['[engine]', 'events_logger = "none"', 'cgroup_manager = "cgroupfs"', `tmp_dir = ${JSON.stringify(dirs.libpod)}`, `image_copy_tmp_dir = ${JSON.stringify(dirs.tmp)}`, `volume_path = ${JSON.stringify(dirs.volumes)}`, '[network]', `network_config_dir = ${JSON.stringify(dirs.networks)}`, ''].join('\n'));
  await writeFile(storageConf, ['[storage]', 'driver = "vfs"', `graphroot = ${JSON.stringify(dirs.storage)}`, `runroot = ${JSON.stringify(dirs.run)}`, ''].join('\n'));
  await writeFile(registriesConf, 'unqualified-search-registries = []\n');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dirs.home,
    XDG_RUNTIME_DIR: dirs.run,
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    TMPDIR: dirs.tmp,
    CONTAINERS_CONF: containersConf,
    CONTAINERS_STORAGE_CONF: storageConf,
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    REGISTRY_AUTH_FILE: join(root, 'auth.json'),
    LL_VAR_TMP: dirs.varTmp,
    LL_VAR_LIB: dirs.varLib,
  };
  // /var/lib/containers is bound over when the host has it; otherwise /var/lib (Podman reads
  // nothing else there for builds and pushes), so that nothing is created on the host.
  // /dev/shm gets a tmpfs of its own: libpod's lock segment (/dev/shm/libpod_lock) is not shared.
  const namespace = 'set -e; mount -t tmpfs -o size=16m,mode=1777 tmpfs /dev/shm; mount --bind "$LL_VAR_TMP" /var/tmp; if [ -d /var/lib/containers ]; then mount --bind "$LL_VAR_LIB" /var/lib/containers; else mount --bind "$LL_VAR_LIB" /var/lib; fi; exec podman "$@"';
  const args = [
    '--storage-driver', 'vfs',
    '--root', dirs.storage,
    '--runroot', dirs.run,
    '--tmpdir', dirs.libpod,
    '--volumepath', dirs.volumes,
    '--network-config-dir', dirs.networks,
    '--events-backend', 'none',
    '--cgroup-manager', 'cgroupfs',
    '--log-level', 'info',
    'system', 'service', '--time=0', `unix://${socketPath}`,
  ];
  let daemon: Daemon | undefined;
  const cleanup = async () => {
    if (daemon) await daemon.stop(10_000);
    await killLeftovers(root);
    await unmountUnder(root);
    await rm(root, { recursive: true, force: true });
  };
  const agent = new Agent({ connect: { socketPath } });
  try {
    ({ daemon } = await startDaemon({ name: 'podman', command: 'unshare', args: ['--mount', '--propagation', 'private', 'sh', '-c', namespace, 'podman', ...args], env, readyPattern: /API service listening on/, timeoutMs: options.timeoutMs ?? 30_000 }));
    // The log line comes just before serving; only a real /_ping proves it answers.
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      try {
        const response = await request('http://podman/_ping', { dispatcher: agent });
        if (response.statusCode === 200 && (await response.body.text()) === 'OK') break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error('podman never answered /_ping');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await agent.close();
    await cleanup();
    throw error;
  }
  await agent.close();
  const running = daemon;
  let stopped: Promise<void> | undefined;
  return { host: `unix://${socketPath}`, socketPath, root, daemon: running, stop: () => (stopped ??= cleanup()) };
}

/** One Engine API call on Podman's socket (Docker-compatible paths); the body read as text. */
export async function podmanApi(podman: Podman, method: 'GET' | 'POST' | 'DELETE', path: string, options: { body?: Buffer; headers?: Record<string, string> } = {}): Promise<{ status: number; text: string }> {
  const agent = new Agent({ connect: { socketPath: podman.socketPath }, headersTimeout: 300_000, bodyTimeout: 300_000 });
  try {
    const response = await request(`http://podman${path}`, { method, dispatcher: agent, body: options.body, headers: options.headers });
    return { status: response.statusCode, text: await response.body.text() };
  } finally {
    await agent.close();
  }
}

/** A build context as a tar: Dockerfile plus files (name → content, `mode` 0o755 for executables). */
export async function contextTar(dockerfile: string, files: Record<string, { data: Buffer; mode?: number }>): Promise<Buffer> {
  const tar = pack();
  tar.entry({ name: 'Dockerfile', mode: 0o644 }, Buffer.from(dockerfile));
  for (const [name, file] of Object.entries(files)) tar.entry({ name, mode: file.mode ?? 0o644 }, file.data);
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A context of `FROM scratch`, Debian's static busybox (/bin/busybox) and the given files, each
 *  COPYed in its own layer. */
export async function busyboxContext(files: Record<string, Buffer>): Promise<Buffer> {
  const lines = ['FROM scratch', 'COPY busybox /bin/busybox'];
  for (const name of Object.keys(files)) lines.push(`COPY ${name} /${name}`);
  const entries: Record<string, { data: Buffer; mode?: number }> = { busybox: { data: await readFile('/bin/busybox'), mode: 0o755 } };
  for (const [name, data] of Object.entries(files)) entries[name] = { data };
  return contextTar(`${lines.join('\n')}\n`, entries);
}

/** `POST /build?t=TAG` with a tar context through the compatible API; resolves with the image id. */
export async function podmanBuild(podman: Podman, context: Buffer, tag: string): Promise<string> {
  const { status, text } = await podmanApi(podman, 'POST', `/v1.41/build?t=${encodeURIComponent(tag)}&rm=1`, { body: context, headers: { 'content-type': 'application/x-tar' } });
  const id = /"aux":\{"ID":"(sha256:[0-9a-f]{64})"\}/.exec(text)?.[1];
  if (status !== 200 || !id) throw new Error(`podman build of ${tag} failed (HTTP ${status}): ${text.slice(-1000)}`);
  return id;
}

/** `GET /images/{name}/json` parsed (Docker's shape: Id, RepoTags, RepoDigests, RootFS…). */
export async function podmanInspect(podman: Podman, name: string): Promise<{ Id: string; RepoTags?: string[]; RepoDigests?: string[]; RootFS?: { Layers?: string[] } }> {
  const { status, text } = await podmanApi(podman, 'GET', `/v1.41/images/${encodeURIComponent(name)}/json`);
  if (status !== 200) throw new Error(`podman image inspect ${name}: HTTP ${status}: ${text}`);
  return JSON.parse(text) as { Id: string; RepoTags?: string[]; RepoDigests?: string[]; RootFS?: { Layers?: string[] } };
}
