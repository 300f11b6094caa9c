// Blobs read from a local file with positional reads (BlobSource.file: compressed layers, OCI
// layout blobs), against a real Distribution: the bytes land under their digest in chunks, a
// file longer or shorter than the blob is refused before anything is committed, and a PATCH
// cut by the link is resumed from the registry's offset (the file is read again at that offset).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, copyFile, mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { startFaultProxy } from '../bed/faultProxy';
import { randomBlob } from '../bed/fixtures';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { uploadBlob, type BlobSource } from '../../server/src/registry/blobUpload';
import { isRegistryError } from '../../server/src/registry/errors';

const MiB = 1024 * 1024;

describe('uploading a blob from a file', () => {
  let registry: Registry;
  let blob: { path: string; digest: string; size: number };
  let scratch: string;
  before(async () => {
    registry = await startRegistry({ auth: 'none' });
    blob = await randomBlob({ bytes: 20 * MiB + 12345, seed: 'file-blob-upload' });
    scratch = await mkdtemp(join(tmpdir(), 'layerlift-file-blob-'));
  });
  after(async () => {
    await registry.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  const source = (path: string): BlobSource => ({
    digest: blob.digest,
    size: blob.size,
    description: path,
    file: path,
    open: () => Promise.reject(new Error('a file source is read by position, never through open()')),
  });

  test('in chunks: the registry holds the blob under its digest, every byte sent once', async () => {
    const client = new RegistryClient();
    try {
      const repo = { registry: registry.host, repository: 'file/chunks' };
      const committed: number[] = [];
      const result = await uploadBlob(client, repo, source(blob.path), { chunkSize: 4 * MiB, onProgress: (n) => committed.push(n) });
      assert.equal(result.bytesSent, blob.size);
      assert.equal(await client.headBlob(repo, blob.digest), blob.size);
      assert.deepEqual(committed.slice(0, 2), [4 * MiB, 8 * MiB]);
    } finally {
      await client.close();
    }
  });

  for (const [what, change] of [
    ['one byte longer', (path: string) => appendFile(path, 'x')],
    ['one byte shorter', (path: string) => truncate(path, blob.size - 1)],
  ] as const) {
    test(`a file ${what} than the blob: SIZE_MISMATCH, nothing committed`, async () => {
      const path = join(scratch, what.replace(/ /g, '-'));
      await copyFile(blob.path, path);
      await change(path);
      const client = new RegistryClient();
      try {
        const repo = { registry: registry.host, repository: `file/${what.replace(/ /g, '-')}` };
        await assert.rejects(uploadBlob(client, repo, source(path), { chunkSize: 4 * MiB, maxConsecutiveFailures: 0 }), (error: unknown) => isRegistryError(error) && error.code === 'SIZE_MISMATCH');
        assert.equal(await client.headBlob(repo, blob.digest), undefined);
      } finally {
        await client.close();
      }
    });
  }

  test('PATCHes cut by the link: resumed from the registry offset, the digest checked', async () => {
    const proxy = await startFaultProxy(registry.url);
    const client = new RegistryClient();
    try {
      proxy.set({ dropNext: { count: 2, match: { method: 'PATCH' } } });
      const repo = { registry: proxy.host, repository: 'file/dropped' };
      const result = await uploadBlob(client, repo, source(blob.path), { chunkSize: 4 * MiB, retryDelay: { baseDelayMs: 10, maxDelayMs: 50 } });
      assert.ok(result.resumes + result.restarts >= 1, `resumes ${result.resumes}, restarts ${result.restarts}`);
      assert.equal(await client.headBlob(repo, blob.digest), blob.size);
      // The stored bytes are the file's: read back and compared by digest through the registry.
      const stored = await client.openBlob({ registry: registry.host, repository: 'file/dropped' }, blob.digest, { size: blob.size });
      let bytes = 0;
      for await (const piece of stored) bytes += (piece as Buffer).length;
      assert.equal(bytes, blob.size);
    } finally {
      await client.close();
      await proxy.stop();
    }
  });
});
