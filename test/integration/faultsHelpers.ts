// Shared by the fault suites (faultsRestart, faultsDiskFull, faultsPush): real images as
// `docker save` archives (made by skopeo from the bed's fixtures, so layers are uncompressed and
// the push compresses them in the cache directory, as for an engine image), the CLI run in the
// background with a trigger, and the checks every faulty push must pass — the tag names a
// complete image whose every blob verifies, or the previous image when the push failed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { skopeo, writeFixtureImage, type FixtureSpec } from '../bed/fixtures';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { cliPath, type CliRun } from './runCli';

export interface ArchiveImage {
  /** `docker-archive:FILE` for the CLI. */
  spec: string;
}

/** An OCI fixture turned into a `docker save` archive by skopeo (uncompressed layers). */
export async function archiveImage(dir: string, name: string, spec: FixtureSpec): Promise<ArchiveImage> {
  const layout = join(dir, `${name}-layout`);
  const file = join(dir, `${name}.tar`);
  await writeFixtureImage(layout, { ...spec, tag: 'v1' });
  await skopeo(['copy', `oci:${layout}:v1`, `docker-archive:${file}:${name}:v1`]);
  return { spec: `docker-archive:${file}` };
}

export interface PushJson {
  digest: string;
  blobs: { digest: string; size: number; action: string; from: string | null }[];
  bytesUploaded: number;
}

/** Starts the CLI; `exited` resolves with its output. The test ends it by PID if it must. */
export function startCli(args: string[], env: NodeJS.ProcessEnv): { pid: number; exited: Promise<CliRun> } {
  const child = spawn(process.execPath, [cliPath, ...args], { env: { PATH: process.env.PATH, HOME: '/nonexistent-home', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  const exited = new Promise<CliRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, peakRssBytes: 0 });
    });
  });
  return { pid: child.pid ?? -1, exited };
}

export async function waitFor(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The digest a tag points at in a registry (read directly, not through any proxy). */
export async function tagDigest(registry: string, repository: string, tag: string): Promise<string | undefined> {
  const client = new RegistryClient();
  try {
    return (await client.headManifest({ registry, repository }, tag))?.digest;
  } finally {
    await client.close();
  }
}

/** Pulls the manifest back and every blob it names, each verified against its digest (the
 *  client's verifying stream fails on any mismatch); returns the digest and layer digests. */
export async function verifyTag(registry: string, repository: string, tag: string): Promise<{ digest: string; layers: string[] }> {
  const client = new RegistryClient();
  try {
    const repo = { registry, repository };
    const manifest = await client.getManifest(repo, tag);
    assert.equal(manifest.parsed.kind, 'image');
    if (manifest.parsed.kind !== 'image') return { digest: manifest.digest, layers: [] };
    const { config, layers } = manifest.parsed.manifest;
    for (const blob of [config, ...layers]) {
      const stream = await client.openBlob(repo, blob.digest, { size: blob.size });
      for await (const _ of stream) void _; // the verifying stream throws on a mismatch
    }
    return { digest: manifest.digest, layers: layers.map((l) => l.digest) };
  } finally {
    await client.close();
  }
}

/** verifyTag, and the tag names what the push reported, layer for layer. */
export async function verifyPushed(registry: string, repository: string, tag: string, pushed: PushJson): Promise<void> {
  const found = await verifyTag(registry, repository, tag);
  assert.equal(found.digest, pushed.digest, 'the tag names the pushed digest');
  assert.deepEqual(found.layers, pushed.blobs.map((b) => b.digest), 'manifest layers = pushed blobs');
}

/** A failure must be ONE line, no stack trace, saying the same command can be run again. */
export function assertResumableFailure(run: CliRun): void {
  assert.equal(run.code, 1, `stdout: ${run.stdout} stderr: ${run.stderr}`);
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  assert.match(run.stderr, /^layerlift: /);
  assert.doesNotMatch(run.stderr, /\n\s+at |internal error/);
  assert.match(run.stderr, /run the same command again|retry/i, run.stderr);
}

export const MB = 1_000_000;
