// Registry credentials from the Docker CLI config, resolved exactly as the docker CLI resolves them,
// plus a process-wide secret registry so every log and error line can be scrubbed.
//
// docker/cli references (cli/config/...):
//   config.go               Dir(): $DOCKER_CONFIG, else ~/.docker; a missing config.json is no error
//   configfile/file.go      LoadFromReader (decodes `auth`), GetCredentialsStore, GetAuthConfig,
//                           getConfiguredCredentialStore (credHelpers[host] → credsStore → file)
//   credentials/file_store.go   Get: exact key, else any key whose ConvertToHostname matches
//   credentials/native_store.go Get: helper answer overrides username/password/identity token
//   cli/command/registry.go     ResolveAuthConfig: Docker Hub's config key is IndexServer
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import {
  HELPER_PREFIX, HELPER_TIMEOUT_MS, TOKEN_USERNAME, getFromHelper, goField, isObject, isOptionalString,
  redact, registerCredentialSecrets as registerCredential, registerSecret, runHelperProcess, type RunHelper,
} from './credentialHelper';

export { HELPER_TIMEOUT_MS, redact, redactSecrets, registerSecret, runHelperProcess } from './credentialHelper';
export type { HelperInvocation, HelperOutcome, RunHelper } from './credentialHelper';

export interface Credential { username?: string; password?: string; identityToken?: string; registryToken?: string }

export interface CredentialSource {
  /** `registry` is 'docker.io' or 'host[:port]', the normalized registry of an image reference. */
  get(registry: string): Promise<Credential | undefined>;
}

export type CredentialsErrorCode = 'CREDENTIALS_CONFIG_INVALID' | 'CREDENTIALS_HELPER_FAILED';

/** One line, naming the file or helper and what to do; built from names only, never from values. */
export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
  constructor(readonly code: CredentialsErrorCode, message: string) {
    super(redact(message));
  }
}

export interface DockerConfigOptions {
  /** Environment for DOCKER_CONFIG, HOME, DOCKER_AUTH_CONFIG and the helpers' PATH. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Use this file instead of $DOCKER_CONFIG/config.json or ~/.docker/config.json. */
  configPath?: string;
  /** Runs a credential helper; default spawns it. Injected by unit tests. */
  runHelper?: RunHelper;
  /** Default 10 s. */
  helperTimeoutMs?: number;
}

