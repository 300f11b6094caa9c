// OCI distribution-spec: a registry may announce OCI-Chunk-Min-Length; every PATCH but the
// last must be at least that long. Checked on undici's MockAgent (an edge no local registry has).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { MockAgent } from 'undici';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { uploadBlob } from '../../server/src/registry/blobUpload';

test('PATCH chunks honour OCI-Chunk-Min-Length over a smaller configured chunk size', async () => {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const origin = agent.get('https://registry.example.com');
  const data = Buffer.alloc(3 * 1024 * 1024 + 100, 7);
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const patches: { range: string; length: number }[] = [];
  let stored = 0;
  origin.intercept({ path: '/v2/team/app/blobs/uploads/', method: 'POST' }).reply(202, '', {
    headers: { location: '/v2/team/app/blobs/uploads/s1?n=0', 'oci-chunk-min-length': String(1024 * 1024) },
  });
  origin
    .intercept({ path: (p) => p.startsWith('/v2/team/app/blobs/uploads/s1'), method: 'PATCH' })
    .reply((opts) => {
      const length = Buffer.byteLength(opts.body as Buffer);
      const headers = opts.headers as Record<string, string>;
      patches.push({ range: headers['content-range'] ?? '', length });
      stored += length;
      return { statusCode: 202, data: '', responseOptions: { headers: { location: `/v2/team/app/blobs/uploads/s1?n=${stored}`, range: `0-${stored - 1}` } } };
    })
    .persist();
  origin
    .intercept({ path: (p) => p.startsWith('/v2/team/app/blobs/uploads/s1') && p.includes(`digest=${encodeURIComponent(digest)}`), method: 'PUT' })
    .reply(201, '', { headers: { 'docker-content-digest': digest } });
  const client = new RegistryClient({ dispatcher: agent });
  try {
    const result = await uploadBlob(client, { registry: 'registry.example.com', repository: 'team/app' }, { digest, size: data.length, description: 'memory', open: (offset) => Promise.resolve(Readable.from([data.subarray(offset)])) }, { chunkSize: 256 * 1024 });
    assert.equal(result.bytesSent, data.length);
    assert.deepEqual(
      patches.map((p) => p.length),
      [1024 * 1024, 1024 * 1024, 1024 * 1024, 100],
    );
    assert.equal(patches[0]?.range, `0-${1024 * 1024 - 1}`);
    assert.equal(patches[3]?.range, `${3 * 1024 * 1024}-${data.length - 1}`);
  } finally {
    await agent.close();
  }
});
