// Platforms ("linux/arm64/v8"): parsing, normalizing and choosing an index entry the way
// containerd does it (github.com/containerd/platforms: platforms.go Parse/Normalize/NewMatcher,
// database.go normalizeArch, compare.go Only/platformVector), which Docker and BuildKit share.
import {
  ATTESTATION_MANIFEST_TYPE,
  DOCKER_REFERENCE_TYPE_ANNOTATION,
  type Descriptor,
  type ImageIndex,
  type Platform,
} from './mediaTypes';

export class InvalidPlatformError extends Error {
  readonly code = 'INVALID_PLATFORM';
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`invalid platform ${JSON.stringify(input)}: ${reason}`);
    this.name = 'InvalidPlatformError';
  }
}

export class PlatformNotFoundError extends Error {
  readonly code = 'PLATFORM_NOT_FOUND';
  constructor(
    readonly wanted: Platform,
    /** formatPlatform of each candidate entry, in index order. */
    readonly available: string[],
  ) {
    const list = available.length > 0 ? available.join(', ') : 'none';
    super(`no image for platform ${formatPlatform(wanted)} in the image index (available: ${list})`);
    this.name = 'PlatformNotFoundError';
  }
}

// platforms.go specifierRe and osRe (<os>[(<version>[+<feature>]*)]).
const specifierRe = /^[A-Za-z0-9_.-]+$/;
const osRe = /^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$/;

// database.go isKnownOS / isKnownArch (generated from Go's syslist.go).
const KNOWN_OS = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'windows', 'zos']);
const KNOWN_ARCH = new Set(['386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'ppc64', 'ppc64le', 'loong64', 'mips', 'mipsle', 'mips64', 'mips64le', 'mips64p32', 'mips64p32le', 'ppc', 'riscv', 'riscv64', 's390', 's390x', 'sparc', 'sparc64', 'wasm']);

/**
 * The platform images are built for on this machine, in Docker's terms. Images are Linux even on
 * macOS and Windows hosts (Docker Desktop runs a Linux VM), so the OS is always linux.
 */
export function hostPlatform(nodeArch: string = process.arch, nodePlatform: string = process.platform): Platform {
  switch (nodeArch) {
    case 'x64': return { os: 'linux', architecture: 'amd64' };
    case 'arm64': return { os: 'linux', architecture: 'arm64' };
    case 'arm': return { os: 'linux', architecture: 'arm', variant: 'v7' }; // Node's supported 32-bit ARM
    case 'ia32': return { os: 'linux', architecture: '386' };
    // Node's "ppc64" is little-endian everywhere but AIX.
    case 'ppc64': return { os: 'linux', architecture: nodePlatform === 'aix' ? 'ppc64' : 'ppc64le' };
    case 'mipsel': return { os: 'linux', architecture: 'mipsle' };
    case 'mips64el': return { os: 'linux', architecture: 'mips64le' };
    default: return { os: 'linux', architecture: nodeArch }; // s390x, riscv64, loong64, mips: same names
  }
}

/**
 * platforms.go Parse: "<os>", "<arch>", "<os>/<arch>" or "<os>/<arch>/<variant>", the OS part
 * optionally "windows(10.0.17763)". A lone OS or architecture takes the rest from `defaults`
 * (containerd uses the host; we default to hostPlatform()).
 */
export function parsePlatform(specifier: string, defaults: Platform = hostPlatform()): Platform {
  const fail = (reason: string): InvalidPlatformError => new InvalidPlatformError(specifier, reason);
  if (specifier.includes('*')) throw fail('wildcards are not supported');
  const parts = specifier.split('/');
  if (parts.length > 3) throw fail('expected <os>/<arch>[/<variant>]');
  const osMatch = osRe.exec(parts[0] ?? '');
  if (osMatch === null) throw fail(`"${parts[0] ?? ''}" is not a valid OS (letters, digits, "_" and "-", optionally "(version)")`);
  for (const part of parts.slice(1)) {
    if (!specifierRe.test(part)) throw fail(`"${part}" is not a valid component (letters, digits, "_", "." and "-")`);
  }
  const p: Platform = { os: normalizeOS(osMatch[1] ?? ''), architecture: '' };
  const version = decodeOption(osMatch[2] ?? '', fail);
  if (version !== '') p['os.version'] = version;
  if (osMatch[3] !== undefined && osMatch[3] !== '') p['os.features'] = osMatch[3].slice(1).split('+').map((f) => decodeOption(f, fail));

  if (parts.length === 1) {
    if (KNOWN_OS.has(p.os)) return withArch(p, defaults.architecture, defaults.variant ?? '');
    const [arch, variant] = normalizeArch(parts[0] ?? '', '');
    if (!KNOWN_ARCH.has(arch)) throw fail('unknown operating system or architecture');
    return withArch({ os: defaults.os, architecture: '' }, arch, arch === 'arm' && variant === 'v7' ? '' : variant);
  }
  if (parts.length === 2) {
    const [arch, variant] = normalizeArch(parts[1] ?? '', '');
    return withArch(p, arch, arch === 'arm' && variant === 'v7' ? '' : variant);
  }
  const [arch, variant] = normalizeArch(parts[1] ?? '', parts[2] ?? '');
  return withArch(p, arch, arch === 'arm64' && variant === '' ? 'v8' : variant);
}

function withArch(p: Platform, architecture: string, variant: string): Platform {
  const out: Platform = { ...p, architecture };
  if (variant !== '') out.variant = variant;
  else delete out.variant;
  return out;
}

function decodeOption(value: string, fail: (reason: string) => Error): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    throw fail(`bad escape in "${value}"`);
  }
}

