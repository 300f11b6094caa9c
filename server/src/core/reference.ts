// Image references ("ubuntu", "ghcr.io/o/app:1@sha256:..."), parsed and normalized exactly as
// Docker does: github.com/distribution/reference ParseNormalizedNamed (normalize.go) on top of
// Parse (reference.go) and the grammar in regexp.go:
//
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [domain "/"] remote-name
//   domain     := host [":" port-number]
//   host       := domain-name | IPv4address | "[" IPv6address "]"
//   remote-name:= path-component ["/" path-component]*
import { digestProblem } from './digest';

export interface ImageReference {
  /** "docker.io" for Docker Hub, otherwise host[:port] as written ("ghcr.io", "[::1]:5000"). */
  registry: string;
  /** The remote name (distribution calls it the path): "library/ubuntu", "org/app". */
  repository: string;
  tag?: string;
  /** When present it identifies the content; a tag alongside it is informational (docker pull). */
  digest?: string;
}

export interface ParseReferenceOptions {
  /** Applied when the reference has neither tag nor digest (normalize.go TagNameOnly). Default "latest". */
  defaultTag?: string;
}

export class InvalidReferenceError extends Error {
  readonly code = 'INVALID_REFERENCE';
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`invalid image reference ${JSON.stringify(truncate(input))}: ${reason}`);
    this.name = 'InvalidReferenceError';
  }
}

// normalize.go constants.
const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
/** reference.go RepositoryNameTotalLengthMax; it bounds the path, not the domain. */
const NAME_TOTAL_LENGTH_MAX = 255;

// regexp.go, verbatim. Go's RE2 picks submatches leftmost-first like JavaScript, so captures agree.
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const optionalPort = '(?::[0-9]+)?';
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const domainAndPort = `(?:${domainName}|${ipv6address})${optionalPort}`;
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

const referenceRe = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const anchoredNameRe = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredTagRe = new RegExp(`^${tagPat}$`);
const anchoredDigestRe = new RegExp(`^${digestPat}$`);
const anchoredDomainRe = new RegExp(`^${domainAndPort}$`);
const anchoredPathComponentRe = new RegExp(`^${pathComponent}$`);
const anchoredIdentifierRe = /^[a-f0-9]{64}$/;

/** Parses a reference as `docker pull/push/tag` would (distribution/reference ParseNormalizedNamed). */
export function parseReference(input: string, options: ParseReferenceOptions = {}): ImageReference {
  const fail = (reason: string): InvalidReferenceError => new InvalidReferenceError(input, reason);
  if (input === '') throw fail('reference is empty');
  // normalize.go: a bare 64-hex string is an image ID, never a repository name.
  if (anchoredIdentifierRe.test(input)) throw fail('a 64-character hex string is an image ID, not a repository name');

  const [domain, remainder] = splitDockerDomain(input);
  // normalize.go checks everything before the first ':' of the remainder; we stop at '@' as
  // well so a bad digest is reported as such (both inputs are rejected either way).
  const remote = remainder.split(/[:@]/, 1)[0] ?? '';
  if (remote.toLowerCase() !== remote) {
    // Name the part the user wrote: "Ubuntu", not the "library/Ubuntu" we made of it.
    const shown = remote.startsWith(OFFICIAL_REPO_PREFIX) && !input.includes(OFFICIAL_REPO_PREFIX) ? remote.slice(OFFICIAL_REPO_PREFIX.length) : remote;
    throw fail(`repository name "${shown}" must be lowercase`);
  }

  // reference.go Parse(domain + "/" + remainder).
  const full = `${domain}/${remainder}`;
  const match = referenceRe.exec(full);
  if (match === null) {
    const lower = full.toLowerCase();
    if (lower !== full && referenceRe.test(lower)) throw fail('repository name must be lowercase');
    throw fail(diagnose(input));
  }
  const [, name = '', tag, digest] = match;
  const nameMatch = anchoredNameRe.exec(name);
  const parsedDomain = nameMatch?.[1] ?? '';
  const path = nameMatch?.[2] ?? name;
  // Deviation: for "foo_bar.com/x" splitDockerDomain picks a domain the grammar rejects, and
  // distribution then returns a name with an empty domain that no registry can serve. Refuse it.
  if (parsedDomain !== domain) throw fail(`invalid registry host "${domain}"`);
  if (path.length > NAME_TOTAL_LENGTH_MAX) throw fail(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  if (digest !== undefined) {
    // go-digest Digest.Validate: registered algorithm, exact length, lower-case hex.
    const problem = digestProblem(digest);
    if (problem !== undefined) throw fail(`invalid digest "${digest}": ${problem}`);
  }

  const ref: ImageReference = { registry: domain, repository: path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) {
    const fallback = options.defaultTag ?? DEFAULT_TAG;
    if (!anchoredTagRe.test(fallback)) throw fail(`default tag ${tagProblem(fallback)}`);
    ref.tag = fallback;
  }
  return ref;
}

/**
 * normalize.go splitDockerDomain. The first component is a domain when it contains '.' or ':',
 * is "localhost", or has upper-case letters (namespaces are lower-case, so "Foo/bar" names host
 * "Foo"). A single component is an official image. "index.docker.io" becomes "docker.io", and
 * Docker Hub names without a namespace get "library/".
 */
function splitDockerDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  if (slash === -1) return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name];
  const maybeDomain = name.slice(0, slash);
  let [domain, remote] = isDomainLike(maybeDomain) ? [maybeDomain, name.slice(slash + 1)] : [DEFAULT_DOMAIN, name];
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remote.includes('/')) remote = OFFICIAL_REPO_PREFIX + remote;
  return [domain, remote];
}

