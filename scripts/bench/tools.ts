// One push by one tool, timed as a user sees it (wall clock of the whole command) and counted at
// the uplink (every byte the tool sent through the proxy: bodies, headers, HEADs, manifests).
// All authenticate against the same token server: docker with `docker login`, layerlift with the
// Docker config that login wrote, skopeo with --dest-creds. The tools:
//   layerlift      `layerlift push` as a user runs it (auto: the engine's own push after its plan)
//   layerlift-own  `layerlift push --uploader layerlift` (Layerlift's own uploader)
//   docker         `docker push`
//   skopeo         `skopeo copy docker-daemon:… docker://…`
import { docker, restoreEngineMemory } from '../../test/bed/dockerEngine';
import { skopeo } from '../../test/bed/fixtures';
import { runCli } from '../../test/integration/runCli';
import { cliEnv, PASSWORD, USER, type Bed, type Site } from './bed';
import { startCpuProbe, type CpuSeconds } from './cpu';

export const TOOLS = ['layerlift', 'layerlift-own', 'docker', 'skopeo'] as const;
export type Tool = (typeof TOOLS)[number];

export interface PushRequest {
  /** Local image tag in the engine. */
  image: string;
  /** Repository in the site's registry, reached through the uplink. */
  repository: string;
  tag: string;
  /** Extra layerlift flags (--dockerfile, --prepush runner ...). */
  layerliftArgs?: string[];
  /** The CLI cache (the local index of earlier pushes) this push may use. */
  cacheName: string;
  /** An image file instead of the engine's image (`oci:DIR:TAG`): layerlift and skopeo read it as it is. */
  file?: string;
}

export interface PushMeasure {
  seconds: number;
  uplinkBytes: number;
  /** layerlift only: sizes of the blobs it had to upload, from its --json report. */
  uploadedBlobBytes?: number;
  /** layerlift only: seconds from its start until the mover began (its --json planSeconds). */
  planSeconds?: number;
  /**
   * layerlift only: wall seconds outside its push's own clock (the --json seconds, which start
   * with the push, as planSeconds does): process start, module load, the engine inspect and
   * image open before it, the exit after it.
   */
  outsideSeconds?: number;
  /** layerlift only: the uploader that moved the push (its --json uploader: engine or layerlift). */
  uploader?: string;
  /** CPU seconds of the push: the tool's process, dockerd, the registry (cpu.ts). */
  cpu?: CpuSeconds;
}

/**
 * Gives the engine back the memory it had after the images were built (bed.engineMemory): the
 * engine remembers every blob it pushed, so without this the second of `docker push` and
 * `layerlift push` (which also pushes through the engine) would find the first one's blobs and
 * mount them. Called before each tool's run(s) in a repetition.
 */
export async function freshEngineMemory(bed: Bed): Promise<void> {
  if (bed.engineMemory) await restoreEngineMemory(bed.engine, bed.engineMemory);
}

/** Tools in a different order each repetition, so none always runs on a cold or warm disk cache. */
export function rotation(repetition: number): Tool[] {
  return TOOLS.map((_, i) => TOOLS[(i + repetition) % TOOLS.length] as Tool);
}

/** The first line of a failure, without the command line (it may hold credentials). */
function oneLine(tool: Tool, error: unknown): Error {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.includes(PASSWORD));
  const detail = lines.find((l) => /error|denied|fail|refused|unauthorized/i.test(l)) ?? lines.at(-1) ?? 'failed';
  return new Error(`${tool} push failed: ${detail.slice(0, 300)}`);
}