/** registry.IndexServer: the key `docker login` stores Docker Hub under, and what its helper is asked for. */
export const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** ConvertToHostname (credentials/file_store.go): drop scheme, userinfo and path; keep host:port. */
export function convertToHostname(maybeURL: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(maybeURL);
  if (scheme) {
    let authority = maybeURL.slice(scheme[0].length).split(/[/?#]/, 1)[0] ?? '';
    authority = authority.slice(authority.lastIndexOf('@') + 1);
    const hostPort = /^(\[[^\]]*\]|[^:[\]]+)(?::(\d*))?$/.exec(authority);
    if (hostPort?.[1]) return hostPort[2] ? `${hostPort[1]}:${hostPort[2]}` : hostPort[1];
  }
  return maybeURL.split('/', 1)[0] ?? '';
}

/** The key docker looks credentials up by: IndexServer for Docker Hub, else the hostname[:port]. */
export function configKeyFor(registry: string): string {
  let host = registry.trim();
  if (host.includes('/')) host = convertToHostname(host);
  return DOCKER_HUB_NAMES.has(host.toLowerCase()) ? DOCKER_HUB_CONFIG_KEY : host;
}

interface AuthEntry { username: string; password: string; identityToken: string; registryToken: string }
interface DockerConfig {
  path: string;
  auths: Map<string, AuthEntry>;
  credsStore: string;
  credHelpers: Map<string, string>;
}

export function dockerConfigCredentials(options: DockerConfigOptions = {}): CredentialSource {
  const env = options.env ?? process.env;
  const path = options.configPath ?? join(dockerConfigDir(env), 'config.json');
  const run = options.runHelper ?? runHelperProcess;
  const timeoutMs = options.helperTimeoutMs ?? HELPER_TIMEOUT_MS;
  let config: Promise<DockerConfig> | undefined;
  const helperAnswers = new Map<string, Promise<AuthEntry | undefined>>();
  // DOCKER_AUTH_CONFIG (configfile/file.go GetCredentialsStore): an in-memory store in front of the
  // others, exact keys only; docker ignores it silently when it does not parse, and so do we.
  let envAuths: Map<string, AuthEntry> | undefined | null = null;

  const askHelper = (helper: string, key: string, registry: string, where: string): Promise<AuthEntry | undefined> => {
    const cacheKey = `${helper}\n${key}`;
    let answer = helperAnswers.get(cacheKey);
    if (!answer) {
      answer = getFromHelper(run, helper, key, env, timeoutMs).then((result) => {
        if (result.kind === 'not-found') return undefined;
        if (result.kind === 'failed') {
          const fix = result.reason === 'was not found on PATH' ? 'install it' : `run \`docker login ${registry}\``;
          throw new CredentialsError('CREDENTIALS_HELPER_FAILED',
            `Credential helper ${HELPER_PREFIX}${helper} (${where} in ${path}) ${result.reason} while looking up ` +
            `credentials for ${registry}; ${fix}, or remove that setting.`);
        }
        // native_store.go getCredentialsFromStore: Username "<token>" means Secret is an identity token.
        const entry = result.username === TOKEN_USERNAME
          ? { username: '', password: '', identityToken: result.secret, registryToken: '' }
          : { username: result.username, password: result.secret, identityToken: '', registryToken: '' };
        registerCredential(entry);
        return entry;
      });
      // Answers last for the process lifetime; failures are not cached so a later call can retry.
      void answer.catch(() => helperAnswers.delete(cacheKey));
      helperAnswers.set(cacheKey, answer);
    }
    return answer;
  };

  return {
    async get(registry: string): Promise<Credential | undefined> {
      const key = configKeyFor(registry);
      if (envAuths === null) envAuths = parseEnvAuthConfig(env.DOCKER_AUTH_CONFIG);
      const fromEnv = envAuths?.get(key);
      if (fromEnv) return toCredential(fromEnv);

      if (!config) {
        const loading = loadDockerConfig(path);
        // Read once; but after an error, a fixed file is picked up on the next call.
        void loading.catch(() => {
          if (config === loading) config = undefined;
        });
        config = loading;
      }
      const file = await config;
      const stored = fileStoreGet(file.auths, key);
      // getConfiguredCredentialStore: a credHelpers entry exists → it decides (even "" = file store).
      const helper = file.credHelpers.has(key) ? file.credHelpers.get(key) ?? '' : file.credsStore;
      if (helper === '') return toCredential(stored);
      const where = file.credHelpers.has(key) ? `credHelpers["${key}"]` : 'credsStore';
      const fromHelper = await askHelper(helper, key, registry, where);
      // nativeStore.Get: the file entry survives only in what the helper does not set (registrytoken).
      return toCredential({
        username: fromHelper?.username ?? '',
        password: fromHelper?.password ?? '',
        identityToken: fromHelper?.identityToken ?? '',
        registryToken: stored?.registryToken ?? '',
      });
    },
  };
}

/** Credentials held in memory (e.g. VS Code SecretStorage); keys are registries in any form docker accepts. */
export function staticCredentials(map: Record<string, Credential>): CredentialSource {
  const byKey = new Map<string, Credential>();
  for (const [registry, credential] of Object.entries(map)) {
    byKey.set(configKeyFor(registry), { ...credential });
    registerCredential(credential);
  }
  return {
    get(registry: string): Promise<Credential | undefined> {
      const found = byKey.get(configKeyFor(registry));
      return Promise.resolve(found ? { ...found } : undefined);
    },
  };
}

/** The first source that has an answer wins; an error from a source is not swallowed. */
export function chainCredentials(...sources: CredentialSource[]): CredentialSource {
  return {
    async get(registry: string): Promise<Credential | undefined> {
      for (const source of sources) {
        const found = await source.get(registry);
        if (found) return found;
      }
      return undefined;
    },
  };
}

// ---- config file ---------------------------------------------------------------------------------

function dockerConfigDir(env: NodeJS.ProcessEnv): string {
  if (env.DOCKER_CONFIG) return env.DOCKER_CONFIG;
  // homedir.Get(): $HOME (USERPROFILE on Windows), else the account's home directory.
  let home = process.platform === 'win32' ? env.USERPROFILE : env.HOME;
  if (!home) {
    try {
      home = userInfo().homedir;
    } catch {
      home = '';
    }
  }
  return join(home, '.docker');
}

async function loadDockerConfig(path: string): Promise<DockerConfig> {
  const invalid = (what: string) => new CredentialsError('CREDENTIALS_CONFIG_INVALID',
    `Docker config ${path} ${what}; fix it, remove it, or point DOCKER_CONFIG at another directory.`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = isObject(err) && typeof err.code === 'string' ? err.code : 'unknown error';
    // config.go load(): a missing file means "no credentials".
    if (code === 'ENOENT') return { path, auths: new Map(), credsStore: '', credHelpers: new Map() };
    throw invalid(`cannot be read (${code})`);
  }
  const parsed = parseConfigText(text, (what) => invalid(what));
  return { path, ...parsed };
}

/** Parses config.json text; errors name locations only, never values (the text is full of secrets). */
function parseConfigText(text: string, invalid: (what: string) => Error): Omit<DockerConfig, 'path'> {
  let root: unknown = {};
  // LoadFromReader tolerates an empty file (io.EOF).
  if (text.trim() !== '') {
    try {
      root = JSON.parse(text);
    } catch (err) {
      // V8's message quotes the text around the error, so only its line/column is kept.
      const message = err instanceof Error ? err.message : '';
      const where = (/line \d+ column \d+/.exec(message) ?? /position \d+/.exec(message))?.[0];
      throw invalid(`is not valid JSON${where ? ` (${where})` : ''}`);
    }
  }
  if (!isObject(root)) throw invalid('is not a JSON object');
  const auths = new Map<string, AuthEntry>();
  const rawAuths = goField(root, 'auths');
  if (rawAuths !== undefined && rawAuths !== null && !isObject(rawAuths)) throw invalid('has an "auths" that is not an object');
  for (const [key, raw] of Object.entries(rawAuths ?? {})) {
    auths.set(key, parseAuthEntry(raw, (what) => invalid(`has auths["${key}"] ${what}`)));
  }
  const credsStore = goField(root, 'credsStore');
  if (!isOptionalString(credsStore)) throw invalid('has a "credsStore" that is not a string');
  const credHelpers = new Map<string, string>();
  const rawHelpers = goField(root, 'credHelpers');
  if (rawHelpers !== undefined && rawHelpers !== null && !isObject(rawHelpers)) throw invalid('has a "credHelpers" that is not an object');
  for (const [key, helper] of Object.entries(rawHelpers ?? {})) {
    if (!isOptionalString(helper)) throw invalid(`has credHelpers["${key}"] that is not a string`);
    credHelpers.set(key, helper ?? '');
  }
  return { auths, credsStore: credsStore ?? '', credHelpers };
}

function parseAuthEntry(raw: unknown, invalid: (what: string) => Error): AuthEntry {
  if (raw === null) return { username: '', password: '', identityToken: '', registryToken: '' };
  if (!isObject(raw)) throw invalid('that is not an object');
  const text = (name: string): string => {
    const value = goField(raw, name);
    if (!isOptionalString(value)) throw invalid(`with a "${name}" that is not a string`);
    return value ?? '';
  };
  const entry = {
    username: text('username'), password: text('password'),
    identityToken: text('identitytoken'), registryToken: text('registrytoken'),
  };
  const auth = text('auth');
  if (auth !== '') {
    registerSecret(auth); // as written in the file, before anything can fail
    const decoded = decodeAuth(auth);
    if (!decoded) throw invalid('with an "auth" that is not base64 of "user:password"; run docker login again');
    entry.username = decoded.username;
    entry.password = decoded.password;
  }
  registerCredential(entry);
  return entry;
}

/** decodeAuth (configfile/file.go): strict padded base64 of "user:password", user not empty. */
function decodeAuth(auth: string): { username: string; password: string } | undefined {
  const compact = auth.replace(/[\r\n]/g, ''); // Go's decoder skips newlines, nothing else
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined;
  const decoded = Buffer.from(compact, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1).replace(/^\0+|\0+$/g, '') };
}

function parseEnvAuthConfig(value: string | undefined): Map<string, AuthEntry> | undefined {
  if (!value) return undefined;
  try {
    return parseConfigText(value, (what) => new Error(what)).auths;
  } catch {
    return undefined;
  }
}

/** fileStore.Get: the exact key, else the first key whose hostname is the one asked for. */
function fileStoreGet(auths: Map<string, AuthEntry>, key: string): AuthEntry | undefined {
  const exact = auths.get(key);
  if (exact) return exact;
  // Go iterates the map in random order; file order is at least deterministic.
  for (const [stored, entry] of auths) {
    if (convertToHostname(stored) === key) return entry;
  }
  return undefined;
}

function toCredential(entry: AuthEntry | undefined): Credential | undefined {
  if (!entry) return undefined;
  const credential: Credential = {};
  if (entry.username) credential.username = entry.username;
  if (entry.password) credential.password = entry.password;
  if (entry.identityToken) credential.identityToken = entry.identityToken;
  if (entry.registryToken) credential.registryToken = entry.registryToken;
  return Object.keys(credential).length > 0 ? credential : undefined;
}