/** The switch in splitDockerDomain deciding whether a first component (before a '/') is a host. */
function isDomainLike(component: string): boolean {
  return component === 'localhost' || component === LEGACY_DEFAULT_DOMAIN || /[.:]/.test(component) || component.toLowerCase() !== component;
}

/** A specific reason for a reference the grammar rejects (Docker only says "invalid reference format"). */
function diagnose(input: string): string {
  if (/\s/.test(input)) return 'must not contain whitespace';
  if (input.includes('://')) return 'must not include a URL scheme; use host[:port]/repository[:tag]';
  let rest = input;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!anchoredDigestRe.test(digest)) {
      return `invalid digest "${truncate(digest)}": ${digestProblem(digest) ?? 'expected "algorithm:hex"'}`;
    }
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/') && !anchoredDomainRe.test(rest)) {
    const tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!anchoredTagRe.test(tag)) return `tag ${tagProblem(tag)}`;
  }
  if (rest === '') return 'missing repository name';
  const slash = rest.indexOf('/');
  if (slash === -1) {
    if (anchoredDomainRe.test(rest) && /[[:]/.test(rest)) return `missing repository name after registry host "${rest}"`;
  } else {
    const host = rest.slice(0, slash);
    if (isDomainLike(host)) {
      if (!anchoredDomainRe.test(host)) return `invalid registry host "${truncate(host)}"`;
      rest = rest.slice(slash + 1);
    }
  }
  for (const component of rest.split('/')) {
    if (component === '') return 'repository name has an empty path component';
    if (!anchoredPathComponentRe.test(component)) {
      return `invalid repository name component "${truncate(component)}": use lower-case letters and digits, separated by ".", "_", "__" or "-"`;
    }
  }
  return 'invalid reference format';
}

function tagProblem(tag: string): string {
  if (tag === '') return 'is empty';
  if (tag.length > 128) return `"${truncate(tag)}" is longer than 128 characters`;
  return `"${truncate(tag)}" is invalid: it must start with a letter, digit or "_" and contain only letters, digits, "_", "." and "-"`;
}

/** The canonical string: "docker.io/library/ubuntu:latest", "ghcr.io/o/a:1@sha256:...". */
export function formatReference(ref: ImageReference): string {
  return repositoryString(ref) + suffix(ref);
}

/** normalize.go FamiliarString: "ubuntu:latest", "user/app:1", "ghcr.io/o/a@sha256:...". */
export function familiarReference(ref: ImageReference): string {
  let name = ref.repository;
  if (ref.registry === DEFAULT_DOMAIN) {
    // familiarizeName: strip "library/" only when nothing nested follows it.
    const rest = name.startsWith(OFFICIAL_REPO_PREFIX) ? name.slice(OFFICIAL_REPO_PREFIX.length) : undefined;
    if (rest !== undefined && !rest.includes('/')) name = rest;
  } else {
    name = `${ref.registry}/${name}`;
  }
  return name + suffix(ref);
}

