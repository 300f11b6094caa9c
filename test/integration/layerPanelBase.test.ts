// The layer panel against a real private dockerd and Distribution (test/bed): opening it reads only
// the Dockerfile's layers from the export; a base layer is read when the user confirms — from its
// registry blob (the base pushed to the registry: the blob downloaded, verified against the
// layer's diff_id) or, for a base built locally, from the engine's export — and efficiency then
// equals the CLI's over every layer; a pushed tag on a registry that is not there does not hold the
// panel past its budget.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { buildImage, docker, importBusyboxImage, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { startRegistry, type Registry } from '../bed/registry';
import { parseReference } from '../../server/src/core/reference';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { LayerInsight } from '../../server/src/lsp/layerInsight';
import { readImageLayers, type Wanted } from '../../server/src/insight/readImageLayers';
import { readEngineLayers } from '../../server/src/insight/readEngineLayers';
import { buildLayerReport, percent } from '../../server/src/insight/layerReport';
import { analyzeDockerfile } from '../../server/src/analysis/analyzeDockerfile';
import { defaultSettings } from '../../server/src/analysis/settings';
import { clearRegistryLayerFiles } from '../../server/src/insight/registryLayerFiles';
import type { DocumentView } from '../../server/src/analysis/documentView';

const dockerfile = ['FROM layerlift/busybox:latest', 'RUN echo one > /etc/motd', 'COPY app /app', ''].join('\n');
const uri = 'file:///ctx/Dockerfile';

