// Typed failures of the registry client. Every error has a stable `code` that callers may switch
// on, the registry and repository it concerns, and the registry's own error body (OCI
// distribution-spec "Error Codes"), and renders as ONE line a user can act on.
import { redact } from './credentialHelper';

/** The error codes of the OCI distribution spec, plus Docker Hub's TOOMANYREQUESTS. */
export type RegistryErrorBodyCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS';

/** Our stable codes: the registry's codes plus what can fail on the way to it. */
export type RegistryErrorCode =
  | RegistryErrorBodyCode
  | 'RANGE_INVALID'
  | 'SERVER_ERROR'
  | 'UNEXPECTED_STATUS'
  | 'NETWORK'
  | 'TIMEOUT'
  | 'TLS'
  | 'INSECURE_REFUSED'
  | 'TOO_MANY_REDIRECTS'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'MANIFEST_TOO_LARGE'
  | 'TOKEN_FAILED'
  | 'PROTOCOL'
  | 'ABORTED';

export interface RegistryErrorDetail {
  code: string;
  message?: string;
  detail?: unknown;
}

export interface RegistryErrorInit {
  code: RegistryErrorCode;
  /** What we were doing, as a user would say it: "pull", "push", "mount", "inspect"... */
  operation: string;
  registry: string;
  repository?: string;
  /** The specific problem, without the registry/repository prefix. */
  problem: string;
  /** What the user can do about it. */
  hint?: string;
  status?: number;
  registryErrors?: RegistryErrorDetail[];
  /** Whether repeating the operation later can succeed (drops, 5xx, 429, timeouts). */
  retryable?: boolean;
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly code: RegistryErrorCode;
  readonly operation: string;
  readonly registry: string;
  readonly repository: string | undefined;
  readonly problem: string;
  readonly hint: string | undefined;
  readonly status: number | undefined;
  readonly registryErrors: RegistryErrorDetail[];
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;

  constructor(init: RegistryErrorInit) {
    const where = init.repository ? `${init.registry}/${init.repository}` : init.registry;
    const hint = init.hint ? ` — ${init.hint}` : '';
    // Registry and token-server text may echo what it was sent: scrub known secrets here, once.
    super(redact(`${init.operation} ${where}: ${init.problem}${hint}`), { cause: init.cause });
    this.code = init.code;
    this.operation = init.operation;
    this.registry = init.registry;
    this.repository = init.repository;
    this.problem = redact(init.problem);
    this.hint = init.hint === undefined ? undefined : redact(init.hint);
    this.status = init.status;
    this.registryErrors = init.registryErrors ?? [];
    this.retryable = init.retryable ?? false;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

export function isRegistryError(value: unknown): value is RegistryError {
  return value instanceof RegistryError;
}

/** Parses an OCI error body (`{"errors":[{code,message,detail}]}`); tolerant of junk. */
export function parseRegistryErrorBody(text: string): RegistryErrorDetail[] {
  if (text.length === 0 || text.length > 64 * 1024) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return [];
    const errors = (parsed as { errors?: unknown }).errors;
    if (!Array.isArray(errors)) return [];
    return errors
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
      .filter((e) => typeof e.code === 'string')
      .map((e) => ({
        code: String(e.code),
        message: typeof e.message === 'string' ? e.message : undefined,
        detail: e.detail,
      }));
  } catch {
    return [];
  }
}

const knownBodyCodes = new Set<string>([
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
]);

/** What a status means when the registry gave no (known) error code. */
function codeForStatus(status: number, fallback404: RegistryErrorBodyCode): RegistryErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 404) return fallback404;
  if (status === 413) return 'SIZE_INVALID';
  if (status === 416) return 'RANGE_INVALID';
  if (status === 429) return 'TOOMANYREQUESTS';
  if (status >= 500) return 'SERVER_ERROR';
  return 'UNEXPECTED_STATUS';
}

function hintFor(code: RegistryErrorCode, registry: string, repository: string | undefined, operation: string): string | undefined {
  const login = `run "docker login ${registry}" with an account that may ${operation === 'push' || operation === 'mount' || operation === 'copy' ? 'push to' : 'pull from'} ${repository ?? 'it'}`;
  switch (code) {
    case 'UNAUTHORIZED':
      return login;
    case 'DENIED':
      return `your credentials are not allowed to do this; ${login}`;
    case 'NAME_UNKNOWN':
      return 'check the repository name; it does not exist in this registry';
    case 'MANIFEST_UNKNOWN':
      return 'check the tag or digest; the registry has no such image';
    case 'BLOB_UNKNOWN':
    case 'MANIFEST_BLOB_UNKNOWN':
      return 'a layer the image refers to is missing from the registry; push the image again';
    case 'TOOMANYREQUESTS':
      return 'the registry is rate limiting; wait and retry, or log in for a higher limit';
    case 'SIZE_INVALID':
      return 'the registry refused the size; it may limit blob or manifest sizes';
    case 'SERVER_ERROR':
      return operation === 'push' || operation === 'mount' || operation === 'copy' ? 'the registry failed; retry later, layers already pushed are kept' : 'the registry failed; retry later';
    default:
      return undefined;
  }
}

