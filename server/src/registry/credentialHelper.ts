// Talking to Docker credential helpers (`docker-credential-<name>`), the way the docker CLI does.
//
// Protocol (docker/docker-credential-helpers client/client.go `Get`): run the program with the single
// argument `get`, write the server URL to its stdin (no newline), read stdout. Exit 0 → stdout is
// JSON `{"ServerURL": …, "Username": …, "Secret": …}`. Non-zero exit → stdout holds an error message;
// the exact text "credentials not found in native keychain" means "nothing stored", which docker
// treats as "no credentials" rather than as an error (cli/config/credentials/native_store.go
// `getCredentialsFromStore`).
//
// This module only runs the program and classifies the answer; the caller (credentials.ts) turns
// failures into `CredentialsError`s. It also holds the process-wide secret registry, which
// credentials.ts re-exports, so that both sides can scrub without importing each other. Nothing here ever copies the helper's stdout into a reason string: on
// failure that stdout may be a half-written secret, and docker's own habit of quoting it
// (`error getting credentials - err: …, out: …`) is exactly what we must not copy.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** docker/cli cli/config/credentials/native_store.go `remoteCredentialsPrefix`. */
export const HELPER_PREFIX = 'docker-credential-';
/** The helper's Username when Secret is an identity token (native_store.go `tokenUsername`). */
export const TOKEN_USERNAME = '<token>';
/** docker-credential-helpers credentials/error.go `errCredentialsNotFoundMessage`. */
export const NOT_FOUND_MESSAGE = 'credentials not found in native keychain';
/** Docker sets no timeout at all; a helper stuck on a locked keychain must not hang a push forever. */
export const HELPER_TIMEOUT_MS = 10_000;
/** A credentials answer is a few hundred bytes; anything this large is not one. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

export interface HelperInvocation {
  /** Program name, looked up on `env.PATH` (e.g. `docker-credential-osxkeychain`). */
  program: string;
  args: string[];
  stdin: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

export interface HelperOutcome {
  exitCode: number | null;
  signal?: string | null;
  stdout: string;
  stderr: string;
  /** Set when the program did not run to completion. */
  failure?: 'not-found' | 'timeout' | 'spawn-error';
  /** errno code for `spawn-error` (EACCES, …): safe to show, it holds no output. */
  errorCode?: string;
}

export type RunHelper = (invocation: HelperInvocation) => Promise<HelperOutcome>;

export type HelperAnswer =
  | { kind: 'found'; username: string; secret: string }
  | { kind: 'not-found' }
  /** `reason` completes "docker-credential-x …" and never contains helper output. */
  | { kind: 'failed'; reason: string };

/**
 * Runs a helper as a child process. Never rejects: every way of failing is an outcome. The
 * environment is passed whole, like Go's exec.Command does, and node resolves the program on
 * `env.PATH` of that environment (not ours), which lets tests put a fake helper on PATH.
 */