/** A loopback registry that accepts connections and never answers (a registry out of reach behind a proxy). */
async function silentRegistry(): Promise<{ port: number; stop: () => Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    stop: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

void describe('the layer panel reads base layers only when opened', () => {
  let engine: DockerEngine;
  let registry: Registry;
  let work: { path: string; remove: () => Promise<void> };
  const client = new RegistryClient({});

  before(async () => {
    engine = await startDockerEngine();
    registry = await startRegistry({ auth: 'none' });
    work = await makeTempDir('panel-base');
    await importBusyboxImage(engine);
    const context = join(work.path, 'ctx');
    await mkdir(join(context, 'app'), { recursive: true });
    await writeFile(join(context, 'app', 'main.py'), 'print("one")\n');
    await writeFile(join(context, 'Dockerfile'), dockerfile);
    await buildImage(engine, context, 'll/panel:1');
  });
  after(async () => {
    await client.close();
    await registry?.stop();
    await engine?.stop();
    await work?.remove();
  });

  const env = () => ({ ...process.env, ...engine.env });
  const workspace = (target?: string) => ({
    trusted: true,
    registryClient: () => client,
    documentSettings: () => ({ settings: defaultSettings, setting: { dockerfile: 'Dockerfile', image: 'll/panel:1' }, ...(target ? { target: parseReference(target) } : {}) }),
  });
  /** The panel's engine reader, counting the layers each read parsed. */
  const counting = (reads: number[]) => async (spec: string, e: NodeJS.ProcessEnv, files: Wanted, signal?: AbortSignal) => {
    const read = await readEngineLayers(spec, e, files, signal);
    reads.push(read.layers.filter((l) => l.entries).length);
    return read;
  };

  void test('a locally built base: offered from the export, then read, and efficiency covers every layer', async () => {
    const reads: number[] = [];
    const insight = new LayerInsight(workspace(), counting(reads), env());
    const view = await insight.view(uri, analyzeDockerfile(dockerfile));
    assert.equal(view.problem, undefined);
    assert.deepEqual(reads, [2], 'only the Dockerfile’s two layers were read');
    assert.deepEqual(view.rows.map((r) => r.group), ['base', 'Dockerfile', 'Dockerfile']);
    assert.equal(view.rows[0]?.files, 'files not read yet: open the layer to list them');
    assert.match(view.totals[0] ?? '', /^Efficiency: computed once every layer is read, as dive needs them all \(1 layer not opened yet\)$/);
    const offer = await insight.files(uri, 0);
    assert.equal(offer.offer, 'Read from the engine');
    assert.match(offer.summary, /^Base layer: no registry is known to hold it .* \(reads this layer [\d.]+ [kM]B, up to the image's [\d.]+ [kM]B uncompressed\)\.$/);
    assert.deepEqual(offer.files, []);
    const read = await insight.download(uri, 0);
    assert.deepEqual(reads, [2, 1], 'the base layer alone was read from the export');
    assert.ok(read.files.some((f) => f.path === 'bin/busybox'), read.summary);
    // The same figures and instructions as the CLI's reader (config history, every layer read).
    const all = buildLayerReport('x', (await readImageLayers('ll/panel:1', { env: env() })).layers);
    assert.equal(read.view?.totals[0], `Efficiency ${percent(all.efficiency.efficiency)} (as dive computes it)`);
    assert.deepEqual(read.view?.rows.map((r) => [r.instruction, r.files]), all.layers.map((l) => [l.instruction || '(no history)', [[l.added, 'added'], [l.changed, 'changed'], [l.removed, 'removed']].filter(([n]) => (n as number) > 0).map(([n, w]) => `${String(n)} ${String(w)}`).join(' · ')]));
    // Read again (a refresh): every layer is cached by diff_id, so no layer is read.
    await insight.view(uri, analyzeDockerfile(dockerfile));
    assert.deepEqual(reads, [2, 1, 0]);
  });

  void test('a base in a registry: the blob is offered with its download size and read from there, verified', async () => {
    clearRegistryLayerFiles();
    const base = `${registry.host}/lib/busybox:1`;
    await docker(engine, ['tag', 'layerlift/busybox:latest', base]);
    await docker(engine, ['push', base]);
    const manifest = await client.getManifest({ registry: registry.host, repository: 'lib/busybox' }, '1');
    assert.equal(manifest.parsed.kind, 'image');
    const blob = manifest.parsed.kind === 'image' ? manifest.parsed.manifest.layers[0] : undefined;
    assert.ok(blob);
    // The reuse model's view of the FROM (the registry's manifest), as WorkspaceModel builds it.
    const document = {
      stages: [{
        stage: { base: { kind: 'image', ref: parseReference(base), text: base } },
        label: base,
        inTargetImage: true,
        base: { state: 'known', digest: manifest.digest, rows: [{ digest: blob.digest, compressedBytes: blob.size, status: 'upload' }], compressedBytes: blob.size, checkedAt: Date.now(), stale: false },
      }],
      layers: [],
      totals: { uploadBytes: blob.size, totalBytes: blob.size, unknownLayers: 0 },
      offline: false,
    } as unknown as DocumentView;
    const reads: number[] = [];
    const insight = new LayerInsight(workspace(), counting(reads), env());
    await insight.view(uri, analyzeDockerfile(dockerfile), document);
    const offer = await insight.files(uri, 0);
    assert.equal(offer.offer, 'List files');
    assert.match(offer.summary, new RegExp(`^Base layer: its files come from the registry blob ${blob.digest.slice(0, 19)}… in ${registry.host}/lib/busybox \\([\\d.]+ [kM]B to download\\)\\.$`));
    const read = await insight.download(uri, 0);
    assert.deepEqual(reads, [2], 'the engine export was not read for the base layer');
    assert.ok(read.files.some((f) => f.path === 'bin/busybox'), read.summary);
    assert.equal(read.view?.rows[0]?.files.includes('not read'), false);
  });

  void test('a pushed tag on a registry that never answers: the panel shows after the 3 s budget and says so', async () => {
    const silent = await silentRegistry();
    try {
      const insight = new LayerInsight(workspace(`127.0.0.1:${silent.port}/team/panel:1`), undefined, env());
      const started = Date.now();
      const view = await insight.view(uri, analyzeDockerfile(dockerfile));
      const took = Date.now() - started;
      assert.equal(view.problem, undefined);
      assert.ok(view.totals.includes(`The pushed tag 127.0.0.1:${silent.port}/team/panel:1 could not be read (no answer within 3 s): no comparison shown.`), view.totals.join('\n'));
      // The export read takes its time too; the registry's share is the 3 s budget (undici alone would wait minutes).
      assert.ok(took >= 3000 && took < 8000, `took ${took} ms`);
    } finally {
      await silent.stop();
    }
  });
});
