// The benchmark's real parts, from test/bed: one private Docker engine, an "upstream" registry
// standing for Docker Hub (open, loopback), and per repetition a fresh "site": a token-auth team
// registry behind a fault proxy that plays the user's uplink (throttled, with a round-trip time,
// counting every byte the tools send). Nothing listens beyond 127.0.0.1; all is stopped by PID.
import { join } from 'node:path';
import { docker, startDockerEngine, type DockerEngine } from '../../test/bed/dockerEngine';
import { startFaultProxy, type FaultProxy } from '../../test/bed/faultProxy';
import { makeTempDir } from '../../test/bed/process';
import { startRegistry, type Registry } from '../../test/bed/registry';

/** The one account every tool logs in with (a test password, never printed). */
export const USER = 'bench';
export const PASSWORD = 'bench-uplink-pw-7';

/** The user's link to the team registry. */
export interface LinkShape {
  /** Bandwidth each way in Mbit/s; undefined: unthrottled loopback. */
  mbitPerSecond?: number;
  /** Round-trip time added to each request, ms. */
  rttMs?: number;
}

export interface Bed {
  engine: DockerEngine;
  upstream: Registry;
  /** Scratch space for build contexts, OCI layouts and the CLI's caches. */
  work: string;
  /** A copy of the engine's push/pull memory once the images are built (tools.freshEngineMemory). */
  engineMemory?: string;
  stop(): Promise<void>;
}

/** A team registry (token auth) and the user's uplink to it. */
export interface Site {
  registry: Registry;
  uplink: FaultProxy;
  /** Bytes per second of the uplink, or undefined when unthrottled. */
  bytesPerSecond: number | undefined;
  stop(): Promise<void>;
}

export async function startBed(): Promise<Bed> {
  const work = await makeTempDir('bench');
  const stops: (() => Promise<void>)[] = [() => work.remove()];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    const engine = await startDockerEngine();
    stops.push(() => engine.stop());
    const upstream = await startRegistry({ auth: 'none' });
    stops.push(() => upstream.stop());
    return { engine, upstream, work: work.path, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export function bytesPerSecond(link: LinkShape): number | undefined {
  return link.mbitPerSecond === undefined ? undefined : (link.mbitPerSecond * 1e6) / 8;
}

/**
 * A fresh registry per repetition, so that no tool profits from what it (or another tool) pushed
 * in an earlier repetition: docker's and skopeo's caches of "this blob is in registry R, repo X"
 * name hosts with ports, and every site has new ports. Logged in (docker login writes the Docker
 * config that layerlift reads) both through the uplink and directly (for a runner).
 */
export async function startSite(bed: Bed, link: LinkShape): Promise<Site> {
  const registry = await startRegistry({ auth: 'token', users: { [USER]: PASSWORD }, acl: [{ account: USER, name: '*', actions: ['pull', 'push', 'delete'] }] });
  let uplink: FaultProxy | undefined;
  try {
    uplink = await startFaultProxy(registry.url);
    const rate = bytesPerSecond(link);
    uplink.set({ throttleBytesPerSecond: rate ?? null, latencyMs: link.rttMs ?? null });
    for (const host of [uplink.host, registry.host]) {
      await docker(bed.engine, ['login', '-u', USER, '--password-stdin', host], { input: PASSWORD });
    }
    const proxy = uplink;
    return {
      registry,
      uplink: proxy,
      bytesPerSecond: rate,
      async stop() {
        await proxy.stop();
        await registry.stop();
      },
    };
  } catch (error) {
    await uplink?.stop();
    await registry.stop();
    throw error;
  }
}

/** Environment for the built CLI: the engine, its Docker config, and a cache of its own. */
export function cliEnv(bed: Bed, cacheName: string): NodeJS.ProcessEnv {
  return { DOCKER_CONFIG: bed.engine.env.DOCKER_CONFIG, DOCKER_HOST: bed.engine.host, XDG_CACHE_HOME: join(bed.work, 'cache', cacheName) };
}
