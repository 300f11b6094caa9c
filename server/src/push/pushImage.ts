// A layer-aware push: plan, pre-push the base where it pays, then hand what remains to a mover
// (the engine's own push, or Layerlift's uploader: mover.ts) — mounts first, the unique layers,
// the config, and the manifest last, so a failed or cancelled push never moves the tag. What was
// pushed is recorded in the local index for the next plan.
import { setMaxListeners } from 'node:events';
import { formatReference, withDigest, type ImageReference } from '../core/reference';
import { mirrorCandidates, mirrorRepositoryIn } from '../core/mirrors';
import { RegistryError } from '../registry/errors';
import type { RegistryClient } from '../registry/registryClient';
import type { LayerIndex } from './layerIndex';
import { baseHolders, gatherKnown, probePresence, pushScopes, readImageBlobs } from './pushFacts';
import { timing } from '../core/timing';
import { planFromIndex, planPush, prepushTag, type PrepushStrategy, type PushPlan } from './plan';
import { prepushBase } from './prepush';
import { MountAhead, mountAheadCandidates, presentWithMounted, withMountedAhead } from './mountAhead';
import { readFirstBase, type BaseCandidates } from './baseCandidates';
import type { Mover, PushEvent, PushedBlob, PushSubject } from './mover';
import type { ConfigCache } from './configCache';
import { sha256Digest } from '../core/digest';

export type { PushEvent, PushedBlob } from './mover';

export interface PushOptions {
  target: ImageReference;
  /** The base image: one named (Dockerfile FROM, --base), or candidates found in the engine. */
  base?: ImageReference | BaseCandidates;
  strategy?: PrepushStrategy;
  runner?: string;
  mirrors?: Record<string, string>;
  concurrency?: number;
  chunkSize?: number;
  planOnly?: boolean;
  /** Delete the `prepush-…` tag once the app's manifest references the blobs. */
  cleanupPrepush?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: PushEvent) => void;
}

export interface PushResult {
  target: string;
  digest?: string;
  plan: PushPlan;
  uploader: Mover['kind'];
  blobs: PushedBlob[];
  bytesUploaded: number;
  seconds: number;
  warnings: string[];
  /** Milliseconds from the push's start until the mover began (inspect, plan, registry reads). */
  planMs: number;
}

export interface PushDependencies {
  client: RegistryClient;
  mover: Mover;
  index?: LayerIndex;
  /** For reading base candidates: a client that gives up on an unreachable registry quickly. */
  probeClient?: RegistryClient;
  /** Base configs kept by earlier pushes (configCache.ts). */
  configs?: ConfigCache;
}

