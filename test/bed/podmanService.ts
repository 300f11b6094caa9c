// A private Podman API service for tests: Debian's podman serving the Docker-compatible API on a
// socket of its own (`podman system service --time=0 unix://SOCK`), with its storage (vfs), run
// state and temp files in a temp dir, so tests never touch the host's containers. Stopped by PID.
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startDaemon, type Daemon } from './process';

export interface PodmanService {
  /** `unix:///…/p.sock`, the value for DOCKER_HOST. */
  readonly host: string;
  readonly socketPath: string;
  readonly daemon: Daemon;
  /** Builds a Dockerfile context (a directory's files, sent as a tar) through the compatible API. */
  build(contextTar: Buffer, tag: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startPodmanService(): Promise<PodmanService> {
  const root = await mkdtemp('/tmp/ll-podman-');
  const socketPath = join(root, 'p.sock');
  await Promise.all([mkdir(join(root, 'storage')), mkdir(join(root, 'run')), mkdir(join(root, 'tmp'))]);
  const env = { PATH: process.env.PATH, HOME: root, XDG_RUNTIME_DIR: join(root, 'run'), XDG_CONFIG_HOME: join(root, 'config'), TMPDIR: join(root, 'tmp') };
  let daemon: Daemon | undefined;
  const agent = new Agent({ connect: { socketPath } });
  const cleanup = async () => {
    await agent.close().catch(() => undefined);
    if (daemon) await daemon.stop(10_000);
    await rm(root, { recursive: true, force: true });
  };
  try {
    ({ daemon } = await startDaemon({
      name: 'podman',
      command: 'podman',
      args: ['--storage-driver', 'vfs', '--root', join(root, 'storage'), '--runroot', join(root, 'run'), '--log-level', 'info', 'system', 'service', '--time=0', `unix://${socketPath}`],
      env,
      readyPattern: /API service listening on/,
      timeoutMs: 30_000,
    }));
    for (let i = 0; ; i++) {
      try {
        const ping = await request('http://podman/_ping', { dispatcher: agent });
        if ((await ping.body.text()) === 'OK') break;
      } catch (error) {
        if (i > 100) throw error;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
  const running = daemon;
  let stopped: Promise<void> | undefined;
  return {
    host: `unix://${socketPath}`,
    socketPath,
    daemon: running,
    async build(contextTar, tag) {
      const res = await request(`http://podman/v1.41/build?t=${encodeURIComponent(tag)}`, { method: 'POST', dispatcher: agent, body: contextTar, headers: { 'content-type': 'application/x-tar' } });
      const text = await res.body.text();
      const id = /"aux":\{"ID":"(sha256:[0-9a-f]{64})"/.exec(text)?.[1];
      if (res.statusCode !== 200 || !id) throw new Error(`podman build of ${tag} failed (HTTP ${res.statusCode}): ${text.slice(-500)}`);
      return id;
    },
    stop: () => (stopped ??= cleanup()),
  };
}

/** A build context tar: Debian's static busybox as `busybox`, the given files, and the Dockerfile. */
export async function podmanContext(dockerfile: string, files: Record<string, Buffer>): Promise<Buffer> {
  const { pack } = await import('tar-stream');
  const tar = pack();
  const busybox = await readFile('/bin/busybox');
  tar.entry({ name: 'busybox', mode: 0o755 }, busybox);
  for (const [name, data] of Object.entries(files)) tar.entry({ name, mode: 0o644 }, data);
  tar.entry({ name: 'Dockerfile', mode: 0o644 }, Buffer.from(dockerfile));
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