export function runHelperProcess(invocation: HelperInvocation): Promise<HelperOutcome> {
  return new Promise<HelperOutcome>((resolve) => {
    let settled = false;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let outBytes = 0;
    const finish = (outcome: Omit<HelperOutcome, 'stdout' | 'stderr'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer); // only ever called from events, which come after `timer` is set below
      resolve({
        ...outcome,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    };

    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(invocation.program, invocation.args, {
        env: invocation.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (err) {
      resolve({ exitCode: null, stdout: '', stderr: '', failure: 'spawn-error', errorCode: errnoCode(err) });
      return;
    }
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes <= MAX_OUTPUT_BYTES) into.push(chunk);
    };
    child.stdout.on('data', collect(stdout));
    child.stderr.on('data', collect(stderr));
    child.on('error', (err) => {
      const code = errnoCode(err);
      finish({ exitCode: null, failure: code === 'ENOENT' ? 'not-found' : 'spawn-error', errorCode: code });
    });
    child.on('close', (exitCode, signal) => finish({ exitCode, signal }));
    const timer = setTimeout(() => {
      // Kill only the child we started, by its handle. If it left grandchildren holding the pipes,
      // destroying our ends keeps them from holding this process too.
      child.kill('SIGKILL');
      child.stdout.destroy();
      child.stderr.destroy();
      finish({ exitCode: null, failure: 'timeout' });
    }, invocation.timeoutMs);
    // A helper may exit without reading stdin (EPIPE); its exit status tells the story instead.
    child.stdin.on('error', () => undefined);
    child.stdin.end(invocation.stdin);
  });
}

/** `docker-credential-<helper> get` for `serverURL`, classified like docker's client.Get. */
export async function getFromHelper(
  run: RunHelper,
  helper: string,
  serverURL: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<HelperAnswer> {
  let outcome: HelperOutcome;
  try {
    outcome = await run({ program: HELPER_PREFIX + helper, args: ['get'], stdin: serverURL, env, timeoutMs });
  } catch (err) {
    return { kind: 'failed', reason: `could not be run (${errnoCode(err) ?? 'unexpected error'})` };
  }
  switch (outcome.failure) {
    case 'not-found':
      return { kind: 'failed', reason: 'was not found on PATH' };
    case 'timeout':
      return { kind: 'failed', reason: `did not answer within ${formatSeconds(timeoutMs)}` };
    case 'spawn-error':
      return { kind: 'failed', reason: `could not be started (${outcome.errorCode ?? 'unknown error'})` };
    case undefined:
      break;
  }
  if (outcome.exitCode !== 0) {
    // client.Get compares the trimmed stdout with the exact message. Helpers built on
    // credentials.Serve print it on stdout; accepting it on stderr too costs nothing.
    if (outcome.stdout.trim() === NOT_FOUND_MESSAGE || outcome.stderr.trim() === NOT_FOUND_MESSAGE) {
      return { kind: 'not-found' };
    }
    const how = outcome.exitCode !== null ? `code ${outcome.exitCode}` : `signal ${outcome.signal ?? 'unknown'}`;
    return { kind: 'failed', reason: `exited with ${how}` };
  }
  return parseAnswer(outcome.stdout);
}

function parseAnswer(stdout: string): HelperAnswer {
  const invalid: HelperAnswer = { kind: 'failed', reason: 'answered with something that is not credentials JSON' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    return invalid;
  }
  if (!isObject(parsed)) return invalid;
  // Go's encoding/json matches field names case-insensitively; so do we.
  const username = goField(parsed, 'Username');
  const secret = goField(parsed, 'Secret');
  if (!isOptionalString(username) || !isOptionalString(secret)) return invalid;
  return { kind: 'found', username: username ?? '', secret: secret ?? '' };
}

/** A JSON object field the way Go's decoder finds it: case-insensitively, last one wins. */
export function goField(object: Record<string, unknown>, name: string): unknown {
  const wanted = name.toLowerCase();
  let found: unknown;
  for (const [key, value] of Object.entries(object)) {
    if (key.toLowerCase() === wanted) found = value;
  }
  return found;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Go decodes JSON null into a string as "leave it empty". */
export function isOptionalString(value: unknown): value is string | undefined | null {
  return value === undefined || value === null || typeof value === 'string';
}

function errnoCode(err: unknown): string | undefined {
  if (isObject(err) && typeof err.code === 'string') return err.code;
  return undefined;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

// ---- secret registry (re-exported by credentials.ts) ------------------------------------------

const REDACTED = '***';
const secrets = new Set<string>();
/** The secrets, longest first; undefined when one was added since. */
let ordered: string[] | undefined;

/**
 * Replaces every occurrence of every secret, longest first, with ***. Plain substring search,
 * not one regular expression of them all: tokens are long (a JWT is ~1 KB, registered in three
 * encodings), and compiling that alternation cost 12 ms of the first push's critical path every
 * time a token was added (V8 CPU profile of the bench's first push; every RegistryError redacts).
 */
export function redactSecrets(text: string, values: string[]): string {
  return replaceAll(text, longestFirst(values));
}

/** Remembers a secret for `redact`, with its URL-encoded forms (tokens travel in form bodies). */
export function registerSecret(value: string | undefined): void {
  if (!value) return;
  const formEncoded = new URLSearchParams({ s: value }).toString().slice(2);
  for (const form of [value, encodeURIComponent(value), formEncoded]) {
    if (!secrets.has(form)) {
      secrets.add(form);
      ordered = undefined;
    }
  }
}

/** Registers what a credential would leak: password, tokens and the Basic header value sent on the wire. */
export function registerCredentialSecrets(credential: {
  username?: string; password?: string; identityToken?: string; registryToken?: string;
}): void {
  registerSecret(credential.password);
  registerSecret(credential.identityToken);
  registerSecret(credential.registryToken);
  if (credential.username !== undefined && credential.password) {
    registerSecret(Buffer.from(`${credential.username}:${credential.password}`).toString('base64'));
  }
}

/** Scrubs every registered secret from a log or error line. */
export function redact(text: string): string {
  if (secrets.size === 0) return text;
  ordered ??= longestFirst([...secrets]);
  return replaceAll(text, ordered);
}

function longestFirst(values: string[]): string[] {
  return [...new Set(values.filter((value) => value.length > 0))].sort((a, b) => b.length - a.length);
}

function replaceAll(text: string, values: readonly string[]): string {
  let out = text;
  for (const value of values) if (out.includes(value)) out = out.split(value).join(REDACTED);
  return out;
}
