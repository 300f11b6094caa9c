// Layerlift's settings (section `layerlift`), and which target image a Dockerfile pushes to.
// Pure: the server pulls the raw values with workspace/configuration and passes them in.

export interface ImageSetting {
  /** Glob of Dockerfile paths relative to the workspace folder: `Dockerfile`, `services/** /Dockerfile`. */
  dockerfile: string;
  /** The target image, REGISTRY/REPO:TAG. */
  image: string;
  /** Build context, relative to the workspace folder; default: the Dockerfile's folder. */
  context?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  platform?: string;
}

export interface LayerliftSettings {
  images: ImageSetting[];
  /** `{"docker.io/library/*": "registry.example.com/hub/library/*"}`: where bases are mirrored. */
  mirrors: Record<string, string>;
  insecureRegistries: string[];
}

export const defaultSettings: LayerliftSettings = { images: [], mirrors: {}, insecureRegistries: [] };

/** Accepts whatever the client sent, keeping only well-formed entries (settings are user input). */
export function normalizeSettings(raw: unknown): LayerliftSettings {
  const value = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const images: ImageSetting[] = [];
  for (const item of Array.isArray(value.images) ? (value.images as unknown[]) : []) {
    const i = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    if (typeof i.dockerfile !== 'string' || typeof i.image !== 'string') continue;
    // Rebuild the entry field by field: a malformed optional field is dropped, not trusted.
    const image: ImageSetting = { dockerfile: i.dockerfile, image: i.image };
    if (typeof i.context === 'string') image.context = i.context;
    if (typeof i.target === 'string') image.target = i.target;
    if (typeof i.platform === 'string') image.platform = i.platform;
    if (typeof i.buildArgs === 'object' && i.buildArgs !== null && !Array.isArray(i.buildArgs)) {
      image.buildArgs = Object.fromEntries(Object.entries(i.buildArgs).filter((e): e is [string, string] => typeof e[1] === 'string'));
    }
    images.push(image);
  }
  const mirrors: Record<string, string> = {};
  if (typeof value.mirrors === 'object' && value.mirrors !== null) {
    for (const [from, to] of Object.entries(value.mirrors as Record<string, unknown>)) if (typeof to === 'string') mirrors[from] = to;
  }
  const insecureRegistries = Array.isArray(value.insecureRegistries) ? value.insecureRegistries.filter((r): r is string => typeof r === 'string') : [];
  return { images, mirrors, insecureRegistries };
}

/**
 * A glob as VS Code users write them: `**` any number of folders, `*` and `?` within a name,
 * `{a,b}` alternatives. A pattern without a slash matches the file name in any folder.
 */
export function globToRegExp(glob: string): RegExp {
  const pattern = glob.includes('/') ? glob.replace(/^\.\//, '') : `**/${glob}`;
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        const slash = pattern[i + 2] === '/';
        out += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '{') {
      const close = pattern.indexOf('}', i);
      if (close < 0) {
        out += '\\{';
      } else {
        out += `(?:${pattern.slice(i + 1, close).split(',').map(escapeRegExp).join('|')})`;
        i = close;
      }
    } else {
      out += escapeRegExp(c);
    }
  }
  return new RegExp(`^${out}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+^$()|[\]\\{}*?]/g, '\\$&');
}

/** The first image setting whose glob matches the Dockerfile (path relative to its workspace folder). */
export function imageFor(settings: LayerliftSettings, relativePath: string): ImageSetting | undefined {
  const path = relativePath.replace(/\\/g, '/');
  return settings.images.find((i) => globToRegExp(i.dockerfile).test(path));
}

/**
 * Where a base image may already sit in the target registry, by the user's mirror rules:
 * `docker.io/library/*` → `registry.example.com/hub/library/*` maps docker.io/library/python
 * to registry.example.com/hub/library/python. Returns full repository strings.
 */
export function mirrorCandidates(mirrors: Record<string, string>, baseRepository: string): string[] {
  const out: string[] = [];
  for (const [from, to] of Object.entries(mirrors)) {
    const star = from.indexOf('*');
    if (star < 0) {
      if (from === baseRepository) out.push(to);
      continue;
    }
    const prefix = from.slice(0, star);
    const suffix = from.slice(star + 1);
    if (baseRepository.startsWith(prefix) && baseRepository.endsWith(suffix) && baseRepository.length >= prefix.length + suffix.length) {
      const middle = baseRepository.slice(prefix.length, baseRepository.length - suffix.length);
      out.push(to.replace('*', middle));
    }
  }
  return out;
}