/** Builds the typed error for an HTTP response the caller did not expect. */
export function errorFromResponse(input: {
  status: number;
  bodyText: string;
  operation: string;
  registry: string;
  repository?: string;
  /** The code to assume for a bare 404 (manifest vs blob vs repository). */
  notFound?: RegistryErrorBodyCode;
  /** The token server refused the actions needed: a denial, whatever the status says. */
  denied?: boolean;
  retryAfterSeconds?: number;
}): RegistryError {
  const registryErrors = parseRegistryErrorBody(input.bodyText);
  const first = registryErrors[0];
  const code: RegistryErrorCode = input.denied
    ? 'DENIED'
    : first && knownBodyCodes.has(first.code)
      ? (first.code as RegistryErrorBodyCode)
      : codeForStatus(input.status, input.notFound ?? 'NAME_UNKNOWN');
  const registryText = input.denied
    ? `requested access to the resource is denied`
    : first?.message
      ? first.message.replace(/\s+/g, ' ').slice(0, 200)
      : undefined;
  // The registry's code is data from the network: keep it to one short line.
  const shownCode = first ? first.code.replace(/\s+/g, ' ').slice(0, 64) : undefined;
  const problem = `${registryText ?? describeStatus(input.status)} (HTTP ${input.status}${shownCode ? `, ${shownCode}` : ''})`;
  return new RegistryError({
    code,
    operation: input.operation,
    registry: input.registry,
    repository: input.repository,
    problem,
    hint: hintFor(code, input.registry, input.repository, input.operation),
    status: input.status,
    registryErrors,
    retryable: input.status === 429 || input.status >= 500,
    retryAfterSeconds: input.retryAfterSeconds,
  });
}

function describeStatus(status: number): string {
  switch (status) {
    case 401:
      return 'authentication required';
    case 403:
      return 'access denied';
    case 404:
      return 'not found';
    case 429:
      return 'too many requests';
    default:
      return status >= 500 ? 'registry error' : 'unexpected response';
  }
}

/** Maps a transport failure (undici / node socket error) to a typed error. */
export function errorFromTransport(error: unknown, context: { operation: string; registry: string; repository?: string }): RegistryError {
  if (error instanceof RegistryError) return error;
  // Anything can be thrown: a DOMException has a numeric code, null has no fields at all.
  const err = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; name?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const name = typeof err.name === 'string' ? err.name : '';
  const message = typeof err.message === 'string' ? err.message : typeof error === 'string' ? error : '';
  if (name === 'TimeoutError') {
    return new RegistryError({ ...context, code: 'TIMEOUT', problem: 'timed out', hint: 'check the network, then retry', retryable: true, cause: error });
  }
  if (name === 'AbortError' || code === 'ABORT_ERR' || code === 'UND_ERR_ABORTED') {
    return new RegistryError({ ...context, code: 'ABORTED', problem: 'cancelled', cause: error });
  }
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /certificate|self[- ]signed|SSL|TLS/i.test(message) || code === 'EPROTO') {
    return new RegistryError({
      ...context,
      code: 'TLS',
      problem: `TLS failed (${code || 'handshake'}): ${message.split('\n')[0]}`,
      hint: 'fix the registry certificate, or add the registry to insecureRegistries only if you trust the network',
      cause: error,
    });
  }
  if (name === 'HTTPParserError' || code.startsWith('HPE_') || code === 'UND_ERR_HEADERS_OVERFLOW' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    // The answer is not HTTP a registry speaks: oversized headers, broken framing, lying lengths.
    const what = code === 'UND_ERR_HEADERS_OVERFLOW' ? 'response headers too large' : (message.split('\n')[0] ?? '').slice(0, 120) || 'malformed response';
    return new RegistryError({ ...context, code: 'PROTOCOL', problem: `the answer is not valid HTTP (${code || name}: ${what})`, hint: 'the registry or a proxy in front of it is broken; retry later or report it to its operator', cause: error });
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
    return new RegistryError({ ...context, code: 'TIMEOUT', problem: `timed out (${code})`, hint: 'check the network, then retry', retryable: true, cause: error });
  }
  return new RegistryError({
    ...context,
    code: 'NETWORK',
    problem: `connection failed (${code || name || 'error'}${message ? `: ${message.split('\n')[0]}` : ''})`,
    hint: 'check that the registry is reachable, then retry',
    retryable: true,
    cause: error,
  });
}
