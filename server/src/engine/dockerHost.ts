// Where the Docker engine is, resolved as the docker CLI resolves it, plus the typed error of
// everything that can go wrong talking to it (EngineError; engineClient.ts re-exports it).
//
// docker/cli references:
//   cli/command/cli.go        resolveContextName: --context, -H, $DOCKER_HOST (→ "default"),
//                             $DOCKER_CONTEXT, config.json currentContext, else "default"
//   cli/context/store         metadata at <config>/contexts/meta/<sha256(name)>/meta.json,
//                             TLS material at <config>/contexts/tls/<sha256(name)>/docker/
//   opts/hosts.go             ParseHost: unix:// (default /var/run/docker.sock), tcp:// (port 2375,
//                             2376 with TLS), npipe:// on Windows
//   cli/flags/options.go      $DOCKER_TLS_VERIFY, $DOCKER_TLS, $DOCKER_CERT_PATH (default: config dir)
// Podman: its Docker-compatible socket is tried when the default Docker socket does not exist.
//
// Pure apart from the injected `readFile` / `exists` (defaults use node's fs synchronously; the
// files are tiny and this runs once per client).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { posix, win32 } from 'node:path';

// ---- errors ---------------------------------------------------------------------------------------

export type EngineErrorCode =
  /** No connection: socket missing, refused, permission denied, host unknown. */
  | 'ENGINE_UNREACHABLE'
  /** Connected, but no answer in time. */
  | 'ENGINE_TIMEOUT'
  /** The engine answered with an error of its own (its message is kept). */
  | 'ENGINE_ERROR'
  | 'IMAGE_NOT_FOUND'
  /** DOCKER_HOST / the Docker context names something we cannot use (ssh://, a missing context…). */
  | 'HOST_INVALID'
  | 'ABORTED';

export interface EngineErrorInit {
  code: EngineErrorCode;
  /** The one-line message: what failed, then ` — ` and what to do. */
  message: string;
  /** The engine as the user knows it (`unix:///var/run/docker.sock`, `tcp://host:2376`), if known. */
  host?: string;
  status?: number;
  /** The engine's own error message, when it sent one. */
  engineMessage?: string;
  cause?: unknown;
}

/** A failure reaching or using the Docker engine. `code` is stable; the message is one line. */
export class EngineError extends Error {
  override readonly name = 'EngineError';
  readonly code: EngineErrorCode;
  readonly host: string | undefined;
  readonly status: number | undefined;
  readonly engineMessage: string | undefined;

  constructor(init: EngineErrorInit) {
    super(oneLine(init.message), { cause: init.cause });
    this.code = init.code;
    this.host = init.host;
    this.status = init.status;
    this.engineMessage = init.engineMessage;
  }
}

export function isEngineError(value: unknown): value is EngineError {
  return value instanceof EngineError;
}

/** Collapses whitespace (newlines included) and bounds the length: engine text is untrusted. */
export function oneLine(text: string, max = 400): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

// ---- resolution -----------------------------------------------------------------------------------

export interface TlsFiles {
  /** Verify the engine's certificate (DOCKER_TLS_VERIFY, or a context without SkipTLSVerify). */
  verify: boolean;
  /** Files that may exist; the client reads those that do. */
  caFile: string;
  certFile: string;
  keyFile: string;
}

export type ResolvedHost =
  /** A unix socket (or, on Windows, a named pipe path such as `\\.\pipe\docker_engine`). */
  | { kind: 'unix'; socketPath: string; source: string }
  /** `tcp://host:port[/base]`; `tls` set when the CLI would speak TLS to it. */
  | { kind: 'tcp'; url: string; source: string; tls?: TlsFiles };

export interface ResolveDockerHostOptions {
  env: NodeJS.ProcessEnv;
  /** Returns a file's text, or undefined when it cannot be read. Default: fs.readFileSync. */
  readFile?: (path: string) => string | undefined;
  /** Default: fs.existsSync. */
  exists?: (path: string) => boolean;
  /** Default: process.platform. */
  platform?: NodeJS.Platform;
  /** Used when neither DOCKER_CONFIG nor HOME (USERPROFILE) is set. Default: the account's home. */
  homeDir?: string;
}

export const DEFAULT_UNIX_SOCKET = '/var/run/docker.sock';
export const DEFAULT_NAMED_PIPE = '\\\\.\\pipe\\docker_engine';
const DEFAULT_CONTEXT = 'default';

