// What the in-editor tests use besides the vscode API: polling, the launcher's page driver, and
// independent judges — the registry over plain HTTP (token flow by hand) and the engine's API.
import http from 'node:http';
import type { Context } from 'mocha';
import type { BedFacts } from './facts';
import { skipBecause } from './skip';

export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Rejects after `ms`, so a hung command fails its test with a reason instead of Mocha's timeout. */
export async function within<T>(what: string, ms: number, promise: PromiseLike<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms / 1000} s`)), ms)));
  try {
    return await Promise.race([Promise.resolve(promise), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Asks the launcher to look at (or act on) the page; see test/vscode/driverServer.ts. */
export async function ui<T = Record<string, unknown>>(facts: BedFacts, action: string, body: Record<string, unknown> = {}): Promise<T> {
  if (!facts.driver) throw new Error('no page driver in this run');
  const response = await fetch(`${facts.driver}/${action}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const answer = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(`page driver ${action}: ${answer.error ?? response.status}`);
  return answer;
}

export function needDriver(context: Context, facts: BedFacts): void {
  if (!facts.driver) skipBecause(context, 'no page driver: UI checks run only in code-server (npm test), not in desktop VS Code');
}

export function needEngine(context: Context, facts: BedFacts): void {
  if (!facts.dockerHost) skipBecause(context, `no Docker engine (${facts.noEngine ?? 'unknown'})`);
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** GET or HEAD a manifest straight from the registry (not through the proxy), with a bearer
 *  token fetched from the challenge's realm using Basic credentials. */
async function manifestRequest(facts: BedFacts, repository: string, reference: string, method: 'GET' | 'HEAD'): Promise<Response> {
  const url = `http://${facts.registry}/v2/${repository}/manifests/${reference}`;
  let response = await fetch(url, { method, headers: { accept: MANIFEST_TYPES } });
  if (response.status !== 401) return response;
  const challenge = response.headers.get('www-authenticate') ?? '';
  const params: Record<string, string | undefined> = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
  if (!params.realm) throw new Error(`${url}: 401 without a bearer challenge`);
  const tokenUrl = new URL(params.realm);
  for (const key of ['service', 'scope']) if (params[key]) tokenUrl.searchParams.set(key, params[key]);
  const basic = Buffer.from(`${facts.credentials.username}:${facts.credentials.password}`).toString('base64');
  const tokenResponse = await fetch(tokenUrl, { headers: { authorization: `Basic ${basic}` } });
  const { token, access_token: accessToken } = (await tokenResponse.json()) as { token?: string; access_token?: string };
  response = await fetch(url, { method, headers: { accept: MANIFEST_TYPES, authorization: `Bearer ${token ?? accessToken ?? ''}` } });
  return response;
}

/** The digest the registry has under repository:tag, or undefined when it has none. */
export async function registryDigest(facts: BedFacts, repository: string, tag: string): Promise<string | undefined> {
  const response = await manifestRequest(facts, repository, tag, 'HEAD');
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`HEAD ${repository}:${tag} on ${facts.registry}: HTTP ${response.status}`);
  return response.headers.get('docker-content-digest') ?? undefined;
}

export async function registryManifest(facts: BedFacts, repository: string, tag: string): Promise<{ layers: { digest: string; size: number }[] }> {
  const response = await manifestRequest(facts, repository, tag, 'GET');
  if (!response.ok) throw new Error(`GET ${repository}:${tag} on ${facts.registry}: HTTP ${response.status}`);
  return (await response.json()) as { layers: { digest: string; size: number }[] };
}

/** The engine's image id for a reference (GET /images/REF/json on its socket), or undefined. */
export async function engineImageId(facts: BedFacts, ref: string): Promise<string | undefined> {
  const socketPath = (facts.dockerHost ?? '').replace(/^unix:\/\//, '');
  return new Promise((resolve, reject) => {
    const request = http.get({ socketPath, path: `/images/${encodeURIComponent(ref)}/json` }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => (response.statusCode === 200 ? resolve((JSON.parse(body) as { Id: string }).Id) : resolve(undefined)));
    });
    request.on('error', reject);
  });
}