/** "docker.io/library/ubuntu": the name without tag or digest. */
export function repositoryString(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

function suffix(ref: ImageReference): string {
  return (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** reference.go WithTag: the tag replaced, any digest kept. */
export function withTag(ref: ImageReference, tag: string): ImageReference {
  if (!anchoredTagRe.test(tag)) throw new InvalidReferenceError(`${repositoryString(ref)}:${tag}`, `tag ${tagProblem(tag)}`);
  return { ...ref, tag };
}

/** reference.go WithDigest: the digest replaced, any tag kept. */
export function withDigest(ref: ImageReference, digest: string): ImageReference {
  // Stricter than WithDigest's grammar check: go-digest validation, as Parse applies.
  const problem = digestProblem(digest);
  if (problem !== undefined) throw new InvalidReferenceError(`${repositoryString(ref)}@${digest}`, `invalid digest "${truncate(digest)}": ${problem}`);
  return { ...ref, digest };
}

/**
 * The host the registry API is served from. Docker Hub's canonical domain "docker.io" serves no
 * API; the engine talks to registry-1.docker.io (moby registry/config.go DefaultRegistryHost).
 */
export function registryApiHost(registry: string): string {
  return registry === DEFAULT_DOMAIN ? 'registry-1.docker.io' : registry;
}

/**
 * The keys a Docker config.json "auths" map (or "credHelpers") may hold for this registry, most
 * specific first. Docker Hub's credentials live under the v1 index URL (docker/cli
 * registry.IndexServer); other registries under their host, sometimes as a URL. For keys not
 * listed here, docker/cli falls back to comparing credentialKeyRegistry(key) with the registry.
 */
export function credentialKeys(registry: string): string[] {
  if (registry === DEFAULT_DOMAIN) {
    return [
      'https://index.docker.io/v1/',
      'https://index.docker.io/v1',
      'index.docker.io',
      'docker.io',
      'registry-1.docker.io',
      'https://index.docker.io',
      'https://docker.io',
      'https://registry-1.docker.io',
    ];
  }
  const scheme = ['https://', 'http://'];
  return [registry, ...scheme.map((s) => s + registry), ...scheme.flatMap((s) => [`${s}${registry}/`, `${s}${registry}/v2/`, `${s}${registry}/v1/`])];
}

/**
 * The registry a config.json key stands for: docker/cli credentials.ConvertToHostname (drop an
 * http(s):// scheme and any path), with Docker Hub's aliases folded into "docker.io".
 */
export function credentialKeyRegistry(key: string): string {
  const stripped = key.replace(/^https?:\/\//, '');
  const host = stripped.split('/', 1)[0] ?? '';
  return host === LEGACY_DEFAULT_DOMAIN || host === 'registry-1.docker.io' ? DEFAULT_DOMAIN : host;
}

/**
 * Whether the registry is on this machine: localhost, 127.0.0.0/8 or ::1, with or without a port.
 * Docker trusts these over plain HTTP without --insecure-registry (moby registry/config.go).
 */
export function isLoopbackRegistry(registry: string): boolean {
  let host = registry.toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end === -1 || !/^(?::[0-9]+)?$/.test(host.slice(end + 1))) return false;
    host = host.slice(1, end);
  } else if (host.indexOf(':') === host.lastIndexOf(':')) {
    host = host.replace(/:[0-9]+$/, ''); // host:port; several colons means a bare IPv6 address
  }
  if (host === 'localhost') return true;
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4 !== null) return v4.slice(1).every((octet) => Number(octet) <= 255);
  return isIpv6Loopback(host);
}

function isIpv6Loopback(host: string): boolean {
  if (!/^[0-9a-f:]+$/.test(host)) return false;
  const halves = host.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string | undefined): string[] => (part === undefined || part === '' ? [] : part.split(':'));
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return false;
  const all = [...head, ...Array<string>(halves.length === 1 ? 0 : missing).fill('0'), ...tail];
  if (all.some((g) => g.length === 0 || g.length > 4)) return false;
  return all.every((g, i) => parseInt(g, 16) === (i === 7 ? 1 : 0));
}

function truncate(text: string): string {
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}
