// The registry client against the real Distribution registry: open, htpasswd and token auth.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startRegistry, type Registry } from '../bed/registry';
import { seedImage, writeFixtureImage, type FixtureImage } from '../bed/fixtures';
import { makeTempDir } from '../bed/process';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { uploadBlob } from '../../server/src/registry/blobUpload';
import { dockerConfigCredentials, staticCredentials } from '../../server/src/registry/credentials';
import { RegistryError } from '../../server/src/registry/errors';

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function bufferSource(data: Buffer, description = 'memory') {
  return { digest: sha256(data), size: data.length, description, open: (offset: number) => Promise.resolve(Readable.from([data.subarray(offset)])) };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

let fixture: FixtureImage;
let layoutDir: { path: string; remove: () => Promise<void> };

before(async () => {
  layoutDir = await makeTempDir('client-fixture');
  fixture = await writeFixtureImage(layoutDir.path, { layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 3_000_000, seed: 'client-1' }], tag: 'v1' });
});
after(async () => {
  await layoutDir.remove();
});

describe('open registry', () => {
  let registry: Registry;
  let client: RegistryClient;
  before(async () => {
    registry = await startRegistry({ auth: 'none' });
    await seedImage(fixture.layoutDir, 'v1', registry.host, 'library/base');
    client = new RegistryClient();
  });
  after(async () => {
    await client.close();
    await registry.stop();
  });
  const repo = () => ({ registry: registry.host, repository: 'library/base' });

  test('GET manifest by tag and by digest verifies the digest', async () => {
    const byTag = await client.getManifest(repo(), 'v1');
    assert.equal(byTag.digest, fixture.manifestDigest);
    assert.equal(byTag.parsed.kind, 'image');
    const byDigest = await client.getManifest(repo(), fixture.manifestDigest);
    assert.deepEqual(byDigest.bytes, byTag.bytes);
    const head = await client.headManifest(repo(), 'v1');
    assert.equal(head?.digest, fixture.manifestDigest);
    assert.equal(await client.headManifest(repo(), 'nope'), undefined);
  });

  test('a missing tag is a MANIFEST_UNKNOWN error in one line', async () => {
    const error = await client.getManifest(repo(), 'missing').catch((e: unknown) => e);
    assert.ok(error instanceof RegistryError);
    assert.equal(error.code, 'MANIFEST_UNKNOWN');
    assert.equal(error.status, 404);
    assert.match(error.message, new RegExp(`^pull ${registry.host.replace('.', '\\.')}/library/base: `));
    assert.ok(!error.message.includes('\n'));
  });

  test('blobs: HEAD, verified GET, ranged GET', async () => {
    const layer = fixture.layers[1];
    assert.ok(layer);
    assert.equal(await client.headBlob(repo(), layer.digest), layer.size);
    assert.equal(await client.headBlob(repo(), `sha256:${'0'.repeat(64)}`), undefined);
    const whole = await readAll(await client.openBlob(repo(), layer.digest, { size: layer.size }));
    assert.equal(sha256(whole), layer.digest);
    const tail = await readAll(await client.openBlob(repo(), layer.digest, { offset: 1000 }));
    assert.deepEqual(tail, whole.subarray(1000));
    // A wrong expected size is caught by the verifying stream.
    await assert.rejects(readAll(await client.openBlob(repo(), layer.digest, { size: layer.size + 1 })), { code: 'SIZE_MISMATCH' });
  });

  test('monolithic and chunked uploads land byte for byte', async () => {
    const target = { registry: registry.host, repository: 'team/uploads' };
    const small = Buffer.from('small blob '.repeat(100));
    const big = createHash('sha512').update('x').digest();
    const large = Buffer.concat(Array.from({ length: 40_000 }, (_, i) => Buffer.concat([big, Buffer.from([i & 255])])));
    const progress: number[] = [];
    const smallResult = await uploadBlob(client, target, bufferSource(small));
    assert.equal(smallResult.bytesSent, small.length);
    const largeResult = await uploadBlob(client, target, bufferSource(large), { chunkSize: 256 * 1024, onProgress: (n) => progress.push(n) });
    assert.equal(largeResult.bytesSent, large.length);
    assert.ok(progress.length >= Math.floor(large.length / (256 * 1024)), `progress events: ${progress.length}`);
    assert.equal(progress.at(-1), large.length);
    assert.equal(await client.headBlob(target, sha256(large)), large.length);
    assert.deepEqual(await readAll(await client.openBlob(target, sha256(large), { size: large.length })), large);
  });

  test('a source that lies about its digest is refused and nothing is committed', async () => {
    const target = { registry: registry.host, repository: 'team/uploads' };
    const data = Buffer.from('the real bytes');
    const liar = { ...bufferSource(data), digest: sha256(Buffer.from('other bytes')) };
    await assert.rejects(uploadBlob(client, target, liar), { code: 'DIGEST_MISMATCH' });
    assert.equal(await client.headBlob(target, liar.digest), undefined);
  });

  test('PUT manifest keeps the bytes and digest', async () => {
    const source = await client.getManifest(repo(), 'v1');
    const target = { registry: registry.host, repository: 'library/base' };
    const digest = await client.putManifest(target, 'copy', source.bytes, source.mediaType);
    assert.equal(digest, fixture.manifestDigest);
    assert.equal((await client.headManifest(target, 'copy'))?.digest, fixture.manifestDigest);
  });
});

