// A layer whose bytes do not match its diff_id, pushed by Layerlift's own uploader from a
// `docker save` archive: the compressor's writer thread now checks the diff_id (the source hands
// the check over, layerStreams.ts handOverDiffIdCheck), and the user still gets the source's one
// line — which layer, of which file, what to do — and the tag is not created.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tarBytes } from '../bed/tarBytes';
import { startRegistry, type Registry } from '../bed/registry';
import { makeTempDir } from '../bed/process';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { runCli } from './runCli';

const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A `docker save` archive of one layer; `diffId` is what its config claims the layer is. */
async function archive(path: string, layer: Buffer, diffId: string): Promise<void> {
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [diffId] }, history: [{ created_by: 'COPY data /data' }] });
  const manifest = JSON.stringify([{ Config: 'config.json', RepoTags: ['corrupt/x:1'], Layers: ['l1/layer.tar'] }]);
  await writeFile(path, await tarBytes({ 'config.json': config, 'l1/layer.tar': layer, 'manifest.json': manifest }));
}

describe('own uploader: a layer that is not its diff_id', () => {
  let registry: Registry;
  let work: Awaited<ReturnType<typeof makeTempDir>>;
  let layer: Buffer;
  before(async () => {
    registry = await startRegistry({ auth: 'none' });
    work = await makeTempDir('corrupt-layer');
    // Several 1 MiB gzip blocks, text and random: the pigz path with its writer thread.
    layer = await tarBytes({ 'data/random.bin': randomBytes(2 * 1024 * 1024), 'data/text.txt': 'a line of layer text\n'.repeat(100_000) });
  });
  after(async () => {
    await registry.stop();
    await work.remove();
  });

  test('the true diff_id pushes (the control)', async () => {
    const path = join(work.path, 'good.tar');
    await archive(path, layer, sha256(layer));
    const run = await runCli(['push', '--uploader', 'layerlift', `docker-archive:${path}`, `${registry.host}/corrupt/good:1`], {}, { timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
  });

  test('a wrong diff_id: one line naming the layer, the archive and what to do; no tag', async () => {
    const path = join(work.path, 'bad.tar');
    const claimed = sha256('not this layer');
    await archive(path, layer, claimed);
    const run = await runCli(['push', '--uploader', 'layerlift', `docker-archive:${path}`, `${registry.host}/corrupt/bad:1`], {}, { timeoutMs: 120_000 });
    assert.equal(run.code, 1, run.stdout);
    // Progress lines, then the error: one line, no stack.
    const errors = run.stderr.trim().split('\n').filter((line) => line.startsWith('layerlift:'));
    assert.equal(errors.length, 1, run.stderr);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
    assert.match(errors[0] ?? '', new RegExp(`bad\\.tar .*layer ${claimed} is corrupt: its uncompressed bytes hash to ${sha256(layer)} — export or rebuild the image`));
    const client = new RegistryClient();
    try {
      assert.equal(await client.headManifest({ registry: registry.host, repository: 'corrupt/bad' }, '1').catch(() => undefined), undefined);
    } finally {
      await client.close();
    }
  });
});
