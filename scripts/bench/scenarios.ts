// The push scenarios. Each repetition gets a fresh site (registry + uplink) and runs every tool
// in a rotated order, each into a repository of its own; see BENCHMARKS.md for why that is fair.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cliPath } from '../../test/integration/runCli';
import { docker, inspectImage } from '../../test/bed/dockerEngine';
import { seedImage, skopeo } from '../../test/bed/fixtures';
import { startRegistry } from '../../test/bed/registry';
import { PASSWORD, startSite, USER, type Bed, type LinkShape, type Site } from './bed';
import { mirrorBase, type Images } from './images';
import { freshEngineMemory, push, rotation, type PushMeasure, type PushRequest, type Tool } from './tools';

export type ScenarioName = 'firstPush' | 'baseOnlyUpstream' | 'fullPush' | 'ociPush' | 'rebuildPush' | 'baseManyNames';

/** One tool's run in one repetition. */
export interface Sample {
  scenario: ScenarioName;
  tool: Tool;
  repetition: number;
  seconds: number;
  uplinkBytes: number;
  /** layerlift: compressed bytes of the layers it uploaded (the unique layers). */
  uploadedBlobBytes?: number;
  /** layerlift: seconds before the mover began (process start, inspect, plan, registry reads). */
  planSeconds?: number;
  /** layerlift: wall seconds outside its push's own clock (process start, inspect, exit). */
  outsideSeconds?: number;
  /** layerlift: the uploader its report named (auto should say engine, layerlift-own layerlift). */
  uploader?: string;
  /** CPU seconds of the push: the tool's process, dockerd, the registry. */
  cpu?: PushMeasure['cpu'];
  /** Copied from another scenario's run instead of measured again (--quick). */
  reusedFrom?: ScenarioName;
}

export interface RunContext {
  bed: Bed;
  images: Images;
  reps: number;
  /** The user's uplink in the throttled scenarios. */
  link: LinkShape;
  quick: boolean;
  log(message: string): void;
}

async function withSite<T>(ctx: RunContext, link: LinkShape, body: (site: Site) => Promise<T>): Promise<T> {
  const site = await startSite(ctx.bed, link);
  try {
    return await body(site);
  } finally {
    await site.stop();
  }
}

function logSample(ctx: RunContext, sample: Sample): void {
  const outside = sample.outsideSeconds === undefined ? '' : `, ${sample.outsideSeconds.toFixed(2)} s outside the push`;
  const plan = sample.planSeconds === undefined ? '' : ` (${sample.uploader ?? '?'} uploader, mover began ${sample.planSeconds.toFixed(2)} s into the push${outside})`;
  ctx.log(`  ${sample.scenario} #${sample.repetition + 1} ${sample.tool}: ${sample.seconds.toFixed(2)} s, ${(sample.uplinkBytes / 1e6).toFixed(2)} MB up${plan}`);
}

/** One tool's measured push, from the engine memory every tool starts with. */
async function measured(ctx: RunContext, site: Site, tool: Tool, request: PushRequest & { image: string }): Promise<PushMeasure> {
  await freshEngineMemory(ctx.bed);
  return push(tool, ctx.bed, site, request);
}

/** docker and skopeo cannot tell these scenarios from firstPush (neither looks for the base). */
const looksForBase = (tool: Tool) => tool === 'layerlift' || tool === 'layerlift-own';

/** The app to a fresh repository of a registry that holds the base under library/base. */
export async function firstPush(ctx: RunContext): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let rep = 0; rep < ctx.reps; rep++) {
    await withSite(ctx, ctx.link, async (site) => {
      // The admin's mirror goes in directly, not over the user's uplink.
      await mirrorBase(ctx.images.base, site.registry.host, { username: USER, password: PASSWORD });
      for (const tool of rotation(rep)) {
        const measure = await measured(ctx, site, tool, {
          image: ctx.images.app.tag,
          repository: `first/${tool}`,
          tag: '1',
          layerliftArgs: ['--dockerfile', ctx.images.app.dockerfile],
          cacheName: `first-${rep}`,
        });
        const sample: Sample = { scenario: 'firstPush', tool, repetition: rep, ...measure };
        logSample(ctx, sample);
        samples.push(sample);
      }
    });
  }
  return samples;
}

/**
 * The base only upstream; layerlift has a runner pre-push it. The runner stands for a machine
 * next to the registry: it reaches both registries directly, never through the user's uplink.
 * docker and skopeo cannot tell this case from firstPush (neither looks for the base anywhere),
 * so --quick reuses their firstPush runs instead of spending minutes on identical uploads.
 */