describe('htpasswd registry with Docker config credentials', () => {
  let registry: Registry;
  let config: { path: string; remove: () => Promise<void> };
  before(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: { alice: 's3cret-basic-pw' } });
    config = await makeTempDir('docker-config');
    const auth = Buffer.from('alice:s3cret-basic-pw').toString('base64');
    await writeFile(join(config.path, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
  });
  after(async () => {
    await registry.stop();
    await config.remove();
  });

  test('pushes with credentials from DOCKER_CONFIG', async () => {
    const client = new RegistryClient({ credentials: dockerConfigCredentials({ env: { DOCKER_CONFIG: config.path } }) });
    try {
      const data = Buffer.from('basic auth blob');
      await uploadBlob(client, { registry: registry.host, repository: 'team/app' }, bufferSource(data));
      assert.equal(await client.headBlob({ registry: registry.host, repository: 'team/app' }, sha256(data)), data.length);
    } finally {
      await client.close();
    }
  });

  test('without credentials: UNAUTHORIZED naming the registry and docker login, no secret', async () => {
    const client = new RegistryClient();
    try {
      const error = await client.headBlob({ registry: registry.host, repository: 'team/app' }, `sha256:${'1'.repeat(64)}`).catch((e: unknown) => e);
      assert.ok(error instanceof RegistryError);
      assert.equal(error.code, 'UNAUTHORIZED');
      assert.match(error.message, /docker login 127\.0\.0\.1:\d+/);
    } finally {
      await client.close();
    }
  });
});

describe('token registry', () => {
  let registry: Registry;
  const password = 'tok-pw-Zq81';
  before(async () => {
    registry = await startRegistry({
      auth: 'token',
      users: { alice: password, bob: 'bob-pw' },
      acl: [
        { account: 'alice', name: '*', actions: ['pull', 'push'] },
        { account: 'bob', name: 'team/*', actions: ['pull'] },
        { account: '*anonymous*', name: 'public/*', actions: ['pull'] },
      ],
    });
    await seedImage(fixture.layoutDir, 'v1', registry.host, 'public/base', { creds: { username: 'alice', password } });
  });
  after(async () => {
    await registry.stop();
  });

  test('anonymous pull where the ACL allows it', async () => {
    const client = new RegistryClient();
    try {
      const manifest = await client.getManifest({ registry: registry.host, repository: 'public/base' }, 'v1');
      assert.equal(manifest.digest, fixture.manifestDigest);
    } finally {
      await client.close();
    }
  });

  test('mount within the registry asks for exactly dst pull,push + src pull, and sends no blob bytes', async () => {
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'alice', password } }) });
    try {
      const layer = fixture.layers[1];
      assert.ok(layer);
      const tokens = registry.tokenServer?.requests ?? [];
      tokens.length = 0;
      const result = await client.startUpload({ registry: registry.host, repository: 'team/app' }, { digest: layer.digest, from: 'public/base' });
      assert.equal(result.mounted, true);
      assert.equal(await client.headBlob({ registry: registry.host, repository: 'team/app' }, layer.digest), layer.size);
      const scopes = tokens.map((t) => [...t.scopes].sort().join(' '));
      assert.ok(scopes.includes('repository:public/base:pull repository:team/app:pull,push'), `token scopes asked: ${JSON.stringify(scopes)}`);
      // Minimum scopes: nothing beyond pull/push on these two repositories was ever asked for.
      assert.ok(tokens.every((t) => t.scopes.every((s) => /^repository:(public\/base|team\/app):(pull|pull,push)$/.test(s))), JSON.stringify(scopes));
      assert.ok(tokens.every((t) => !JSON.stringify(t).includes(password)));
    } finally {
      await client.close();
    }
  });

  test('a user without push rights gets a one-line DENIED, with no secret in it', async () => {
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'bob', password: 'bob-pw' } }) });
    try {
      const error = await uploadBlob(client, { registry: registry.host, repository: 'team/app' }, bufferSource(Buffer.from('bob was here'))).catch((e: unknown) => e);
      assert.ok(error instanceof RegistryError, String(error));
      assert.equal(error.code, 'DENIED');
      assert.match(error.message, /^push 127\.0\.0\.1:\d+\/team\/app: requested access to the resource is denied/);
      assert.ok(!error.message.includes('\n'));
      assert.ok(!error.message.includes('bob-pw'));
    } finally {
      await client.close();
    }
  });

  test('wrong password: UNAUTHORIZED from the token server', async () => {
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'alice', password: 'wrong-pw-123' } }) });
    try {
      const error = await client.getManifest({ registry: registry.host, repository: 'public/base' }, 'v1').catch((e: unknown) => e);
      assert.ok(error instanceof RegistryError, String(error));
      assert.equal(error.code, 'UNAUTHORIZED');
      assert.ok(!error.message.includes('wrong-pw-123'));
    } finally {
      await client.close();
    }
  });

  test('tokens are cached: many requests, one token fetch per scope set', async () => {
    const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'alice', password } }) });
    try {
      const tokens = registry.tokenServer?.requests ?? [];
      tokens.length = 0;
      for (let i = 0; i < 5; i++) await client.headManifest({ registry: registry.host, repository: 'public/base' }, 'v1');
      assert.equal(tokens.length, 1);
    } finally {
      await client.close();
    }
  });
});
