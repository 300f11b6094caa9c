// The real parts behind the editor tests: a token-auth Distribution registry with a fault proxy in
// front (the proxy's host is the one the Dockerfile and the target name), a seeded base image, a
// private dockerd where one can run (root on Linux), Docker credentials, and the sample project.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { startFaultProxy, type FaultProxy } from '../bed/faultProxy';
import { seedImage, writeFixtureImage } from '../bed/fixtures';
import { startRegistry, type Registry } from '../bed/registry';
import { writeSampleProject } from './sampleProject';
import { FACTS_ENV, type BedFacts } from './suite/facts';

export interface VscodeBed {
  facts: BedFacts;
  /** For the editor's process: credentials, engine, cache dir and the facts themselves. */
  env: Record<string, string>;
  proxy: FaultProxy;
  registry: Registry;
  stop(): Promise<void>;
}

export async function startVscodeBed(dir: string, options: { engine?: boolean } = {}): Promise<VscodeBed> {
  const username = 'dev';
  const password = randomBytes(12).toString('hex');
  let registry: Registry | undefined;
  let proxy: FaultProxy | undefined;
  let engine: DockerEngine | undefined;
  const stop = async () => {
    await engine?.stop();
    await proxy?.stop();
    await registry?.stop();
  };
  try {
    registry = await startRegistry({ auth: 'token', users: { [username]: password }, acl: [{ account: username, name: '*', actions: ['pull', 'push'] }] });
    proxy = await startFaultProxy(registry.url);
    // Two layers: busybox (so RUN has a shell) and 3 MB that make the size worth showing.
    const base = await writeFixtureImage(join(dir, 'base-layout'), { layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 3_000_000, seed: 'vscode-base' }], tag: '1' });
    await seedImage(base.layoutDir, '1', registry.host, 'base/app-base', { creds: { username, password } });

    const dockerConfig = join(dir, 'docker-config');
    await mkdir(dockerConfig, { recursive: true });
    const auth = Buffer.from(`${username}:${password}`).toString('base64');
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth }, [proxy.host]: { auth } } }));

    let noEngine: string | undefined;
    if (options.engine === false) noEngine = 'not asked for';
    else if (process.getuid?.() !== 0) noEngine = 'a private dockerd needs root';
    else {
      try {
        engine = await startDockerEngine();
      } catch (error) {
        noEngine = `dockerd did not start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
      }
    }

    const workspace = join(dir, 'workspace');
    const baseRef = `${proxy.host}/base/app-base:1`;
    const target = { ref: `${proxy.host}/team/app:1`, repository: 'team/app', tag: '1' };
    await writeSampleProject(workspace, { base: baseRef, image: target.ref });
    const facts: BedFacts = {
      workspace,
      dockerfile: join(workspace, 'Dockerfile'),
      registry: registry.host,
      host: proxy.host,
      base: { ref: baseRef, digests: base.layers.map((layer) => layer.digest), bytes: base.layerBytes },
      target,
      credentials: { username, password },
      ...(engine ? { dockerHost: engine.host } : { noEngine }),
    };
    const env: Record<string, string> = {
      DOCKER_CONFIG: dockerConfig,
      // The push index and compressed layers: never the real ~/.cache.
      XDG_CACHE_HOME: join(dir, 'cache'),
      ...(engine ? { DOCKER_HOST: engine.host } : {}),
      [FACTS_ENV]: JSON.stringify(facts),
    };
    return { facts, env, proxy, registry, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
