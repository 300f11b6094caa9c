// The one-pass export reader against a real dockerd 20.10 NOT in UTC (TZ=Asia/Kolkata): moby's
// save.go stamps the lower layers `time.Unix(0, 0)` in the daemon's zone, so the UTC prediction
// of their `<v1 id>` directories misses (checked here), and every directory must be recognised
// from its own json — in one export, without spooling anything (the spool directory does not
// exist, so any spooling would fail the read).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage, importBusyboxImage, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { DockerEngineClient } from '../../server/src/engine/engineClient';
import { EngineExportReader } from '../../server/src/push/engineExportReader';
import { scanArchive, type OpenArchive } from '../../server/src/push/streamedArchive';
import { predictV1Ids } from '../../server/src/push/v1LayerIds';

let work: { path: string; remove: () => Promise<void> };
let engine: DockerEngine;
let client: DockerEngineClient;

before(async () => {
  work = await makeTempDir('export-non-utc');
  const tz = process.env.TZ;
  process.env.TZ = 'Asia/Kolkata'; // inherited by dockerd (test/bed/process.ts passes process.env)
  try {
    engine = await startDockerEngine();
  } finally {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  }
  client = new DockerEngineClient({ env: { ...engine.env } });
  await importBusyboxImage(engine);
  const context = join(work.path, 'app');
  await mkdir(context);
  await writeFile(join(context, 'a.txt'), 'a\n');
  await writeFile(join(context, 'b.txt'), 'b\n');
  await writeFile(join(context, 'Dockerfile'), 'FROM layerlift/busybox:latest\nCOPY a.txt /a.txt\nENV X=1\nCOPY b.txt /b.txt\nRUN echo c > /c.txt\n');
  await buildImage(engine, context, 'app:1');
});
after(async () => {
  await client?.close();
  await engine?.stop();
  await work?.remove();
});

describe('engine export read once, daemon not in UTC', () => {
  test('the prediction misses; every layer is still found by its json, in one export, nothing spooled', async () => {
    const image = await client.imageInspect('app:1');
    assert.ok(image);
    const diffIds = image.rootfs.diffIds;
    assert.equal(diffIds.length, 4);
    let opens = 0;
    const open: OpenArchive = (signal) => {
      opens++;
      return client.saveImage(image.id, signal ? { signal } : {});
    };
    // The directories as manifest.json maps them (two-pass scan), against the UTC prediction.
    const scanned = await scanArchive(open, 'app', { imageId: image.id });
    const dirOf = new Map([...scanned.layerPaths].map(([path, diffId]) => [diffId, path.replace('/layer.tar', '')]));
    const predicted = predictV1Ids(diffIds);
    assert.ok(predicted.every((id, i) => dirOf.get(diffIds[i] ?? '') !== id), 'no directory is where a UTC daemon would put it');

    opens = 0;
    const reader = new EngineExportReader({ open, source: 'app', imageId: image.id, diffIds, spoolDirectory: join(work.path, 'no-such-dir') });
    const got: string[] = [];
    await reader.readLayers(diffIds, async (diffId, stream) => {
      const hash = createHash('sha256');
      for await (const chunk of stream) hash.update(chunk as Buffer);
      assert.equal(`sha256:${hash.digest('hex')}`, diffId);
      got.push(diffId);
    });
    assert.deepEqual([...got].sort(), [...diffIds].sort());
    assert.equal((await reader.config).digest, image.id);
    await reader.close();
    assert.equal(opens, 1, 'one export');
  });
});
