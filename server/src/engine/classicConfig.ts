// The exact config bytes of an image the legacy builder made, rebuilt from what the Engine API
// says about it and its parent images. Why: the Engine API hands out a config only inside a whole
// image export, and the engine's push sends the config last, after every layer, in four round
// trips (HEAD, POST, PATCH, PUT: ~0.1 s of a first push on a 20 ms link). A config already in the
// target costs it one HEAD. So while the engine sends the layers, Layerlift rebuilds the config,
// and uploads it only when the bytes hash to the image id: a rebuild that is off by one byte is
// simply not used.
//
// What the bytes are (moby 20.10, image/image.go and daemon/images/image_commit.go):
//   - Each build step commits an image: image.NewChildImage(parent, …) appends one History entry
//     (created: the commit time, which is also the child's `Created`; author; created_by: the
//     step's ContainerConfig.Cmd joined by spaces; empty_layer when the step added no layer).
//     The legacy builder keeps every step's image as the next one's parent, so the parent chain
//     gives each entry, with its nanoseconds (the history endpoint rounds them to seconds).
//   - The base's own entries are its config's, read into Go's History struct and written again.
//   - Image.MarshalJSON writes the top-level keys sorted; Go's encoder escapes <, >, & and
//     U+2028/2029, sorts map keys, and drops empty omitempty fields. The Engine API's inspect
//     answers with the same container.Config structs (in the same field order), unescaped.
// BuildKit's images have no such chain (and Podman's configs are built otherwise): they are not
// rebuilt, and the engine sends their config itself, as before.
import { sha256Digest } from '../core/digest';

export type InspectJson = Record<string, unknown>;

/** The Go encoder's string: JSON with <, >, &, U+2028 and U+2029 escaped, \u00XX for controls. */
function goString(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (char === '"') out += '\\"';
    else if (char === '\\') out += '\\\\';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20 || char === '<' || char === '>' || char === '&' || char === '\u2028' || char === '\u2029') out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

/** Go's map key order: by bytes. */
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Encodes as Go does. Objects keep the order they were read in (a Go struct's field order, as the
 * inspect wrote it), except Go maps (`maps`: their keys are sorted, as the encoder sorts them).
 */
function goJson(value: unknown, maps: ReadonlySet<string> = new Set(), key = ''): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return goString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => goJson(v, maps)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  if (maps.has(key)) entries.sort(([a], [b]) => byBytes(a, b));
  return `{${entries.map(([k, v]) => `${goString(k)}:${goJson(v, maps, k)}`).join(',')}}`;
}

/** container.Config's fields that are Go maps. */
const CONTAINER_CONFIG_MAPS = new Set(['ExposedPorts', 'Volumes', 'Labels']);

/** A time as Go's RFC 3339 with nanoseconds writes it: no trailing zeros in the fraction. */
function goTime(text: unknown): string | undefined {
  if (text === undefined) return '0001-01-01T00:00:00Z';
  if (typeof text !== 'string') return undefined;
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!match) return undefined;
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  return `${match[1]}${fraction ? `.${fraction}` : ''}${match[3] === '+00:00' ? 'Z' : match[3]}`;
}