export async function pushImage(subject: PushSubject, options: PushOptions, deps: PushDependencies): Promise<PushResult> {
  const started = Date.now();
  const { client, mover } = deps;
  const target = options.target;
  const targetRepo = { registry: target.registry, repository: target.repository };
  const targetFull = `${target.registry}/${target.repository}`;
  const signal = options.signal;
  // Up to 16 probes and the uploads each listen for the one cancel: not a leak (node warns past 10).
  if (signal) setMaxListeners(64, signal);
  const warnings: string[] = [];
  if (!target.tag && target.digest) {
    throw new RegistryError({ code: 'UNSUPPORTED', operation: 'push', ...targetRepo, problem: 'the target names a digest, not a tag', hint: 'give the target a tag, e.g. registry/repo:1' });
  }
  /** Set once the mover has the push: from then on it undoes what it prepared itself. */
  let moving = false;
  /** The base's config once read; else what earlier pushes kept (the engine uploader rebuilds the image's config from it). */
  let baseConfig: { digest: string; bytes: Buffer } | undefined;
  const findConfig = async (imageId: string) => (baseConfig?.digest === imageId ? baseConfig.bytes : deps.configs?.read(imageId));
  const finish = async (plan: PushPlan, planMs: number, present?: ReadonlyMap<string, boolean>, mounted?: ReadonlyMap<string, string>): Promise<PushResult> => {
    moving = true;
    // What the plan's probes just found missing in the target: the mover need not ask again.
    const absent = new Set([...(present ?? [])].filter(([probe, here]) => !here && probe.startsWith(`${targetFull}|`)).map(([probe]) => probe.slice(targetFull.length + 1)));
    const moved = await mover.move({ subject, plan, target, concurrency: options.concurrency ?? 4, chunkSize: options.chunkSize, absent, mounted: new Set(mounted?.keys()), findConfig, signal, onEvent: options.onEvent, warnings });
    for (const [i, layer] of subject.layers.entries()) {
      const blob = moved.blobs[i];
      if (blob && deps.index) deps.index.record(layer.diffId, { digest: blob.digest, size: blob.size, mediaType: blob.mediaType }, targetFull);
    }
    const saved = await deps.index?.save();
    if (saved?.warning) warnings.push(saved.warning);
    return {
      target: formatReference(target),
      digest: moved.digest,
      plan,
      uploader: mover.kind,
      blobs: moved.blobs.map(({ digest: d, size, action, from, bytesSent }) => ({ digest: d, size, action, from, bytesSent })),
      bytesUploaded: moved.blobs.reduce((sum, b) => sum + b.bytesSent, 0) + moved.configBytesSent,
      seconds: (Date.now() - started) / 1000,
      warnings,
      planMs,
    };
  };

  // A rebuild the engine pushes: when the index says every layer below the new ones is in the
  // target already, there is nothing to mount or pre-push — start the engine now, without a
  // registry read (it checks each layer itself and sends only the new ones).
  if (mover.kind === 'engine' && !options.planOnly && deps.index) {
    const quick = planFromIndex(subject, (diffId) => deps.index?.lookup(diffId) ?? [], targetFull);
    if (quick) {
      options.onEvent?.({ type: 'plan', plan: quick });
      return finish(quick, Date.now() - started);
    }
  }

  // One token for every scope this push will ask the target registry for (auth.ts expectScopes),
  // widened once the engine's base candidates are known; withdrawn when the push ends.
  const named = options.base && !('find' in options.base) ? options.base : undefined;
  const withdraw = [client.expectScopes(target.registry, pushScopes(target, named, options.mirrors, options.planOnly === true))];
  if (!options.planOnly) mover.prepare?.(target, signal);
  try {
    // What the base and the target hold only informs the plan: if it cannot be read, push anyway.
    const soft = async <T>(what: string, read: Promise<T>): Promise<T | undefined> => {
      try {
        return await read;
      } catch (error) {
        if (signal?.aborted) throw error;
        warnings.push(`${what}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
        return undefined;
      }
    };
    const targetRead = soft('the current target could not be read', readImageBlobs(client, target, subject.platform, signal));
    timing('target tag read started');
    const base = await readFirstBase(options.base, { client: deps.probeClient ?? client, platform: subject.platform, target, signal, warnings });
    timing('base read');
    if (base?.blobs.config) {
      baseConfig = { digest: sha256Digest(base.blobs.config), bytes: base.blobs.config };
      void deps.configs?.save(base.blobs.config);
    }
    if (base && !named) withdraw.push(client.expectScopes(target.registry, pushScopes(target, base.ref, options.mirrors, options.planOnly === true)));
    const configDigest = subject.configDigest;
    // The user's own mirror rules name repositories they expect to mount from: say so when they
    // may not (other candidates, like the base's path in the target registry, are only guesses).
    const mirrorRepositories = new Set(base ? mirrorCandidates(options.mirrors ?? {}, `${base.ref.registry}/${base.ref.repository}`) : []);
    const denied = new Set<string>();
    const onDenied = (repository: string) => {
      if (denied.has(repository) || !mirrorRepositories.has(repository)) return;
      denied.add(repository);
      warnings.push(`no pull access to ${repository}, so nothing is mounted from it: ask for pull rights there (mounts need them); trying the next candidate`);
    };
    // The blobs the base and the index name are probed while the target's tag is still being read
    // (a new repository answers that read with a 404 after its token: a stage of round trips the
    // probes need not wait for, measured 0.07 s of a 2.5 s first push); what the target's own
    // manifest adds is probed after it.
    // A base blob the probes find missing in the target and held by its mount source is mounted
    // at once, not after the plan (mountAhead.ts).
    const diffIds = subject.layers.map((layer) => layer.diffId);
    const ahead = new MountAhead(client, targetRepo, base && !options.planOnly ? mountAheadCandidates({ target, base, diffIds, mirrors: options.mirrors, index: deps.index }) : [], signal);
    // The engine checks the config itself: a push through it does not ask (a plan shows it).
    const configProbe = mover.kind === 'engine' && !options.planOnly ? undefined : configDigest;
    const holders = base ? baseHolders(client, target, base, options.mirrors, signal) : undefined;
    const early = probePresence(client, targetRepo, gatherKnown({ image: subject, target, base, index: deps.index, mirrors: options.mirrors }), configProbe, signal, { holders, onDenied, onAnswer: (probe, here) => ahead.answer(probe, here) });
    const [targetBlobs] = await Promise.all([targetRead, early.catch(() => undefined)]);
    const mountedAhead = await ahead.settled();
    timing('target tag read, early probes done');
    const known = gatherKnown({ image: subject, target, base, targetBlobs, index: deps.index, mirrors: options.mirrors });
    let present = presentWithMounted(await probePresence(client, targetRepo, known, configProbe, signal, { holders, onDenied, answered: await early }), targetRepo, mountedAhead);
    const baseReference = base ? formatReference(withDigest({ ...base.ref, tag: undefined }, base.blobs.manifestDigest)) : undefined;
    const planInput = {
      target: targetFull,
      targetRegistry: target.registry,
      layers: subject.layers,
      config: { digest: configDigest, size: subject.configSize ?? 0 },
      known: known.byDiffId,
      present,
      strategy: options.strategy ?? 'auto',
      runnerConfigured: Boolean(options.runner),
      base: base && baseReference ? { reference: baseReference, repository: `${base.ref.registry}/${base.ref.repository}` } : undefined,
      uploader: mover.kind,
    };
    let plan = withMountedAhead(planPush(planInput), mountedAhead);
    timing('planned');
    options.onEvent?.({ type: 'plan', plan });
    if (options.planOnly) return { target: formatReference(target), plan, uploader: mover.kind, blobs: [], bytesUploaded: 0, seconds: (Date.now() - started) / 1000, warnings, planMs: Date.now() - started };

    // Pre-push: copy the base next to the target (runner where bandwidth is, or through here),
    // then plan again: its blobs are now in the target repository.
    // With a mirror for the base in the target registry, the pre-push fills the mirror (once for
    // every app on that base) and this push mounts from it; otherwise it goes into the target.
    let prepushed: { digest: string } | undefined;
    if (plan.prepush && base && baseReference) {
      const mirror = mirrorRepositoryIn(target.registry, options.mirrors ?? {}, `${base.ref.registry}/${base.ref.repository}`);
      const destination: ImageReference = mirror ? { registry: target.registry, repository: mirror } : target;
      options.onEvent?.({ type: 'prepush-start', strategy: plan.prepush.strategy, source: baseReference, target: `${destination.registry}/${destination.repository}` });
      if (!mirror) prepushed = { digest: base.blobs.manifestDigest };
      const pinned = { ...base.ref, tag: undefined, digest: base.blobs.manifestDigest };
      const done = await prepushBase(client, pinned, destination, { strategy: plan.prepush.strategy, runner: options.runner, platform: subject.platform, mirrors: options.mirrors, signal });
      options.onEvent?.({ type: 'prepush-done', seconds: done.seconds });
      present = presentWithMounted(await probePresence(client, targetRepo, known, configProbe, signal, { onDenied }), targetRepo, mountedAhead);
      plan = withMountedAhead(planPush({ ...planInput, present, strategy: 'mount' }), mountedAhead);
    }
    const result = await finish(plan, Date.now() - started, present, mountedAhead);

    // The delete below asks for its own token: the least it needs, nothing of the push's.
    for (const undo of withdraw.splice(0)) undo();
    if (prepushed && options.cleanupPrepush) {
      // The app's manifest now references the base blobs; the pre-push tag has done its job.
      // Registries delete manifests by digest (every tag on it goes): only when our tag still
      // points there, so a concurrent push that re-tagged it is left alone.
      try {
        const tagged = await client.headManifest(targetRepo, prepushTag(prepushed.digest), signal);
        if (tagged?.digest === prepushed.digest) await client.deleteManifest(targetRepo, prepushed.digest, signal);
      } catch (error) {
        warnings.push(`could not remove the pre-push tag: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return result;
  } finally {
    for (const undo of withdraw) undo();
    if (!moving) await mover.discard?.();
  }
}