export async function push(tool: Tool, bed: Bed, site: Site, request: PushRequest): Promise<PushMeasure> {
  const target = `${site.uplink.host}/${request.repository}:${request.tag}`;
  // docker push needs the local tag to name the target; tagging is not part of the push.
  if (request.file && (tool === 'docker' || tool === 'layerlift-own')) throw new Error(`${tool} does not push image files in this bench`);
  if (tool === 'docker') await docker(bed.engine, ['tag', request.image, target]);
  site.uplink.resetStats();
  const cpuProbe = await startCpuProbe({ engine: bed.engine.daemon.pid, registry: site.registry.pid });
  const started = performance.now();
  let uploadedBlobBytes: number | undefined;
  let planSeconds: number | undefined;
  let uploader: string | undefined;
  let pushSeconds: number | undefined;
  try {
    if (tool === 'docker') {
      await docker(bed.engine, ['push', target]);
    } else if (tool === 'skopeo') {
      await skopeo([
        'copy', ...(request.file ? [] : ['--src-daemon-host', bed.engine.host]), '--dest-tls-verify=false', '--dest-creds', `${USER}:${PASSWORD}`,
        request.file ?? `docker-daemon:${request.image}`, `docker://${target}`,
      ]);
    } else {
      const choice = tool === 'layerlift-own' ? ['--uploader', 'layerlift'] : [];
      // Each layerlift tool keeps an index (cache) of its own: neither learns from the other.
      // LAYERLIFT_BENCH_PROFILE=DIR: each layerlift run writes a V8 CPU profile (main thread and workers) there.
      // LAYERLIFT_TIMING=1: the CLI's own stage times (core/timing.ts), printed after its run.
      const timingEnv = process.env.LAYERLIFT_TIMING === '1' ? { LAYERLIFT_TIMING: '1' } : {};
      const nodeArgs = process.env.LAYERLIFT_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LAYERLIFT_BENCH_PROFILE}`] : [];
      const run = await runCli(['push', '--json', ...choice, ...(request.layerliftArgs ?? []), request.file ?? request.image, target], { ...cliEnv(bed, `${request.cacheName}-${tool}`), ...timingEnv }, { timeoutMs: 900_000, nodeArgs });
      if (run.code !== 0) throw new Error(run.stderr.trim() || `exit code ${run.code}`);
      const stages = run.stderr.split('\n').filter((line) => line.startsWith('layerlift timing:'));
      if (stages.length > 0) process.stderr.write(`bench: ${tool}'s stages\n  ${stages.join('\n  ')}\n`);
      const report = JSON.parse(run.stdout) as { blobs: { size: number; action: string }[]; planSeconds?: number; uploader?: string; seconds?: number };
      uploadedBlobBytes = report.blobs.filter((b) => b.action === 'upload').reduce((sum, b) => sum + b.size, 0);
      planSeconds = report.planSeconds;
      uploader = report.uploader;
      pushSeconds = report.seconds;
    }
  } catch (error) {
    throw oneLine(tool, error);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = await cpuProbe.stop();
  const uplinkBytes = site.uplink.stats().upstreamBytes;
  if (process.env.LAYERLIFT_BENCH_TRACE) traceRequests(tool, site, started);
  if (tool === 'docker') await docker(bed.engine, ['rmi', target]); // untag only: the image stays
  const outsideSeconds = pushSeconds === undefined ? undefined : seconds - pushSeconds;
  return { seconds, uplinkBytes, uploadedBlobBytes, planSeconds, outsideSeconds, uploader, cpu };
}

/**
 * LAYERLIFT_BENCH_TRACE=1: each request the tool sent through the uplink, on stderr, with its
 * start and end in seconds from the command's start — where a push's time goes, per round trip.
 */
function traceRequests(tool: Tool, site: Site, started: number): void {
  const lines = site.uplink.requests().map((r) => {
    const at = (r.startedMs - started) / 1000;
    const path = r.path.replace(/[?].*$/, '').replace(/sha256:([0-9a-f]{8})[0-9a-f]{56}/g, 'sha256:$1…').replace(/uploads\/[0-9a-f-]{36}/, 'uploads/…');
    return `  ${at.toFixed(3)}–${(at + r.durationMs / 1000).toFixed(3)} s  ${r.method.padEnd(5)} ${String(r.status).padEnd(3)} ${path}${r.requestBodyBytes > 0 ? ` (${r.requestBodyBytes} B up)` : ''}`;
  });
  process.stderr.write(`bench: trace of ${tool}'s requests\n${lines.join('\n')}\n`);
}