export async function baseOnlyUpstream(ctx: RunContext, first: Sample[]): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let rep = 0; rep < ctx.reps; rep++) {
    await withSite(ctx, ctx.link, async (site) => {
      const direct = `"$(printf %s {target} | sed s/${site.uplink.host}/${site.registry.host}/)"`;
      const runner = `${process.execPath} ${cliPath} copy {source} ${direct}`;
      for (const tool of rotation(rep)) {
        if (ctx.quick && !looksForBase(tool)) {
          const reused = first.find((s) => s.tool === tool && s.repetition === rep);
          if (reused) samples.push({ ...reused, scenario: 'baseOnlyUpstream', reusedFrom: 'firstPush' });
          continue;
        }
        const measure = await measured(ctx, site, tool, {
          image: ctx.images.app.tag,
          repository: `upstream/${tool}`,
          tag: '1',
          layerliftArgs: ['--dockerfile', ctx.images.app.dockerfile, '--prepush', 'runner', '--runner', runner],
          cacheName: `upstream-${rep}`,
        });
        const sample: Sample = { scenario: 'baseOnlyUpstream', tool, repetition: rep, ...measure };
        logSample(ctx, sample);
        samples.push(sample);
      }
    });
  }
  return samples;
}

/** All-new layers over unthrottled loopback: compression and the pipeline bound the speed. */
export async function fullPush(ctx: RunContext): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let rep = 0; rep < ctx.reps; rep++) {
    await withSite(ctx, {}, async (site) => {
      for (const tool of rotation(rep)) {
        const measure = await measured(ctx, site, tool, { image: ctx.images.full.tag, repository: `full/${tool}`, tag: '1', cacheName: `full-${rep}` });
        const sample: Sample = { scenario: 'fullPush', tool, repetition: rep, ...measure };
        logSample(ctx, sample);
        samples.push(sample);
      }
    });
  }
  return samples;
}

/**
 * The full image as an OCI layout (what `buildx --output type=oci`, kaniko or a CI job hands
 * over: gzip layers, no engine), made once by `skopeo copy docker-daemon:… oci:…`, then pushed
 * over unthrottled loopback by `layerlift push oci:DIR:1` (auto: Layerlift's own uploader, the
 * blobs as they are) and `skopeo copy oci:DIR:1`. docker cannot push a layout.
 */
export async function ociPush(ctx: RunContext): Promise<Sample[]> {
  const samples: Sample[] = [];
  const layout = join(ctx.bed.work, 'full-oci');
  await rm(layout, { recursive: true, force: true });
  await skopeo(['copy', '--src-daemon-host', ctx.bed.engine.host, `docker-daemon:${ctx.images.full.tag}`, `oci:${layout}:1`]);
  const tools: Tool[] = ['layerlift', 'skopeo'];
  for (let rep = 0; rep < ctx.reps; rep++) {
    await withSite(ctx, {}, async (site) => {
      for (const tool of rep % 2 === 0 ? tools : [...tools].reverse()) {
        const measure = await push(tool, ctx.bed, site, { image: ctx.images.full.tag, file: `oci:${layout}:1`, repository: `oci/${tool}`, tag: '1', cacheName: `oci-${rep}` });
        const sample: Sample = { scenario: 'ociPush', tool, repetition: rep, ...measure };
        logSample(ctx, sample);
        samples.push(sample);
      }
    });
  }
  return samples;
}

/**
 * The app pushed once (untimed, uplink unthrottled to save minutes), then rebuilt with its last
 * layer changed and pushed again over the throttled uplink (timed): what a developer's second
 * push costs. Each tool keeps what it learnt from its own first push (docker's layer metadata,
 * skopeo's blob info cache, layerlift's index and the target's manifest).
 */
export async function rebuildPush(ctx: RunContext): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let rep = 0; rep < ctx.reps; rep++) {
    await withSite(ctx, ctx.link, async (site) => {
      for (const tool of rotation(rep)) {
        const request = { repository: `rebuild/${tool}`, tag: '1', layerliftArgs: ['--dockerfile', ctx.images.app.dockerfile], cacheName: `rebuild-${rep}` };
        site.uplink.set({ throttleBytesPerSecond: null, latencyMs: null });
        await measured(ctx, site, tool, { ...request, image: ctx.images.app.tag });
        site.uplink.set({ throttleBytesPerSecond: site.bytesPerSecond ?? null, latencyMs: ctx.link.rttMs ?? null });
        const measure = await push(tool, ctx.bed, site, { ...request, image: ctx.images.rebuilt.tag });
        const sample: Sample = { scenario: 'rebuildPush', tool, repetition: rep, ...measure };
        logSample(ctx, sample);
        samples.push(sample);
      }
    });
  }
  return samples;
}