interface HistoryEntry {
  created: string;
  author?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** One History entry as Go's struct writes it (created always; the rest when not empty). */
function historyJson(entry: HistoryEntry): string {
  const parts = [`"created":${goString(entry.created)}`];
  if (entry.author) parts.push(`"author":${goString(entry.author)}`);
  if (entry.created_by) parts.push(`"created_by":${goString(entry.created_by)}`);
  if (entry.comment) parts.push(`"comment":${goString(entry.comment)}`);
  if (entry.empty_layer) parts.push('"empty_layer":true');
  return `{${parts.join(',')}}`;
}

/** The base's History entries, as Go reads and writes them again; undefined when one can't be. */
function baseHistory(config: Buffer | undefined): HistoryEntry[] | undefined {
  if (config === undefined) return [];
  let parsed: { history?: unknown };
  try {
    parsed = JSON.parse(config.toString('utf8')) as { history?: unknown };
  } catch {
    return undefined;
  }
  if (parsed.history === undefined || parsed.history === null) return [];
  if (!Array.isArray(parsed.history)) return undefined;
  const entries: HistoryEntry[] = [];
  for (const item of parsed.history as Record<string, unknown>[]) {
    const created = goTime(item.created);
    if (created === undefined) return undefined;
    const text = (field: string) => (typeof item[field] === 'string' ? (item[field]) : undefined);
    entries.push({ created, author: text('author'), created_by: text('created_by'), comment: text('comment'), empty_layer: item.empty_layer === true });
  }
  return entries;
}

/** An inspect's diff_ids (RootFS.Layers). */
export const layersOf = (image: InspectJson) => {
  const rootfs = image.RootFS as { Layers?: unknown } | undefined;
  return Array.isArray(rootfs?.Layers) ? (rootfs.Layers as string[]) : [];
};

export interface ClassicChain {
  /** The build's step images, oldest first; the last is the image itself (inspect answers). */
  steps: InspectJson[];
  /** The base's config bytes (its image id is their sha256); undefined for FROM scratch. */
  baseConfig?: Buffer;
  /** How many layers the base has. */
  baseLayers: number;
}

/** The image's config bytes, or undefined when what the engine said does not rebuild to its id. */
export function rebuildClassicConfig(chain: ClassicChain): Buffer | undefined {
  const image = chain.steps.at(-1);
  if (!image || typeof image.Id !== 'string') return undefined;
  const history = baseHistory(chain.baseConfig);
  if (!history) return undefined;
  let layersBefore = chain.baseLayers;
  for (const step of chain.steps) {
    const cmd = (step.ContainerConfig as { Cmd?: unknown } | undefined)?.Cmd;
    const created = goTime(step.Created);
    if (created === undefined) return undefined;
    const layers = layersOf(step).length;
    history.push({ created, author: typeof step.Author === 'string' ? step.Author : undefined, created_by: Array.isArray(cmd) ? cmd.join(' ') : undefined, empty_layer: layers === layersBefore });
    layersBefore = layers;
  }
  /** An omitempty string field: encoded, or left out when empty. */
  const text = (field: string) => {
    const value = image[field];
    return typeof value === 'string' && value !== '' ? goString(value) : undefined;
  };
  // Image.MarshalJSON: the top-level keys sorted; omitempty fields left out when empty.
  const fields: [string, string | undefined][] = [
    ['architecture', text('Architecture')],
    ['author', text('Author')],
    ['comment', text('Comment')],
    ['config', image.Config === null || image.Config === undefined ? undefined : goJson(image.Config, CONTAINER_CONFIG_MAPS)],
    ['container', text('Container')],
    ['container_config', goJson(image.ContainerConfig ?? null, CONTAINER_CONFIG_MAPS)],
    ['created', goString(goTime(image.Created) ?? '')],
    ['docker_version', text('DockerVersion')],
    ['history', history.length > 0 ? `[${history.map(historyJson).join(',')}]` : undefined],
    ['os', text('Os')],
    ['os.version', text('OsVersion')],
    ['rootfs', rootfsJson(image)],
    ['variant', text('Variant')],
  ];
  const bytes = Buffer.from(`{${fields.filter(([, v]) => v !== undefined).map(([k, v]) => `${goString(k)}:${v as string}`).join(',')}}`);
  return sha256Digest(bytes) === image.Id ? bytes : undefined;
}

function rootfsJson(image: InspectJson): string | undefined {
  const rootfs = image.RootFS as { Type?: unknown } | undefined;
  if (!rootfs) return undefined;
  const layers = layersOf(image);
  return `{"type":${goString(typeof rootfs.Type === 'string' ? rootfs.Type : '')}${layers.length > 0 ? `,"diff_ids":${goJson(layers)}` : ''}}`;
}
