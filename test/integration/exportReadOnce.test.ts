// How far Layerlift's own uploader reads the engine's export (issue 11 §1 "Read once"), on this
// machine's dockerd (20.10: the `<v1 id>/layer.tar` layout). A counting engine client wraps the
// export stream; the figures are printed and checked: one export per push, and a rebuild push
// (one layer changed) reads it once, no further than the changed layer and the config; the
// export is requested before the plan is ready (while the registry is asked). For
// comparison, what the two-pass reader (scanArchive + readArchiveLayers) reads for the same push.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { startRegistry, type Registry } from '../bed/registry';
import { buildImage, importBusyboxImage, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { DockerEngineClient, type SaveImageOptions } from '../../server/src/engine/engineClient';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { staticCredentials } from '../../server/src/registry/credentials';
import { parseReference } from '../../server/src/core/reference';
import { runPushSession } from '../../server/src/push/pushSession';
import type { PushEvent } from '../../server/src/push/mover';
import { readArchiveLayers, scanArchive, type OpenArchive } from '../../server/src/push/streamedArchive';

/** An engine client that counts the export bytes handed out (what the reader pulled). */
class CountingEngine extends DockerEngineClient {
  exports = 0;
  bytes = 0;
  requestedAt: number[] = [];
  override async saveImage(ref: string, options: SaveImageOptions = {}): Promise<Readable> {
    this.requestedAt.push(performance.now());
    const body = await super.saveImage(ref, options);
    this.exports++;
    const counted = new PassThrough({
      highWaterMark: 64 * 1024,
      transform: (chunk: Buffer, _encoding, callback) => {
        this.bytes += chunk.length;
        callback(null, chunk);
      },
    });
    pipeline(body, counted, () => undefined);
    return counted;
  }
}

/** Each tar entry's name → the offset where its content ends (ustar headers, as dockerd writes them). */
function tarEnds(archive: Buffer): Map<string, number> {
  const ends = new Map<string, number>();
  for (let at = 0; at + 512 <= archive.length; ) {
    const header = archive.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const text = (from: number, to: number) => header.subarray(from, to).toString('utf8').replace(/\0.*$/s, '');
    const prefix = text(345, 500);
    const name = (prefix ? `${prefix}/` : '') + text(0, 100);
    const size = parseInt(text(124, 136).trim() || '0', 8);
    at += 512 + Math.ceil(size / 512) * 512;
    ends.set(name.replace(/\/$/, ''), at);
  }
  return ends;
}

let work: { path: string; remove: () => Promise<void> };
let engine: DockerEngine;
let registry: Registry;

before(async () => {
  work = await makeTempDir('export-read-once');
  engine = await startDockerEngine();
  registry = await startRegistry({ auth: 'none' });
  await importBusyboxImage(engine);
});
after(async () => {
  await registry?.stop();
  await engine?.stop();
  await work?.remove();
});

async function push(client: CountingEngine, image: string, target: string) {
  const registryClient = new RegistryClient({ credentials: staticCredentials({}) });
  client.requestedAt = [];
  let plannedAt = 0;
  try {
    const onEvent = (e: PushEvent) => {
      if (e.type === 'plan') plannedAt = performance.now();
    };
    const result = await runPushSession(
      { image, target: parseReference(target), uploader: 'layerlift', onEvent },
      { client: registryClient, credentials: staticCredentials({}), insecureRegistries: [], env: { ...engine.env, XDG_CACHE_HOME: join(work.path, 'cache') }, engine: client },
    );
    // The export is asked for while the registry is (issue 11 §1): before the plan is made.
    const requested = client.requestedAt[0];
    assert.ok(requested !== undefined && requested < plannedAt, 'the export was requested before the plan was ready');
    return result;
  } finally {
    await registryClient.close();
  }
}

describe('the own uploader reads the engine export once', () => {
  test('a rebuild (one layer changed) opens one export and reads it no further than needed', async () => {
    const context = join(work.path, 'app');
    await mkdir(context, { recursive: true });
    // busybox + 16 MB + 4 MB (incompressible) + a small top layer, changed by each rebuild.
    const big = randomBytes(16_000_000);
    const mid = randomBytes(4_000_000);
    await writeFile(join(context, 'mid.bin'), mid);
    const target = `${registry.host}/team/app:1`;
    const client = new CountingEngine({ env: { ...engine.env } });
    try {
      await writeFile(join(context, 'big.bin'), big);
      await writeFile(join(context, 'Dockerfile'), 'FROM layerlift/busybox:latest\nCOPY big.bin /big.bin\nCOPY mid.bin /mid.bin\nCOPY top.txt /top.txt\n');
      await writeFile(join(context, 'top.txt'), 'first\n');
      await buildImage(engine, context, 'app:1');
      const first = await push(client, 'app:1', target);
      assert.equal(client.exports, 1, 'the first push: one export');
      const firstRead = client.bytes;
      const rows: string[] = [`first push: ${firstRead} bytes of the export read, 1 export, ${first.bytesUploaded} bytes up`];
      for (let round = 1; round <= 3; round++) {
        await writeFile(join(context, 'top.txt'), `rebuild ${round} ${Date.now()}\n`);
        const { imageId } = await buildImage(engine, context, 'app:1');
        client.bytes = 0;
        const full = await client.saveImage(imageId);
        const chunks: Buffer[] = [];
        for await (const chunk of full) chunks.push(chunk as Buffer);
        const total = client.bytes;
        const entries = tarEnds(Buffer.concat(chunks));
        client.bytes = 0;
        client.exports = 0;
        const pushed = await push(client, 'app:1', target);
        const once = client.bytes;
        assert.equal(client.exports, 1, 'one export per push');
        assert.equal(pushed.plan.layers.filter((l) => l.action === 'upload').length, 1, 'one layer changed');
        // The two-pass reader for the same push: the whole export, then again up to the layer.
        client.bytes = 0;
        const open: OpenArchive = (signal) => client.saveImage(imageId, signal ? { signal } : {});
        const scanned = await scanArchive(open, 'app', { imageId });
        const diffIds = scanned.facts.diffIds;
        await readArchiveLayers(open, 'app', scanned.layerPaths, diffIds.slice(-1), async (_d, s) => {
          for await (const chunk of s) void chunk;
        });
        const twice = client.bytes;
        client.bytes = 0;
        // Where the read had to reach: the end of the changed layer's tar or of the config, whichever is later.
        const topDir = [...entries.keys()].find((name) => name.endsWith('/layer.tar') && entries.get(name.replace('layer.tar', 'json')) !== undefined && scanned.layerPaths.get(name) === diffIds[diffIds.length - 1]);
        const needed = Math.max(entries.get(topDir ?? '') ?? 0, entries.get(`${imageId.slice(7)}.json`) ?? 0);
        assert.ok(once >= needed, 'the changed layer and the config were read');
        assert.ok(once <= Math.min(total, needed + 2 * 1024 * 1024), `no further than needed (${needed}) plus read-ahead`);
        assert.ok(once <= total, 'never more than the export');
        assert.ok(once < twice, 'less than the two passes');
        rows.push(`rebuild ${round}: read ${once} of ${total} bytes (${((100 * once) / total).toFixed(1)} %; the changed layer and config end at ${needed}), 1 export; two passes read ${twice} (${((100 * twice) / total).toFixed(1)} %), 2 exports`);
      }
      console.log(rows.join('\n'));
    } finally {
      await client.close();
    }
  });
});
