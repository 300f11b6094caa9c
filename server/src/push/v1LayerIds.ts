// The `<v1 id>` directory names of a `docker save` export from dockerd < 25, computed from the
// image's diff_ids, so one pass over the export knows which `<v1 id>/layer.tar` is which layer
// before manifest.json (the archive's last entry) says so. Pure: bytes in, hex out.
//
// moby image/tarexport/save.go (saveImage, 20.10): for each layer i, a v1 image is made —
// `image.V1Image{Created: time.Unix(0, 0)}` for every layer but the top one, the image's own
// V1Image for the top — and its id is `v1.CreateID(v1Img, chainID(diff_ids[:i+1]), parent)`,
// parent being the previous layer's v1 id (none for the first). The directory's `json` file is
// that v1 image with `id` and `parent` (bare hex) set.
// moby image/v1/imagev1.go (CreateID): marshal the V1Image without its id, unmarshal it into a
// map of raw values, set "layer_id" (the chain id) and "parent" ("sha256:<hex>", only when there
// is one), marshal the map (Go sorts map keys; values stay as Go wrote them) and sha256 it.
// moby layer/layer.go (CreateChainID): chain(0) = diff_id(0); chain(i) = sha256("<chain(i-1)> <diff_id(i)>").
//
// `time.Unix(0, 0)` is in the daemon's local zone, so "1970-01-01T00:00:00Z" only holds on a
// daemon running in UTC; `layerIdFromJson` recomputes the id from the directory's own json for
// any other daemon (and for the top layer), and the reader falls back to hashing otherwise.
import { createHash } from 'node:crypto';

/** Go's json.Marshal of an empty api/types/container.Config (moby 20.10), fields in struct order,
 *  the omitempty ones left out: the `container_config` of every layer but the top one. */
export const EMPTY_CONTAINER_CONFIG =
  '{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,' +
  '"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,' +
  '"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null}';

/** `time.Unix(0, 0)` as Go marshals it on a daemon in UTC. */
export const EPOCH_UTC = '"1970-01-01T00:00:00Z"';

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** moby layer.CreateChainID for every prefix of `diffIds`: chain ids, `sha256:…`. */
export function chainIds(diffIds: readonly string[]): string[] {
  const chains: string[] = [];
  for (const diffId of diffIds) {
    const previous = chains[chains.length - 1];
    chains.push(previous === undefined ? diffId : `sha256:${sha256Hex(`${previous} ${diffId}`)}`);
  }
  return chains;
}

/** A JSON string as Go's encoding/json writes it (HTML-safe: <, >, & and U+2028/9 escaped). */
export function goJsonString(value: string): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** CreateID from the raw (Go-marshalled) values of a v1 image's fields, without id and parent. */
export function createV1Id(fields: ReadonlyMap<string, string>, chainId: string, parentHex: string | undefined): string {
  const all = new Map(fields);
  all.delete('id');
  all.delete('parent');
  all.set('layer_id', goJsonString(chainId));
  if (parentHex !== undefined) all.set('parent', goJsonString(`sha256:${parentHex}`));
  const keys = [...all.keys()].sort();
  return sha256Hex(`{${keys.map((k) => `${goJsonString(k)}:${all.get(k) ?? 'null'}`).join(',')}}`);
}

/**
 * The predicted `<v1 id>` of every layer but the top one (index i for diff_ids[i]), as a daemon
 * in UTC writes them. The top layer's id hashes the image's whole config and is not predicted:
 * its directory is the one left over (its json names the predicted parent).
 */
export function predictV1Ids(diffIds: readonly string[]): string[] {
  const chains = chainIds(diffIds);
  const base = new Map([
    ['container_config', EMPTY_CONTAINER_CONFIG],
    ['created', EPOCH_UTC],
  ]);
  const ids: string[] = [];
  let parent: string | undefined;
  for (let i = 0; i < diffIds.length - 1; i++) {
    parent = createV1Id(base, chains[i] ?? '', parent);
    ids.push(parent);
  }
  return ids;
}

/**
 * The top-level members of a JSON object as their raw text, in order; undefined when the text is
 * not one compact-enough object to split (the caller then treats the directory as unknown).
 */
export function rawMembers(text: string): Map<string, string> | undefined {
  const members = new Map<string, string>();
  let i = skipSpace(text, 0);
  if (text[i] !== '{') return undefined;
  i = skipSpace(text, i + 1);
  if (text[i] === '}') return skipSpace(text, i + 1) === text.length ? members : undefined;
  for (;;) {
    const keyEnd = stringEnd(text, i);
    if (keyEnd === undefined) return undefined;
    let key: unknown;
    try {
      key = JSON.parse(text.slice(i, keyEnd));
    } catch {
      return undefined;
    }
    i = skipSpace(text, keyEnd);
    if (text[i] !== ':') return undefined;
    const start = skipSpace(text, i + 1);
    const end = valueEnd(text, start);
    if (end === undefined || typeof key !== 'string') return undefined;
    members.set(key, text.slice(start, end));
    i = skipSpace(text, end);
    if (text[i] === ',') {
      i = skipSpace(text, i + 1);
      continue;
    }
    if (text[i] === '}') return skipSpace(text, i + 1) === text.length ? members : undefined;
    return undefined;
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && ' \t\r\n'.includes(text[i] ?? '')) i++;
  return i;
}

/** The index after the JSON string starting at `i`. */
function stringEnd(text: string, i: number): number | undefined {
  if (text[i] !== '"') return undefined;
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  return undefined;
}

/** The index after the JSON value starting at `i` (strings, nesting; scalars up to a delimiter). */
function valueEnd(text: string, i: number): number | undefined {
  const first = text[i];
  if (first === '"') return stringEnd(text, i);
  if (first === '{' || first === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const c = text[j];
      if (c === '"') {
        const end = stringEnd(text, j);
        if (end === undefined) return undefined;
        j = end - 1;
      } else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return undefined;
  }
  let j = i;
  while (j < text.length && !',}] \t\r\n'.includes(text[j] ?? '')) j++;
  return j > i ? j : undefined;
}

/**
 * Which of `chains` a `<dir>/json` of a dockerd < 25 export was written for: the index whose
 * CreateID over the json's own fields (its created time and container config as the daemon wrote
 * them, its parent) is `dir`; undefined when none is. A sha256 match binds the directory to that
 * chain id, so its layer.tar is that layer (and the reader still checks the diff_id).
 */
export function layerIndexFromJson(dir: string, json: string, chains: readonly string[], candidates?: Iterable<number>): number | undefined {
  const fields = rawMembers(json);
  if (fields === undefined) return undefined;
  const rawParent = fields.get('parent');
  let parentHex: string | undefined;
  if (rawParent !== undefined) {
    try {
      const parsed = JSON.parse(rawParent) as unknown;
      if (typeof parsed !== 'string') return undefined;
      parentHex = parsed.replace(/^sha256:/, '');
    } catch {
      return undefined;
    }
  }
  // save.go sets the layer's `os` after CreateID for every layer but the top one (seen on
  // 20.10: the json says "os":"linux", the id hashes no os), so both forms are tried.
  const withoutOs = new Map(fields);
  withoutOs.delete('os');
  for (const i of candidates ?? chains.keys()) {
    const chain = chains[i];
    if (chain === undefined) continue;
    if (createV1Id(fields, chain, parentHex) === dir || createV1Id(withoutOs, chain, parentHex) === dir) return i;
  }
  return undefined;
}
