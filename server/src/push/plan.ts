// The push plan: for every blob of a local image, what a push to the target must do, decided
// before a byte is sent. Pure over the facts an adapter gathered (pushFacts.ts).
//   exists   the target repository has the blob
//   mount    another repository of the target registry has it: a cross-repo mount sends nothing
//   prepush  only a repository elsewhere (the base's registry) has it: copy the base near the
//            target first (a runner on a fat pipe, or this machine in parallel with the build)
//   upload   nobody has it: compress here and upload
// Base layers keep the compressed blobs they were published as, so the pushed manifest points
// at the base's original digests, never at a re-compressed copy.

export type PrepushStrategy = 'auto' | 'mount' | 'runner' | 'local' | 'off';

/** A compressed blob a local layer (diff_id) is known as, and where it has been seen. */
export interface KnownBlob {
  digest: string;
  size: number;
  mediaType: string;
  /** Full repositories (`registry/repository`) known to hold it. */
  repositories: string[];
}

export interface PlanInput {
  /** `registry/repository` of the target. */
  target: string;
  targetRegistry: string;
  layers: { diffId: string }[];
  config: { digest: string; size: number };
  /** diff_id → the compressed blobs it is known as (base manifest, target manifest, local index). */
  known: ReadonlyMap<string, KnownBlob[]>;
  /** `registry/repository|digest` → present (HEAD answered), for the target and mount candidates. */
  present: ReadonlyMap<string, boolean>;
  strategy: PrepushStrategy;
  runnerConfigured: boolean;
  /** The base image, pinned by digest, when known: what a pre-push copies. */
  base?: { reference: string; repository: string };
  /** Who sends the blobs left to upload. */
  uploader?: 'engine' | 'layerlift';
}

export type BlobAction =
  | { action: 'exists'; diffId?: string; digest: string; size: number; mediaType: string }
  | { action: 'mount'; diffId: string; digest: string; size: number; mediaType: string; from: string }
  | { action: 'prepush'; diffId: string; digest: string; size: number; mediaType: string; from: string; strategy: 'runner' | 'local' }
  | { action: 'upload'; diffId?: string; digest?: string; size?: number; mediaType?: string };

export interface PushPlan {
  layers: BlobAction[];
  /** Who sends the `upload` blobs, the config and the manifest: the engine's push or Layerlift's uploader. */
  uploader: 'engine' | 'layerlift';
  config: BlobAction;
  prepush?: { strategy: 'runner' | 'local'; source: string };
  /** Compressed bytes that will cross this machine's uplink (uploads; sizes known after compression count as unknown). */
  uplinkBytes: number;
  /** Layers whose compressed size is only known after compressing them here. */
  unknownUploads: number;
  totalBytes: number;
}

const key = (repository: string, digest: string) => `${repository}|${digest}`;

export function planPush(input: PlanInput): PushPlan {
  const layers = input.layers.map((layer) => planLayer(layer.diffId, input));
  const configThere = input.present.get(key(input.target, input.config.digest)) === true;
  const config: BlobAction = configThere
    ? { action: 'exists', digest: input.config.digest, size: input.config.size, mediaType: 'config' }
    : { action: 'upload', digest: input.config.digest, size: input.config.size };
  const prepushes = layers.filter((l): l is Extract<BlobAction, { action: 'prepush' }> => l.action === 'prepush');
  let uplinkBytes = config.action === 'upload' ? input.config.size : 0;
  let unknownUploads = 0;
  let totalBytes = input.config.size;
  for (const layer of layers) {
    if (layer.size !== undefined) totalBytes += layer.size;
    if (layer.action !== 'upload') continue;
    if (layer.size === undefined) unknownUploads++;
    else uplinkBytes += layer.size;
  }
  const first = prepushes[0];
  return {
    layers,
    uploader: input.uploader ?? 'layerlift',
    config,
    prepush: first && input.base ? { strategy: first.strategy, source: input.base.reference } : undefined,
    uplinkBytes,
    unknownUploads,
    totalBytes,
  };
}

