// A pushed layer's files from its registry blob: gunzipped, files hashed, cached by blob digest
// (a second ask opens no blob), a failed read not cached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { tarBytes as layerTar } from '../bed/tarBytes';
import { clearRegistryLayerFiles, readRegistryLayerFiles } from '../../server/src/insight/registryLayerFiles';


const repo = { registry: 'localhost:5000', repository: 'team/app' };

void test('a gzip layer blob is listed once and cached by digest', async () => {
  clearRegistryLayerFiles();
  const blob = gzipSync(await layerTar({ 'app/main.py': 'print(1)\n', 'app/README.md': 'hi\n' }));
  let opened = 0;
  const client = { openBlob: () => { opened++; return Promise.resolve(Readable.from([blob])); } };
  const descriptor = { digest: 'sha256:aa', size: blob.length, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' };
  const first = await readRegistryLayerFiles(client, repo, descriptor);
  const second = await readRegistryLayerFiles(client, repo, descriptor);
  assert.equal(opened, 1);
  assert.equal(second, first);
  assert.deepEqual(first.map((e) => [e.path, e.size]), [['app/main.py', 9], ['app/README.md', 3]]);
  assert.match(first[0]?.digest ?? '', /^sha256:[0-9a-f]{64}$/);
});

void test('an uncompressed OCI layer is read as it is; a failed read is asked again', async () => {
  clearRegistryLayerFiles();
  const plain = await layerTar({ 'etc/x': 'x' });
  let opened = 0;
  const client = {
    openBlob: () => {
      opened++;
      return opened === 1 ? Promise.reject(new Error('registry down')) : Promise.resolve(Readable.from([plain]));
    },
  };
  const descriptor = { digest: 'sha256:bb', size: plain.length, mediaType: 'application/vnd.oci.image.layer.v1.tar' };
  await assert.rejects(readRegistryLayerFiles(client, repo, descriptor), /registry down/);
  const entries = await readRegistryLayerFiles(client, repo, descriptor);
  assert.deepEqual(entries.map((e) => e.path), ['etc/x']);
  assert.equal(opened, 2);
});

void test('with a diff_id, a blob whose uncompressed tar hashes otherwise is refused and not cached', async () => {
  clearRegistryLayerFiles();
  const plain = await layerTar({ 'etc/x': 'x' });
  const blob = gzipSync(plain);
  const client = { openBlob: () => Promise.resolve(Readable.from([blob])) };
  const descriptor = { digest: 'sha256:cc', size: blob.length };
  await assert.rejects(readRegistryLayerFiles(client, repo, descriptor, undefined, 'sha256:0000'), /is not this layer .*the base moved since the build/);
  const { createHash } = await import('node:crypto');
  const diffId = `sha256:${createHash('sha256').update(plain).digest('hex')}`;
  const entries = await readRegistryLayerFiles(client, repo, descriptor, undefined, diffId);
  assert.deepEqual(entries.map((e) => e.path), ['etc/x']);
});
