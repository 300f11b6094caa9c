// Content digests ("sha256:<hex>"), validated the way Docker validates them.
//
// The grammar is OCI image-spec descriptor.md "Digests":
//   digest    ::= algorithm ":" encoded
//   algorithm ::= algorithm-component (algorithm-separator algorithm-component)*
// but the *accepted* set follows github.com/opencontainers/go-digest Digest.Validate, which
// is what Docker, containerd and distribution run: only the registered algorithms are usable,
// and their encoded part must be exactly size*2 lower-case hex characters.
import { createHash } from 'node:crypto';

/** Registered algorithms and their hex length (go-digest algorithm.go; OCI registers sha256/sha512). */
const HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

/** go-digest DigestRegexp: a well-formed digest, whether or not its algorithm is supported. */
const WELL_FORMED = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  /** The encoded part: lower-case hex. */
  hex: string;
}

/** Thrown by parseDigest. The message is one line naming the digest and the problem. */
export class InvalidDigestError extends Error {
  readonly code = 'INVALID_DIGEST';
  constructor(
    readonly digest: string,
    readonly reason: string,
  ) {
    super(`invalid digest "${truncate(digest)}": ${reason}`);
    this.name = 'InvalidDigestError';
  }
}

/** Content did not hash to the digest it was announced under (a corrupt or substituted blob). */
export class DigestMismatchError extends Error {
  readonly code = 'DIGEST_MISMATCH';
  constructor(
    readonly expected: string,
    readonly actual: string,
    /** What was being verified, e.g. "layer" or "manifest"; part of the message when given. */
    readonly subject?: string,
  ) {
    super(`${subject !== undefined ? `${subject} ` : ''}digest mismatch: expected ${expected}, got ${actual}`);
    this.name = 'DigestMismatchError';
  }
}

/**
 * Why `value` is not an acceptable digest, or undefined when it is. Mirrors go-digest
 * Digest.Validate: ErrDigestInvalidFormat / ErrDigestUnsupported / ErrDigestInvalidLength.
 */
export function digestProblem(value: string): string | undefined {
  const colon = value.indexOf(':');
  if (value === '') return 'digest is empty';
  if (colon <= 0 || colon === value.length - 1) return 'expected "algorithm:hex", e.g. "sha256:<64 hex characters>"';
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  const length = HEX_LENGTH[algorithm];
  if (length === undefined) {
    if (!WELL_FORMED.test(value)) return 'expected "algorithm:hex", e.g. "sha256:<64 hex characters>"';
    return `unsupported digest algorithm "${truncate(algorithm)}" (supported: sha256, sha384, sha512)`;
  }
  if (encoded.length !== length) return `${algorithm} digest must have ${length} hex characters, got ${encoded.length}`;
  if (!/^[a-f0-9]+$/.test(encoded)) return `${algorithm} digest must be lower-case hex (0-9, a-f)`;
  return undefined;
}

/** Whether `value` is a valid digest of a supported algorithm. */
export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && digestProblem(value) === undefined;
}

/** Splits and validates a digest; throws InvalidDigestError. */
export function parseDigest(value: string): ParsedDigest {
  const problem = digestProblem(value);
  if (problem !== undefined) throw new InvalidDigestError(value, problem);
  const colon = value.indexOf(':');
  return { algorithm: value.slice(0, colon) as DigestAlgorithm, hex: value.slice(colon + 1) };
}

/** The first 12 hex characters, as `docker images` shows IDs. Tolerates a bare hex string. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return digest.slice(colon + 1, colon + 1 + 12);
}

/** "sha256:<hex>" of the bytes. */
export function sha256Digest(bytes: Uint8Array): string {
  return computeDigest(bytes, 'sha256');
}

/** The digest of `bytes` under `algorithm` (all registered algorithms are in node:crypto). */
export function computeDigest(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/**
 * Checks bytes against the digest they were fetched by, hashing with that digest's algorithm
 * (OCI image-spec descriptor.md "Verification"). Throws DigestMismatchError.
 */
export function verifyDigest(bytes: Uint8Array, expected: string, subject?: string): void {
  const { algorithm } = parseDigest(expected);
  const actual = computeDigest(bytes, algorithm);
  if (actual !== expected) throw new DigestMismatchError(expected, actual, subject);
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
