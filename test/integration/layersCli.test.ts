// `layerlift layers` against a real private dockerd (test/bed/dockerEngine.ts): a file written in
// one layer and deleted in the next is wasted with dive's figure (its size; dive counts a
// whiteout of a file as 0 and sums both sightings), gates exit 1 with one line each, --against
// names the context file that changed, and a docker-archive of the same image gives the same.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage, docker, importBusyboxImage, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { startRegistry } from '../bed/registry';
import { parseReference } from '../../server/src/core/reference';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { main } from '../../server/src/cli/main';
import { LayerInsight } from '../../server/src/lsp/layerInsight';
import { readImageLayers } from '../../server/src/insight/readImageLayers';
import { analyzeDockerfile } from '../../server/src/analysis/analyzeDockerfile';
import { defaultSettings } from '../../server/src/analysis/settings';

const bigBytes = 123_457;

const dockerfile = [
  'FROM layerlift/busybox:latest',
  `RUN head -c ${bigBytes} /dev/urandom > /big.bin`,
  'RUN rm /big.bin',
  'COPY app /app',
  'CMD ["sh"]',
  '',
].join('\n');

async function layerlift(engine: DockerEngine, args: string[]): Promise<{ code: number; out: string; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    stderrRaw: () => undefined,
    stderrIsTTY: false,
    env: { ...process.env, ...engine.env },
  });
  return { code, out: out.join('\n'), err };
}

