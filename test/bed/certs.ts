// The key pair the test token server signs its JWTs with, made by openssl so the registry
// (Go crypto/x509) and node:crypto both read exactly what a real deployment would hand them.
//
// Distribution's token auth ("Token Authentication Implementation", auth.token.rootcertbundle)
// trusts a JWT when the certificate chain in its `x5c` header verifies against the root bundle.
// A single self-signed certificate is both the bundle and the whole `x5c` chain.
import { execFile } from 'node:child_process';
import { X509Certificate, createSign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SigningCert {
  /** PEM RSA private key (openssl genrsa). */
  readonly keyPath: string;
  /** PEM self-signed certificate: the registry's `auth.token.rootcertbundle`. */
  readonly certPath: string;
  readonly privateKeyPem: string;
  readonly certPem: string;
  /** Standard base64 (not base64url) of the DER certificate: the JWT header's `x5c[0]` (RFC 7515 §4.1.6). */
  readonly certDerBase64: string;
}

/** Writes key.pem and cert.pem into `dir` (which the caller owns and removes). */
export async function makeSigningCert(dir: string): Promise<SigningCert> {
  const keyPath = join(dir, 'token-key.pem');
  const certPath = join(dir, 'token-cert.pem');
  await run('openssl', ['genrsa', '-out', keyPath, '2048']);
  // Two days of validity: Go's x509 verification checks NotBefore/NotAfter.
  await run('openssl', [
    'req', '-x509', '-new', '-key', keyPath, '-out', certPath,
    '-days', '2', '-subj', '/CN=layerlift-test-token',
  ]);
  const [privateKeyPem, certPem] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
  const certDerBase64 = new X509Certificate(certPem).raw.toString('base64');
  return { keyPath, certPath, privateKeyPem, certPem, certDerBase64 };
}

export function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A compact JWS (RFC 7515 §7.1) signed with RS256, carrying the certificate in `x5c`. */
export function signJwt(cert: SigningCert, claims: Record<string, unknown>): string {
  const header = { typ: 'JWT', alg: 'RS256', x5c: [cert.certDerBase64] };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(cert.privateKeyPem);
  return `${signingInput}.${base64url(signature)}`;
}
