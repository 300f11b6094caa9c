// Layerlift's settings (section `layerlift`), and which target image a Dockerfile pushes to.
// Pure: the server pulls the raw values with workspace/configuration and passes them in.
import { parseRate } from '../core/rate';

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

export type PrepushStrategySetting = 'auto' | 'mount' | 'runner' | 'local' | 'off';
export type CompressionSetting = 'gzip' | 'zstd';

export interface LayerliftSettings {
  images: ImageSetting[];
  /** `{"docker.io/library/*": "registry.example.com/hub/library/*"}`: where bases are mirrored. */
  mirrors: Record<string, string>;
  insecureRegistries: string[];
  /** How a base missing from the target gets there (the CLI's --prepush / --runner). */
  prepush: { strategy: PrepushStrategySetting; runner?: string };
  /** Blobs in flight at once, and how new layers are compressed (the CLI's --concurrency, --compression). */
  /** limitRate: --limit-rate in bytes per second (layerlift.push.limitRate, e.g. "1M"), when set. */
  push: { concurrency: number; compression: CompressionSetting; uploader: 'auto' | 'engine' | 'layerlift'; limitRate?: number };
  /** The engine to build with and read images from: a DOCKER_HOST URL, or a Docker context name. */
  docker: { host?: string; context?: string };
  /** Which editor features show (layerlift.codeLens.enabled, .inlayHints.enabled, .hover.enabled):
   *  users run Docker DX and Container Tools beside us, with their own lenses and hovers. */
  features: { codeLens: boolean; inlayHints: boolean; hover: boolean };
}

export const defaultSettings: LayerliftSettings = {
  images: [],
  mirrors: {},
  insecureRegistries: [],
  prepush: { strategy: 'auto' },
  push: { concurrency: 4, compression: 'gzip', uploader: 'auto' },
  docker: {},
  features: { codeLens: true, inlayHints: true, hover: true },
};

const strategies: readonly PrepushStrategySetting[] = ['auto', 'mount', 'runner', 'local', 'off'];

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
  // VS Code hands dotted settings over as nested objects: {prepush: {strategy, runner}}.
  const prepushRaw = objectAt(value, 'prepush');
  const strategy = strategies.find((s) => s === prepushRaw.strategy) ?? defaultSettings.prepush.strategy;
  const prepush: LayerliftSettings['prepush'] = { strategy };
  if (typeof prepushRaw.runner === 'string' && prepushRaw.runner.trim() !== '') prepush.runner = prepushRaw.runner;
  const pushRaw = objectAt(value, 'push');
  const concurrency = typeof pushRaw.concurrency === 'number' && Number.isInteger(pushRaw.concurrency) && pushRaw.concurrency >= 1 ? Math.min(pushRaw.concurrency, 32) : defaultSettings.push.concurrency;
  const compression: CompressionSetting = pushRaw.compression === 'zstd' ? 'zstd' : 'gzip';
  const uploader = pushRaw.uploader === 'engine' || pushRaw.uploader === 'layerlift' ? pushRaw.uploader : 'auto';
  const limitRate = typeof pushRaw.limitRate === 'string' ? parseRate(pushRaw.limitRate) : undefined;
  const dockerRaw = objectAt(value, 'docker');
  const docker: LayerliftSettings['docker'] = {};
  if (typeof dockerRaw.host === 'string' && dockerRaw.host.trim() !== '') docker.host = dockerRaw.host.trim();
  if (typeof dockerRaw.context === 'string' && dockerRaw.context.trim() !== '') docker.context = dockerRaw.context.trim();
  const enabled = (key: string) => objectAt(value, key).enabled !== false;
  const features = { codeLens: enabled('codeLens'), inlayHints: enabled('inlayHints'), hover: enabled('hover') };
  return { images, mirrors, insecureRegistries, prepush, push: { concurrency, compression, uploader, ...(limitRate !== undefined ? { limitRate } : {}) }, docker, features };
}

function objectAt(value: Record<string, unknown>, key: string): Record<string, unknown> {
  const inner = value[key];
  return typeof inner === 'object' && inner !== null && !Array.isArray(inner) ? (inner as Record<string, unknown>) : {};
}

/** The environment engine commands run with: the docker.host / docker.context settings win over the server's own. */
export function engineEnvironment(settings: LayerliftSettings, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // Delete rather than set undefined: child processes would see the string "undefined".
  const out = { ...env };
  if (settings.docker.host) {
    out.DOCKER_HOST = settings.docker.host;
    delete out.DOCKER_CONTEXT;
  } else if (settings.docker.context) {
    out.DOCKER_CONTEXT = settings.docker.context;
    delete out.DOCKER_HOST;
  }
  return out;
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