void describe('layerlift layers against a real engine', () => {
  let engine: DockerEngine;
  let work: { path: string; remove: () => Promise<void> };

  before(async () => {
    engine = await startDockerEngine();
    work = await makeTempDir('layers');
    await importBusyboxImage(engine);
    const context = join(work.path, 'ctx');
    await mkdir(join(context, 'app'), { recursive: true });
    await writeFile(join(context, 'app', 'main.py'), 'print("one")\n');
    await writeFile(join(context, 'app', 'README.md'), 'readme\n');
    await writeFile(join(context, 'Dockerfile'), dockerfile);
    await buildImage(engine, context, 'll/waste:1');
    // Same length, other content: only a digest tells the files apart.
    await writeFile(join(context, 'app', 'main.py'), 'print("two")\n');
    await buildImage(engine, context, 'll/waste:2');
  });
  after(async () => {
    await engine?.stop();
    await work?.remove();
  });

  void test('a file written then deleted is wasted, as dive defines it', async () => {
    const result = await layerlift(engine, ['layers', 'll/waste:1', '--json', '--files']);
    assert.equal(result.code, 0, result.err.join('\n'));
    const report = JSON.parse(result.out) as {
      layers: { instruction: string; supersededBytes: number; files: { path: string; change: string; size: number }[] }[];
      efficiency: { wastedBytes: number; efficiency: number; inefficiencies: { path: string; cumulativeSize: number; occurrences: number }[] };
    };
    assert.equal(report.layers.length, 4);
    const write = report.layers[1];
    const remove = report.layers[2];
    assert.match(write?.instruction ?? '', /head -c 123457/);
    assert.deepEqual(write?.files.filter((f) => f.path === 'big.bin'), [{ path: 'big.bin', change: 'added', kind: 'file', size: bigBytes }]);
    assert.deepEqual(remove?.files.filter((f) => f.change === 'removed'), [{ path: 'big.bin', change: 'removed', kind: 'file', size: bigBytes }]);
    assert.equal(write?.supersededBytes, bigBytes);
    const big = report.efficiency.inefficiencies.find((i) => i.path === 'big.bin');
    assert.deepEqual(big, { path: 'big.bin', cumulativeSize: bigBytes, occurrences: 2 });
    // Everything else the RUN layers repeat is directories (size 0): the waste is the file's size.
    assert.equal(report.efficiency.wastedBytes, bigBytes);
    assert.ok(report.efficiency.efficiency < 1);
  });

  void test('the table names the waste; gates exit 1 with one line per breach', async () => {
    const table = await layerlift(engine, ['layers', 'll/waste:1']);
    assert.equal(table.code, 0);
    assert.match(table.out, /Wasted {6}123 kB \(123457 bytes\), 99\.98 % of the 123 kB added over the first layer/);
    assert.match(table.out, / 123 kB {2}2× {2}\/big\.bin/);
    const gated = await layerlift(engine, ['layers', 'll/waste:1', '--max-wasted', '100kB', '--min-efficiency', '99%', '--max-upload', '1kB']);
    assert.equal(gated.code, 1);
    assert.equal(gated.err.length, 3, gated.err.join('\n'));
    assert.match(gated.err[0] ?? '', /^layerlift: upload .* is over --max-upload 1\.0 kB$/);
    assert.equal(gated.err[1], 'layerlift: wasted 123 kB (123457 bytes) is over --max-wasted 100 kB');
    assert.match(gated.err[2] ?? '', /^layerlift: efficiency \d+\.\d\d % is under --min-efficiency 99\.00 %$/);
    const percent = await layerlift(engine, ['layers', 'll/waste:1', '--max-wasted', '5%']);
    assert.equal(percent.code, 1);
    assert.match(percent.err.join('\n'), /of the bytes added over the first layer is over --max-wasted 5\.00 %/);
    const passing = await layerlift(engine, ['layers', 'll/waste:1', '--max-wasted', '200kB']);
    assert.equal(passing.code, 0, passing.err.join('\n'));
    const bad = await layerlift(engine, ['layers', 'll/waste:1', '--max-wasted', 'lots']);
    assert.equal(bad.code, 2);
    assert.equal(bad.err[0], 'layerlift: --max-wasted "lots" is neither a size (e.g. 10MB) nor a percentage (e.g. 5%)');
  });

  void test('--against names the context file that changed and counts only new layers', async () => {
    const result = await layerlift(engine, ['layers', 'll/waste:2', '--against', 'll/waste:1']);
    assert.equal(result.code, 0, result.err.join('\n'));
    assert.match(result.out, /Why new {5}layer 4 \(COPY dir:[0-9a-f]{12}… in \/app\s*\) is new against ll\/waste:1: 1 file differs \(app\/main\.py\)/);
    assert.match(result.out, /Upload {6}20 B in 1 layer not in ll\/waste:1; uncompressed tar bytes/);
  });

  void test('--against registry:REF names the changed file from the pushed layer blob', async () => {
    const registry = await startRegistry({ auth: 'none' });
    try {
      await docker(engine, ['tag', 'll/waste:1', `${registry.host}/team/waste:pushed`]);
      await docker(engine, ['push', `${registry.host}/team/waste:pushed`]);
      const result = await layerlift(engine, ['layers', 'll/waste:2', '--against', `registry:${registry.host}/team/waste:pushed`, '--max-upload', '10B']);
      assert.equal(result.code, 1);
      assert.match(result.out, new RegExp(`Why new {5}layer 4 \\(COPY dir:[0-9a-f]{12}… in /app\\s*\\) is new against ${registry.host.replace(/\./g, '\\.')}/team/waste:pushed: 1 file differs \\(app/main\\.py\\)`));
      assert.match(result.out, /Upload {6}20 B in 1 layer not in /);
      assert.deepEqual(result.err, [`layerlift: upload 20 B (20 bytes in 1 layer not in ${registry.host}/team/waste:pushed; uncompressed tar bytes where the compressed size is unknown) is over --max-upload 10 B`]);
    } finally {
      await registry.stop();
    }
  });

  void test('--max-upload without --against counts only what IMAGE’s tag in its registry lacks', async () => {
    const registry = await startRegistry({ auth: 'none' });
    try {
      const tag = `${registry.host}/team/gate:1`;
      await docker(engine, ['tag', 'll/waste:1', tag]);
      await docker(engine, ['push', tag]);
      // Rebuilt locally under the same tag, not pushed: only the COPY layer (20 B) is upload.
      await docker(engine, ['tag', 'll/waste:2', tag]);
      const passing = await layerlift(engine, ['layers', tag, '--max-upload', '100B']);
      assert.equal(passing.code, 0, passing.err.join('\n'));
      assert.match(passing.out, /Upload {6}20 B in 1 layer not in /);
      const failing = await layerlift(engine, ['layers', tag, '--max-upload', '10B']);
      assert.equal(failing.code, 1);
      assert.deepEqual(failing.err, [`layerlift: upload 20 B (20 bytes in 1 layer not in ${tag}; uncompressed tar bytes where the compressed size is unknown) is over --max-upload 10 B`]);
      // A tag never pushed: every layer counts.
      await docker(engine, ['tag', 'll/waste:2', `${registry.host}/team/never:1`]);
      const fresh = await layerlift(engine, ['layers', `${registry.host}/team/never:1`, '--max-upload', '100B']);
      assert.equal(fresh.code, 1);
    } finally {
      await registry.stop();
    }
  });

  void test('a docker-archive of the image reports the same waste', async () => {
    const file = join(work.path, 'waste.tar');
    await docker(engine, ['image', 'save', '-o', file, 'll/waste:1']);
    const result = await layerlift(engine, ['layers', `docker-archive:${file}`, '--json']);
    assert.equal(result.code, 0, result.err.join('\n'));
    assert.equal((JSON.parse(result.out) as { efficiency: { wastedBytes: number } }).efficiency.wastedBytes, bigBytes);
  });

  void test('a missing image is one line', async () => {
    const result = await layerlift(engine, ['layers', 'll/none:1']);
    assert.equal(result.code, 1);
    assert.equal(result.err.length, 1);
    assert.match(result.err[0] ?? '', /^layerlift: .*ll\/none:1/);
  });

  void test('the panel says why a layer is new against the target’s pushed tag, naming the changed file', async () => {
    const registry = await startRegistry({ auth: 'none' });
    const client = new RegistryClient({});
    try {
      const pushed = `${registry.host}/team/panel:pushed`;
      await docker(engine, ['tag', 'll/waste:1', pushed]);
      await docker(engine, ['push', pushed]);
      const workspace = {
        trusted: true,
        registryClient: () => client,
        documentSettings: () => ({ settings: defaultSettings, setting: { dockerfile: 'Dockerfile', image: 'll/waste:2' }, target: parseReference(pushed) }),
      };
      const insight = new LayerInsight(workspace, undefined, { ...process.env, ...engine.env });
      const view = await insight.view('file:///ctx/Dockerfile', analyzeDockerfile(dockerfile));
      assert.equal(view.problem, undefined);
      assert.deepEqual(view.rows.map((r) => r.status), [`same as the pushed tag ${pushed}`, `same as the pushed tag ${pushed}`, `same as the pushed tag ${pushed}`, `new against the pushed tag ${pushed}`]);
      const sentence = view.totals.find((t) => t.includes(' is new against ')) ?? '';
      assert.match(sentence, /^line 4 \(COPY dir:[0-9a-f]{12}… in \/app\s*\) is new against the pushed tag .*: 1 file differs \(app\/main\.py\)$/);
    } finally {
      await client.close();
      await registry.stop();
    }
  });

  void test('the panel rows (server-worded) and a layer’s files on demand, from the engine', async () => {
    const workspace = { trusted: true, documentSettings: () => ({ settings: defaultSettings, setting: { dockerfile: 'Dockerfile', image: 'll/waste:1' } }) };
    const layersRead: number[] = [];
    const insight = new LayerInsight(workspace, async (spec, env, files) => {
      const read = await readImageLayers(spec, { env, files });
      layersRead.push(read.layers.filter((l) => l.entries).length);
      return read;
    }, { ...process.env, ...engine.env });
    const view = await insight.view('file:///ctx/Dockerfile', analyzeDockerfile(dockerfile));
    assert.equal(view.problem, undefined);
    assert.match(view.title, /^Layers of engine image ll\/waste:1/);
    assert.deepEqual(view.rows.map((r) => [r.group, r.line]), [['base', undefined], ['Dockerfile', 1], ['Dockerfile', 2], ['Dockerfile', 3]]);
    assert.equal(view.rows[1]?.waste, 'wastes 123 kB (overwritten or removed later)');
    assert.equal(view.rows[1]?.sizes, '123 kB uncompressed · compressed size unknown until pushed');
    assert.equal(view.rows[3]?.files, '3 added');
    // The panel reads the Dockerfile's layers only: dive's efficiency waits for the base layer.
    assert.equal(view.totals[0], 'Efficiency: computed once every layer is read, as dive needs them all (1 layer not opened yet)');
    assert.equal(view.totals[1], 'Wasted at least 123 kB in the 3 layers read (files overwritten or removed later)');
    const files = await insight.files('file:///ctx/Dockerfile', 3);
    assert.deepEqual(files.files.map((f) => [f.path, f.change, f.size]), [['app', 'added', '0 B'], ['app/README.md', 'added', '7 B'], ['app/main.py', 'added', '13 B']]);
    assert.equal((await insight.files('file:///ctx/Dockerfile', 3, 'main')).summary, '1 of 3 files match "main" (compared with the layers read: 1 base layer beneath not opened, so "added" may mean changed)');
    // A rebuild under the same tag: the panel says why its layers are new against the build before.
    await docker(engine, ['tag', 'll/waste:2', 'll/waste:1']);
    const rebuilt = await insight.view('file:///ctx/Dockerfile', analyzeDockerfile(dockerfile));
    assert.deepEqual(layersRead, [3, 1], 'the rebuild read only its new layer; the others came from the diff_id cache');
    assert.deepEqual(rebuilt.rows.map((r) => r.status), ['same as the previous build', 'same as the previous build', 'same as the previous build', 'new against the previous build']);
    assert.match(rebuilt.totals[3] ?? '', /^line 4 \(COPY dir:[0-9a-f]{12}… in \/app\s*\) is new against the previous build: 1 file differs \(app\/main\.py\)$/);
    const missing = new LayerInsight({ ...workspace, documentSettings: () => ({ settings: defaultSettings, setting: { dockerfile: 'Dockerfile', image: 'll/none:1' } }) }, undefined, { ...process.env, ...engine.env });
    const none = await missing.view('file:///ctx/Dockerfile', undefined);
    assert.match(none.problem ?? '', /ll\/none:1.* — build the image first \(Build Image\)\.$/);
  });
});