/**
 * platforms.go FormatAll: "linux/arm64", "linux/arm/v7", "windows(10.0.17763)/amd64";
 * "unknown" without an OS.
 */
export function formatPlatform(platform: Platform): string {
  if (platform.os === '') return 'unknown';
  const encode = (v: string): string => v.replace(/[%+()/]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const options = encode(platform['os.version'] ?? '') + [...(platform['os.features'] ?? [])].sort().map((f) => `+${encode(f)}`).join('');
  const os = options !== '' ? `${platform.os}(${options})` : platform.os;
  return [os, platform.architecture, platform.variant ?? ''].filter((s) => s !== '').join('/');
}

/**
 * platforms.go Normalize: OS lower-cased ("macos" is darwin); architecture aliases resolved
 * (x86_64/x86-64 amd64, aarch64 arm64, i386 386, armhf arm/v7, armel arm/v6); the default
 * variants dropped (arm64 v8, amd64 v1) or filled in (arm is v7); OS features sorted, unique.
 */
export function normalizePlatform(platform: Platform): Platform {
  const out: Platform = { ...platform, os: normalizeOS(platform.os) };
  const [architecture, variant] = normalizeArch(platform.architecture, platform.variant ?? '');
  out.architecture = architecture;
  if (variant !== '') out.variant = variant;
  else delete out.variant;
  if (platform['os.features'] !== undefined && platform['os.features'].length > 0) {
    out['os.features'] = [...new Set(platform['os.features'])].sort();
  }
  return out;
}

function normalizeOS(os: string): string {
  if (os === '') return 'linux'; // containerd: runtime.GOOS; images here are Linux
  const lower = os.toLowerCase();
  return lower === 'macos' ? 'darwin' : lower;
}

/** database.go normalizeArch (current main: also folds arm64 v8.0 and v9.0). */
function normalizeArch(archIn: string, variantIn: string): [string, string] {
  const arch = archIn.toLowerCase();
  const variant = variantIn.toLowerCase();
  switch (arch) {
    case 'i386': return ['386', ''];
    case 'x86_64': case 'x86-64': case 'amd64': return ['amd64', variant === 'v1' ? '' : variant];
    case 'aarch64': case 'arm64':
      if (variant === '8' || variant === 'v8' || variant === 'v8.0') return ['arm64', ''];
      if (variant === '9' || variant === '9.0' || variant === 'v9.0') return ['arm64', 'v9'];
      return ['arm64', variant];
    case 'armhf': return ['arm', 'v7'];
    case 'armel': return ['arm', 'v6'];
    case 'arm':
      if (variant === '' || variant === '7') return ['arm', 'v7'];
      if (variant === '5' || variant === '6' || variant === '8') return ['arm', `v${variant}`];
      return ['arm', variant];
    default: return [arch, variant];
  }
}

/**
 * compare.go platformVector: the platforms `wanted` can run, best first. amd64/vN also runs
 * vN-1..v1 then 386; arm/vN runs vN-1..v5; arm64/v9.x runs v9.x-1..v9, v8.x+5..v8, then arm64
 * runs 32-bit arm from v8 down.
 */
function platformVector(p: Platform): Platform[] {
  const vector: Platform[] = [p];
  const like = (architecture: string, variant?: string): Platform => withArch({ ...p }, architecture, variant ?? '');
  const version = (v: string | undefined): number => (/^v?\d+$/.test(v ?? '') ? Number((v ?? '').replace('v', '')) : NaN);
  if (p.architecture === 'amd64') {
    for (let n = version(p.variant) - 1; n >= 1; n--) vector.push(like('amd64', `v${n}`));
    vector.push(like('386'));
  } else if (p.architecture === 'arm') {
    for (let n = version(p.variant) - 1; n >= 5; n--) vector.push(like('arm', `v${n}`));
  } else if (p.architecture === 'arm64') {
    let variant = p.variant ?? 'v8';
    const [majorPart = '', minorPart] = variant.split('.', 2);
    let major = version(majorPart);
    if (major >= 8) {
      let minor = variant.length === 4 && minorPart !== undefined && /^\d+$/.test(minorPart) ? Number(minorPart) : 0;
      if (major === 9) {
        for (let m = minor - 1; m >= 0; m--) vector.push(like('arm64', m === 0 ? 'v9' : `v9.${m}`));
        // v9.0 diverged from v8.5: v9.x is compatible with v8.(x+5).
        minor += 5;
        major = 8;
        vector.push(like('arm64', `v8.${minor}`));
      }
      for (let m = minor - 1; m >= 0; m--) vector.push(like('arm64', m === 0 ? `v${major}` : `v${major}.${m}`));
    }
    if (variant.startsWith('v8.') || variant.startsWith('v9.')) variant = 'v8';
    vector.push(...platformVector(like('arm', variant)));
  }
  return vector;
}

/** platforms.go NewMatcher(wanted).Match(candidate): equal after Normalize, plus OS version/features. */
function matches(wanted: Platform, candidate: Platform): boolean {
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture || (w.variant ?? '') !== (c.variant ?? '')) return false;
  if (w.os === 'windows' && !windowsVersionMatches(wanted['os.version'] ?? '', candidate['os.version'] ?? '')) return false;
  // The candidate's OS features must be a subset of the wanted ones.
  const have = new Set(w['os.features'] ?? []);
  return (c['os.features'] ?? []).every((f) => have.has(f));
}

