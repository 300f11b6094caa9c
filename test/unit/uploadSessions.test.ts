// The upload session store (uploadSessions.ts): a session found by its layer only when its blob
// is whole, a lock held by a live process respected, one left by a dead process taken over,
// expired sessions removed, finished ones gone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UploadSessions } from '../../server/src/push/uploadSessions';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'layerlift-sessions-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const layer = { diffId: `sha256:${'d'.repeat(64)}`, compression: 'gzip', level: 6 };
const digest = `sha256:${'b'.repeat(64)}`;

async function saved(store: UploadSessions, name: string, updatedAt = new Date().toISOString()) {
  const blob = join(root, `${name}.blob`);
  await writeFile(blob, Buffer.alloc(1000, 7));
  const held = await store.hold('r.example', 'team/app', digest, blob);
  assert.ok(held);
  await held.save({ registry: 'r.example', repository: 'team/app', digest, size: 1000, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer, location: 'http://r.example/v2/team/app/blobs/uploads/x?_state=s', offset: 500, updatedAt });
  return held;
}

void describe('UploadSessions', () => {
  void it('finds a released session by its layer, not one another live process holds', async () => {
    const store = new UploadSessions(join(root, 'a'));
    const held = await saved(store, 'a');
    // Held by this process: not handed out twice.
    assert.equal(await store.findByLayer('r.example', 'team/app', layer), undefined);
    await held.release();
    const found = await store.findByLayer('r.example', 'team/app', layer);
    assert.equal(found?.record?.offset, 500);
    assert.equal(await store.findByLayer('r.example', 'other/repo', layer), undefined);
    assert.equal(await store.findByLayer('r.example', 'team/app', { ...layer, level: 9 }), undefined);
    await found?.release();
    // A lock left by a process that is gone is taken over.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    await writeFile(join(held.directory, 'lock'), gone);
    assert.ok(await store.findByLayer('r.example', 'team/app', layer));
  });

  void it('skips a session whose blob is not whole; removes finished and expired ones', async () => {
    const store = new UploadSessions(join(root, 'b'));
    const held = await saved(store, 'b', new Date(Date.now() - 8 * 24 * 3600 * 1000).toISOString());
    await held.release();
    await writeFile(held.blobPath, Buffer.alloc(10));
    assert.equal(await store.findByLayer('r.example', 'team/app', layer), undefined);
    assert.equal(await store.removeExpired(), 1);
    assert.deepEqual(await readdir(store.root), []);
    const fresh = await saved(store, 'c');
    await utimes(fresh.directory, new Date(0), new Date(0));
    await fresh.release();
    assert.equal(await store.removeExpired(), 0, 'the record says it is fresh');
    await fresh.finish();
    assert.deepEqual(await readdir(store.root), []);
  });

  void it('lives beside a push scratch directory under <cache>/layers only', () => {
    assert.equal(UploadSessions.besideScratch('/c/layerlift/layers/push-1')?.root, '/c/layerlift/sessions');
    assert.equal(UploadSessions.besideScratch('/tmp/x'), undefined);
  });
});