function planLayer(diffId: string, input: PlanInput): BlobAction {
  const candidates = input.known.get(diffId) ?? [];
  // 1. The target already has one of the blobs this layer is known as.
  for (const blob of candidates) {
    if (input.present.get(key(input.target, blob.digest)) === true) return { action: 'exists', diffId, digest: blob.digest, size: blob.size, mediaType: blob.mediaType };
  }
  // 2. Another repository of the target registry has it: mount.
  for (const blob of candidates) {
    for (const repository of blob.repositories) {
      if (repository === input.target || !repository.startsWith(`${input.targetRegistry}/`)) continue;
      if (input.present.get(key(repository, blob.digest)) === true) {
        return { action: 'mount', diffId, digest: blob.digest, size: blob.size, mediaType: blob.mediaType, from: repository.slice(input.targetRegistry.length + 1) };
      }
    }
  }
  // 3. Only a registry elsewhere has it (the base upstream): pre-push it near the target.
  const strategy = prepushStrategy(input);
  if (strategy && input.base) {
    const upstream = candidates.find((blob) => blob.repositories.includes(input.base?.repository ?? ''));
    if (upstream) return { action: 'prepush', diffId, digest: upstream.digest, size: upstream.size, mediaType: upstream.mediaType, from: input.base.repository, strategy };
  }
  // 4. Nobody has it: compress and upload from here. A blob known from elsewhere keeps its
  // digest only if the source can give those exact bytes (an OCI layout); the pusher decides.
  return { action: 'upload', diffId };
}

/**
 * A plan from the local index alone, for a rebuild the engine pushes: when the image's lower
 * layers were all recorded in the target repository and the layers above them are known nowhere,
 * nothing can be mounted or pre-pushed — the engine checks and sends the rest itself. Undefined
 * when that does not hold (a first push, or a layer another repository may lend): plan fully.
 * A stale index costs only speed: the engine then uploads what the registry lost, as docker would.
 */
export function planFromIndex(
  subject: { layers: { diffId: string }[]; configDigest: string; configSize?: number },
  lookup: (diffId: string) => { digest: string; size: number; mediaType: string; repositories: string[] }[],
  target: string,
): PushPlan | undefined {
  const layers: BlobAction[] = [];
  let inTarget = 0;
  // A layer the prefix already holds may stand again above new ones (the classic builder's
  // empty layer): it is the same blob, there already.
  const inPrefix = new Set<string>();
  for (const { diffId } of subject.layers) {
    const known = lookup(diffId);
    const here = known.find((k) => k.repositories.includes(target));
    if (here && (inTarget === layers.length || inPrefix.has(diffId))) {
      if (inTarget === layers.length) {
        inTarget++;
        inPrefix.add(diffId);
      }
      layers.push({ action: 'exists', diffId, digest: here.digest, size: here.size, mediaType: here.mediaType });
    } else if (known.length === 0) {
      layers.push({ action: 'upload', diffId });
    } else {
      return undefined;
    }
  }
  if (inTarget === 0) return undefined;
  const totalBytes = layers.reduce((sum, l) => sum + (l.size ?? 0), 0);
  const unknownUploads = layers.filter((l) => l.action === 'upload').length;
  return { layers, uploader: 'engine', config: { action: 'upload', digest: subject.configDigest, size: subject.configSize ?? 0 }, uplinkBytes: subject.configSize ?? 0, unknownUploads, totalBytes: totalBytes + (subject.configSize ?? 0) };
}

/** `auto` prefers a runner (bandwidth where the registry is) over copying through this machine. */
function prepushStrategy(input: PlanInput): 'runner' | 'local' | undefined {
  switch (input.strategy) {
    case 'runner':
      return 'runner';
    case 'local':
      return 'local';
    case 'auto':
      return input.runnerConfigured ? 'runner' : 'local';
    default:
      // 'mount' only mounts what is already there; 'off' never pre-pushes.
      return undefined;
  }
}

/** The pre-push tag: keeps the copied blobs referenced so registry GC cannot drop them. */
export function prepushTag(baseDigest: string): string {
  return `prepush-${baseDigest.slice(baseDigest.indexOf(':') + 1, baseDigest.indexOf(':') + 13)}`;
}

/**
 * Quotes a value for a POSIX shell: one single-quoted word. Runner templates get their
 * placeholders through this, so an image name can never inject a command.
 */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Fills `{source}` and `{target}` in a runner template, each shell-quoted. */
export function renderRunner(template: string, values: { source: string; target: string }): string {
  return template.replace(/\{(source|target)\}/g, (_, name: 'source' | 'target') => shellQuote(values[name]));
}