/**
 * The base known to the engine under several names and no other: pulled from the site's registry
 * (directly, library/base) and from a second registry that is stopped before the push — the same
 * image id, two RepoDigests, one of them dead. The upstream name the images were built from is
 * taken off for the scenario, so the site's name is the only live one. layerlift is given no
 * Dockerfile: it must find the base among the engine's names, skip the dead one quickly and mount
 * from library/base in the target registry, sending ≈ only the app's layers. docker and skopeo do
 * as in firstPush (--quick reuses those runs). The names are put back as they were afterwards.
 */
export async function baseManyNames(ctx: RunContext, first: Sample[]): Promise<Sample[]> {
  const samples: Sample[] = [];
  const engine = ctx.bed.engine;
  const upstreamName = ctx.images.base.ref;
  for (let rep = 0; rep < ctx.reps; rep++) {
    await withSite(ctx, ctx.link, async (site) => {
      await mirrorBase(ctx.images.base, site.registry.host, { username: USER, password: PASSWORD });
      const siteName = `${site.registry.host}/library/base:1`;
      const gone = await startRegistry({ auth: 'none' });
      const goneName = `${gone.host}/library/base:1`;
      try {
        try {
          await seedImage(ctx.images.base.fixture.layoutDir, '1', gone.host, 'library/base');
          await docker(engine, ['pull', siteName]);
          await docker(engine, ['pull', goneName]);
        } finally {
          await gone.stop();
        }
        await onlyNames(ctx, [siteName, goneName]);
        for (const tool of rotation(rep)) {
          if (ctx.quick && !looksForBase(tool)) {
            const reused = first.find((s) => s.tool === tool && s.repetition === rep);
            if (reused) samples.push({ ...reused, scenario: 'baseManyNames', reusedFrom: 'firstPush' });
            continue;
          }
          const measure = await measured(ctx, site, tool, { image: ctx.images.app.tag, repository: `names/${tool}`, tag: '1', cacheName: `names-${rep}` });
          const sample: Sample = { scenario: 'baseManyNames', tool, repetition: rep, ...measure };
          logSample(ctx, sample);
          samples.push(sample);
        }
      } finally {
        // The upstream name back first (the image always keeps a name), then this repetition's two
        // off, so that no repetition finds the dead names of an earlier one.
        await docker(engine, ['pull', upstreamName]);
        for (const name of [siteName, goneName]) await docker(engine, ['rmi', name]).catch(() => undefined);
        await onlyNames(ctx, [upstreamName]).catch((error: unknown) => ctx.log(`  baseManyNames: names not restored: ${String(error)}`));
      }
    });
  }
  return samples;
}

/** `docker image inspect`'s RepoTags and RepoDigests. */
async function namesOf(ctx: RunContext, ref: string): Promise<{ tags: string[]; digests: string[] }> {
  const image = await inspectImage(ctx.bed.engine, ref);
  const list = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  return { tags: list(image.RepoTags), digests: list(image.RepoDigests) };
}

/**
 * Leaves the base with exactly the names of `keep` (tags and their RepoDigests): every other tag
 * and digest reference of the base is removed (an untag: the image and the app built on it stay).
 * Fails when a name in `keep` has no RepoDigest, so the scenario never runs on other names.
 */
async function onlyNames(ctx: RunContext, keep: string[]): Promise<void> {
  const repoOf = (name: string) => name.replace(/[:@][^/]*$/, '');
  const keptRepos = new Set(keep.map(repoOf));
  const first = keep[0] as string;
  const before = await namesOf(ctx, first);
  for (const name of [...before.tags, ...before.digests]) {
    if (!keptRepos.has(repoOf(name))) await docker(ctx.bed.engine, ['rmi', name]).catch(() => undefined);
  }
  const after = await namesOf(ctx, first);
  const missing = [...keptRepos].filter((repo) => !after.digests.some((d) => repoOf(d) === repo));
  const extra = after.digests.filter((d) => !keptRepos.has(repoOf(d)));
  if (missing.length > 0 || extra.length > 0) throw new Error(`the base's RepoDigests are ${after.digests.join(', ') || 'none'}, expected one each for ${[...keptRepos].join(', ')}`);
  ctx.log(`  base known as ${after.digests.join(', ')}`);
}
