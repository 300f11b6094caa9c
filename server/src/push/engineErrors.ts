// An engine's push failure (the `errorDetail` of its message stream) as the same typed, one-line
// RegistryError Layerlift's own uploader throws: a code to switch on, the registry and
// repository, the problem in the engine's words, and what to do. The engine's words come from
// distribution's errcode text (`denied: …`, `unauthorized: …`, `toomanyrequests: …`) or from Go's
// HTTP client (`received unexpected HTTP status: 503 …`, `connection refused`, `EOF`).
import { RegistryError, type RegistryErrorCode } from '../registry/errors';
import { redact } from '../registry/credentials';
import type { RepositoryRef } from '../registry/registryClient';

interface Rule {
  test: RegExp;
  code: RegistryErrorCode;
  retryable?: boolean;
  hint: (where: RepositoryRef, engine: string) => string;
}

const RESUME = 'run the same command again (layers already sent are kept), or add --uploader layerlift to resume where it stopped';

const rules: Rule[] = [
  // `denied:` is distribution's errcode (a local "permission denied" is not a registry's refusal);
  // a proxy's HTML 403 says only its status.
  { test: /requested access to the resource is denied|(^|\s)denied:|\b403\b|forbidden/i, code: 'DENIED', hint: (w) => `you may not push to ${w.registry}/${w.repository}: log in with an account that may ("docker login ${w.registry}"), or check the repository name` },
  { test: /unauthorized|authentication required|invalid username\/password|unable to retrieve auth token|bad credentials/i, code: 'UNAUTHORIZED', hint: (w) => `run "docker login ${w.registry}" (the engine got the same login Layerlift uses)` },
  { test: /toomanyrequests|too many requests|\b429\b/i, code: 'TOOMANYREQUESTS', retryable: true, hint: () => 'the registry limits requests: wait a few minutes, then run the same command again' },
  { test: /\b413\b|request entity too large|too large|exceeds.*(size|limit)|size limit/i, code: 'SIZE_INVALID', hint: () => 'the registry (or a proxy in front of it) refuses blobs this large: raise its limit, or split the layer' },
  { test: /gave HTTP response to HTTPS client/i, code: 'TLS', hint: (w, e) => `the registry speaks plain HTTP: add ${w.registry} to the ${e}'s insecure registries, or add --uploader layerlift` },
  { test: /x509|certificate|tls:/i, code: 'TLS', hint: (w, e) => `the ${e} does not trust ${w.registry}'s certificate: install its CA for the ${e}, or add --uploader layerlift with the CA` },
  { test: /unexpected HTTP status: 5\d\d|\b50[0-4]\b|internal server error|bad gateway|service unavailable|gateway time/i, code: 'SERVER_ERROR', retryable: true, hint: () => RESUME },
  { test: /connection refused|connection reset|broken pipe|\bEOF\b|i\/o timeout|no such host|network is unreachable|timeout|use of closed network connection/i, code: 'NETWORK', retryable: true, hint: () => RESUME },
  { test: /blob upload (unknown|invalid)/i, code: 'BLOB_UPLOAD_UNKNOWN', retryable: true, hint: () => RESUME },
  { test: /manifest invalid|manifest blob unknown/i, code: 'MANIFEST_INVALID', hint: () => 'the registry refused the image manifest: check that it accepts Docker v2 / OCI images' },
  { test: /name invalid|repository name must/i, code: 'NAME_INVALID', hint: () => 'check the target name: lowercase letters, digits and separators' },
];

/** `engine` is 'Docker engine' or 'Podman service': whose settings a hint points at. */
export function engineFailure(message: string, where: RepositoryRef, engine: string): RegistryError {
  // Secrets out first: folding whitespace or cutting the text could split a registered secret.
  const text = redact(message).replace(/\s+/g, ' ').trim().slice(0, 400);
  const rule = rules.find((r) => r.test.test(text));
  return new RegistryError({
    code: rule?.code ?? 'UNEXPECTED_STATUS',
    operation: 'push',
    ...where,
    problem: `the ${engine}'s push failed: ${text}`,
    hint: rule ? rule.hint(where, engine) : 'see the message; run the same command again, or add --uploader layerlift',
    retryable: rule?.retryable ?? false,
  });
}