/** platform_windows_compat.go: same major.minor; same build, or an ltsc2022+ ABI-compatible one. */
function windowsVersionMatches(host: string, image: string): boolean {
  const parse = (v: string): number[] | undefined => {
    const [major, minor, build] = v.split('.');
    if (build === undefined || ![major, minor, build].every((n) => /^\d+$/.test(n ?? ''))) return undefined;
    return [Number(major), Number(minor), Number(build)];
  };
  const h = parse(host);
  if (h === undefined || image === '') return true;
  const i = parse(image) ?? [0, 0, 0];
  if (h[0] !== i[0] || h[1] !== i[1]) return false;
  const [hostBuild = 0, imageBuild = 0] = [h[2], i[2]];
  return hostBuild < 20348 ? hostBuild === imageBuild : imageBuild >= 20348 && imageBuild <= hostBuild;
}

/** BuildKit attestation manifests: "unknown/unknown" entries pointing at provenance/SBOM. */
function isAttestation(descriptor: Descriptor): boolean {
  return (
    descriptor.annotations?.[DOCKER_REFERENCE_TYPE_ANNOTATION] === ATTESTATION_MANIFEST_TYPE ||
    (descriptor.platform?.os === 'unknown' && descriptor.platform.architecture === 'unknown')
  );
}

export interface SelectManifestOptions {
  /** platforms.OnlyStrict: no fallback to compatible platforms (arm64 to arm/v7, amd64 to 386). */
  strict?: boolean;
}

/**
 * The index entry containerd would pull for `wanted`: images.Manifest filters the entries with
 * platforms.Only(wanted) and stable-sorts them by its preference order, so the best-ranked
 * platform wins and index order breaks ties. Attestation entries are skipped. Deviation: entries
 * without a platform are skipped too (containerd ranks them last and then reads their config).
 */
export function selectManifest(index: ImageIndex, wanted: Platform, options: SelectManifestOptions = {}): Descriptor {
  const candidates = index.manifests.filter((d): d is Descriptor & { platform: Platform } => d.platform !== undefined && !isAttestation(d));
  const normalized = normalizePlatform(wanted);
  const preferences = options.strict === true ? [normalized] : platformVector(normalized);
  for (const preferred of preferences) {
    const found = candidates.find((d) => matches(preferred, d.platform));
    if (found !== undefined) return found;
  }
  throw new PlatformNotFoundError(wanted, candidates.map((d) => formatPlatform(d.platform)));
}

/** Whether `candidate` satisfies `wanted` exactly (platforms.OnlyStrict), e.g. arm64 vs arm64/v8. */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  return matches(wanted, candidate);
}