/** How a host is shown to users: `unix:///var/run/docker.sock`, `npipe:////./pipe/x`, `tcp://h:2376`. */
export function describeHost(host: ResolvedHost): string {
  if (host.kind === 'tcp') return host.url;
  if (host.socketPath.startsWith('\\\\')) return `npipe://${host.socketPath.replace(/\\/g, '/')}`;
  return `unix://${host.socketPath}`;
}

/**
 * Resolves the engine endpoint: $DOCKER_HOST, else the current Docker context ($DOCKER_CONTEXT,
 * else `currentContext` in config.json), else the platform default; on Linux and macOS, when the
 * default Docker socket does not exist, Podman's Docker-compatible socket if that exists.
 * `source` says where the answer came from, for messages ("DOCKER_HOST", `context "colima"`…).
 * Throws EngineError HOST_INVALID for values the CLI would refuse or we cannot use (ssh://).
 */
export function resolveDockerHost(options: ResolveDockerHostOptions): ResolvedHost {
  const { env } = options;
  const platform = options.platform ?? process.platform;
  const readFile = options.readFile ?? readFileOrUndefined;
  const exists = options.exists ?? existsSync;
  const path = platform === 'win32' ? win32 : posix;
  const configDir = dockerConfigDir(env, platform, options.homeDir, path);
  const envTls = tlsFromEnv(env, configDir, path);

  // 1. DOCKER_HOST wins over any context (the CLI then uses the "default" context).
  const dockerHost = env.DOCKER_HOST?.trim();
  if (dockerHost) {
    const parsed = parseHostUrl(dockerHost, 'DOCKER_HOST', platform, envTls);
    if (parsed) return parsed;
    // npipe:// off Windows: not usable here; fall through as if unset.
  }

  // 2. The current context.
  const fromEnv = env.DOCKER_CONTEXT?.trim();
  let contextName: string | undefined;
  let contextOrigin = '';
  if (fromEnv) {
    contextName = fromEnv;
    contextOrigin = 'DOCKER_CONTEXT';
  } else {
    const configPath = path.join(configDir, 'config.json');
    const current = readJsonObject(readFile(configPath))?.currentContext;
    if (typeof current === 'string' && current.trim() !== '') {
      contextName = current.trim();
      contextOrigin = configPath;
    }
  }
  if (contextName !== undefined && contextName !== DEFAULT_CONTEXT) {
    const hash = createHash('sha256').update(contextName).digest('hex');
    const metaPath = path.join(configDir, 'contexts', 'meta', hash, 'meta.json');
    const meta = readJsonObject(readFile(metaPath));
    const source = `context "${contextName}" (from ${contextOrigin})`;
    if (!meta) {
      const fix = contextOrigin === 'DOCKER_CONTEXT' ? 'unset DOCKER_CONTEXT' : 'run "docker context use default"';
      throw new EngineError({
        code: 'HOST_INVALID',
        message: `Docker context "${contextName}" (from ${contextOrigin}) does not exist (no readable ${metaPath}) — run "docker context ls", or ${fix}`,
      });
    }
    const endpoints = isObject(meta.Endpoints) ? meta.Endpoints : {};
    const dockerEndpoint = isObject(endpoints.docker) ? endpoints.docker : {};
    const hostValue = typeof dockerEndpoint.Host === 'string' ? dockerEndpoint.Host.trim() : '';
    if (hostValue !== '') {
      const tlsDir = path.join(configDir, 'contexts', 'tls', hash, 'docker');
      const contextTls: TlsFiles | undefined =
        exists(path.join(tlsDir, 'ca.pem')) || exists(path.join(tlsDir, 'cert.pem'))
          ? {
              verify: dockerEndpoint.SkipTLSVerify !== true,
              caFile: path.join(tlsDir, 'ca.pem'),
              certFile: path.join(tlsDir, 'cert.pem'),
              keyFile: path.join(tlsDir, 'key.pem'),
            }
          : dockerEndpoint.SkipTLSVerify === true
            ? { verify: false, caFile: '', certFile: '', keyFile: '' }
            : undefined;
      const parsed = parseHostUrl(hostValue, source, platform, contextTls);
      if (parsed) return parsed;
    }
    // A context without a docker endpoint host means the platform default, as in the CLI.
  }

  // 3. The platform default, then Podman's Docker-compatible socket.
  if (platform === 'win32') return { kind: 'unix', socketPath: DEFAULT_NAMED_PIPE, source: 'default' };
  if (!exists(DEFAULT_UNIX_SOCKET)) {
    const candidates: string[] = [];
    if (env.XDG_RUNTIME_DIR) candidates.push(posix.join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock'));
    candidates.push('/run/podman/podman.sock');
    for (const candidate of candidates) {
      if (exists(candidate)) return { kind: 'unix', socketPath: candidate, source: 'Podman socket (no Docker socket)' };
    }
  }
  return { kind: 'unix', socketPath: DEFAULT_UNIX_SOCKET, source: 'default' };
}

/** Parses a DOCKER_HOST-style URL. Undefined for npipe:// off Windows (not applicable here). */
export function parseHostUrl(
  value: string,
  source: string,
  platform: NodeJS.Platform,
  tls?: TlsFiles,
): ResolvedHost | undefined {
  const invalid = (why: string, fix = `fix ${source}`) =>
    new EngineError({ code: 'HOST_INVALID', message: `Docker host "${value}" (from ${source}) ${why} — ${fix}` });
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  // A bare "host:port" or ":port" is tcp, as in opts.ParseHost; a bare path is a socket.
  if (scheme === undefined) {
    if (value.startsWith('/')) return { kind: 'unix', socketPath: value, source };
    return parseHostUrl(`tcp://${value}`, source, platform, tls);
  }
  const rest = value.slice(scheme.length + 3);
  switch (scheme) {
    case 'unix': {
      const socketPath = rest === '' ? DEFAULT_UNIX_SOCKET : rest;
      return { kind: 'unix', socketPath, source };
    }
    case 'npipe': {
      if (platform !== 'win32') return undefined;
      const pipe = rest === '' ? DEFAULT_NAMED_PIPE : rest.replace(/\//g, '\\');
      return { kind: 'unix', socketPath: pipe, source };
    }
    case 'tcp':
    case 'http':
    case 'https': {
      let url: URL;
      try {
        url = new URL(`http://${rest}`);
      } catch {
        throw invalid('is not a valid address');
      }
      if (url.hostname === '' || url.username !== '' || url.search !== '' || url.hash !== '') {
        throw invalid('is not a valid address');
      }
      const useTls = scheme === 'https' ? (tls ?? { verify: true, caFile: '', certFile: '', keyFile: '' }) : scheme === 'http' ? undefined : tls;
      const port = url.port !== '' ? url.port : useTls ? '2376' : '2375';
      const base = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
      const normalized = `tcp://${url.hostname}:${port}${base}`;
      return useTls ? { kind: 'tcp', url: normalized, source, tls: useTls } : { kind: 'tcp', url: normalized, source };
    }
    case 'ssh':
      throw invalid('uses ssh://, which Layerlift cannot connect through', 'forward the remote socket (ssh -L /tmp/docker.sock:/var/run/docker.sock host) and set DOCKER_HOST=unix:///tmp/docker.sock');
    default:
      throw invalid(`has an unsupported scheme "${scheme}://"`, `use unix:// or tcp://, or fix ${source}`);
  }
}

function tlsFromEnv(env: NodeJS.ProcessEnv, configDir: string, path: typeof posix): TlsFiles | undefined {
  const verify = Boolean(env.DOCKER_TLS_VERIFY);
  if (!verify && !env.DOCKER_TLS) return undefined;
  const certDir = env.DOCKER_CERT_PATH || configDir;
  return {
    verify,
    caFile: path.join(certDir, 'ca.pem'),
    certFile: path.join(certDir, 'cert.pem'),
    keyFile: path.join(certDir, 'key.pem'),
  };
}

/** cli/config Dir(): $DOCKER_CONFIG, else <home>/.docker. */
function dockerConfigDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, homeDir: string | undefined, path: typeof posix): string {
  if (env.DOCKER_CONFIG) return env.DOCKER_CONFIG;
  let home = platform === 'win32' ? env.USERPROFILE : env.HOME;
  if (!home) home = homeDir;
  if (!home) {
    try {
      home = userInfo().homedir;
    } catch {
      home = '';
    }
  }
  return path.join(home, '.docker');
}

function readFileOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The CLI warns about an unreadable config.json and goes on without it; so do we. */
function readJsonObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
