// The engine adapter against a real dockerd (20.10, legacy builder): inspect, history with
// derived empty_layer flags (judged against the image config from `docker save`), and the
// mapping of history entries to the Dockerfile instructions that made them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar-stream';
import { buildImage, docker, importBusyboxImage, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { DockerEngineClient, EngineError, encodeImageRef, negotiateApiVersion, type HistoryEntry } from '../../server/src/engine/engineClient';
import { matchHistoryToInstructions, mapHistoryToInstructions, targetChainInstructions } from '../../server/src/analysis/historyMapping';
import { analyzeDockerfile } from '../../server/src/analysis/analyzeDockerfile';
import type { Instruction } from '../../server/src/analysis/types';

/** The instructions whose steps are the image's newest history entries, from the real analysis. */
function chainOf(dockerfile: string): Instruction[] {
  const analysis = analyzeDockerfile(dockerfile);
  assert.deepEqual(analysis.errors, []);
  return targetChainInstructions(analysis);
}

interface ConfigHistory {
  created_by?: string;
  empty_layer?: boolean;
}

/** The image config's own history, from `docker save` (the judge for derived empty_layer flags). */
async function configHistory(engine: DockerEngine, ref: string, dir: string): Promise<{ history: ConfigHistory[]; diffIds: string[] }> {
  const file = join(dir, `${ref.replace(/[^a-z0-9]/gi, '_')}.tar`);
  await docker(engine, ['image', 'save', '-o', file, ref]);
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => {
        if (header.name.endsWith('.json') && Buffer.isBuffer(chunk)) chunks.push(chunk);
      });
      stream.on('end', () => {
        if (header.name.endsWith('.json')) files.set(header.name, Buffer.concat(chunks));
        next();
      });
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  createReadStream(file).pipe(extract);
  await done;
  const manifest = JSON.parse(files.get('manifest.json')?.toString() ?? '[]') as { Config: string }[];
  const configName = manifest[0]?.Config ?? '';
  const config = JSON.parse(files.get(configName)?.toString() ?? '{}') as { history: ConfigHistory[]; rootfs: { diff_ids: string[] } };
  return { history: config.history, diffIds: config.rootfs.diff_ids };
}

const appDockerfile = [
  'FROM layerlift/busybox:latest',
  'ENV APP_HOME=/app GREETING="hello world"',
  'WORKDIR /app',
  'COPY a.txt ./',
  'COPY dir /app/dir',
  'ARG VERSION=1',
  'LABEL org.example.test=yes',
  'RUN echo built-$VERSION > /built.txt && head -c 5000 /dev/zero > /zeros',
  'RUN true',
  'USER 1000',
  'CMD ["sh"]',
  '',
].join('\n');

// Multi-stage: the target builds FROM the `base` stage and copies from `other`.
const multiStageDockerfile = [
  'FROM layerlift/busybox:latest AS base',
  'RUN echo base > /base.txt',
  'FROM layerlift/busybox:latest AS other',
  'RUN echo other-stage > /other.txt',
  'FROM base',
  'COPY --from=other /other.txt /other.txt',
  'ENV DONE=1',
  '',
].join('\n');

// Built FROM the app image: a RUN whose layer holds only a directory (size 0, but a layer).
const childDockerfile = ['FROM ll/app:1', 'USER root', 'RUN mkdir /data', 'RUN true', 'COPY b.txt /data/', ''].join('\n');

void describe('DockerEngineClient against a real engine', () => {
  // Set by before(); after() copes with a before() that failed part-way.
  let engine: DockerEngine;
  let client: DockerEngineClient;
  let work: { path: string; remove: () => Promise<void> };

  before(async () => {
    engine = await startDockerEngine();
    work = await makeTempDir('engine-client');
    await importBusyboxImage(engine);
    const app = join(work.path, 'app');
    await mkdir(join(app, 'dir'), { recursive: true });
    await writeFile(join(app, 'a.txt'), 'aaaa\n');
    await writeFile(join(app, 'dir', 'b.txt'), 'bbbbbbbb\n');
    await writeFile(join(app, 'Dockerfile'), appDockerfile);
    await buildImage(engine, app, 'll/app:1');
    const child = join(work.path, 'child');
    await mkdir(child);
    await writeFile(join(child, 'b.txt'), 'b\n');
    await writeFile(join(child, 'Dockerfile'), childDockerfile);
    await buildImage(engine, child, 'll/child:1');
    const multi = join(work.path, 'multi');
    await mkdir(multi);
    await writeFile(join(multi, 'Dockerfile'), multiStageDockerfile);
    await buildImage(engine, multi, 'll/multi:1');
    // Resolved from the environment, as the CLI and the extension do.
    client = new DockerEngineClient({ env: { ...engine.env } });
  });
  after(async () => {
    // Whatever before() got to: a failed build must not leave dockerd running.
    await client?.close();
    await engine?.stop();
    await work?.remove();
  });

  void test('ping negotiates the API version from DOCKER_HOST', async () => {
    assert.equal(client.host.kind, 'unix');
    assert.equal(client.host.source, 'DOCKER_HOST');
    const pong = await client.ping();
    assert.equal(pong.apiVersion, '1.41'); // dockerd 20.10 speaks 1.41
    assert.equal(pong.osType, 'linux');
  });

  void test('imageInspect: tags, platform, diff_ids; undefined for a missing image', async () => {
    const image = await client.imageInspect('ll/app:1');
    assert.ok(image);
    assert.match(image.id, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(image.repoTags, ['ll/app:1']);
    assert.deepEqual(image.repoDigests, []);
    assert.equal(image.os, 'linux');
    assert.ok(image.architecture !== '');
    assert.equal(image.rootfs.diffIds.length, 5); // import, WORKDIR, COPY, COPY, RUN
    assert.equal(image.config?.workingDir, '/app');
    assert.equal(image.config?.user, '1000');
    assert.deepEqual(image.config?.cmd, ['sh']);
    assert.equal(image.config?.labels['org.example.test'], 'yes');
    assert.ok(image.config?.env.includes('GREETING=hello world'));
    assert.ok(image.size > 1_000_000);
    // By id, and by a docker.io-style name the engine normalises.
    assert.equal((await client.imageInspect(image.id))?.id, image.id);
    assert.equal((await client.imageInspect('docker.io/ll/app:1'))?.id, image.id);
    assert.equal(await client.imageInspect('ll/nothing:here'), undefined);
    assert.equal(await client.imageInspect('sha256:' + '0'.repeat(64)), undefined);
  });

  void test('imageHistory: oldest first, empty_layer exactly as in the image config', async () => {
    for (const ref of ['ll/app:1', 'll/child:1', 'll/multi:1']) {
      const history = await client.imageHistory(ref);
      const judge = await configHistory(engine, ref, work.path);
      assert.deepEqual(history.map((h) => h.createdBy), judge.history.map((h) => h.created_by ?? ''));
      assert.deepEqual(history.map((h) => h.emptyLayer), judge.history.map((h) => h.empty_layer === true), ref);
      assert.ok(history.every((h) => h.emptyLayerCertain), ref);
      const layers = history.filter((h) => !h.emptyLayer);
      assert.deepEqual(layers.map((h) => h.diffId), judge.diffIds);
      assert.deepEqual(layers.map((h) => h.layerIndex), judge.diffIds.map((_, i) => i));
    }
  });

  void test('imageHistory: what the legacy builder records (createdBy, sizes, ids)', async () => {
    const history = await client.imageHistory('ll/app:1');
    const show = (h: HistoryEntry) => `${h.emptyLayer ? '-' : 'L'} ${h.size} ${h.createdBy}`;
    console.log(history.map(show).join('\n'));
    const [base, env, workdir, copyA, copyDir, arg, label, run, runTrue, user, cmd] = history;
    assert.equal(history.length, 11);
    assert.equal(base?.createdBy, '');
    assert.equal(base?.comment, 'Imported from -');
    assert.deepEqual(base?.tags, ['layerlift/busybox:latest']);
    assert.equal(env?.createdBy, '/bin/sh -c #(nop)  ENV APP_HOME=/app GREETING=hello world');
    assert.equal(workdir?.createdBy, '/bin/sh -c #(nop) WORKDIR /app');
    assert.deepEqual([workdir?.size, workdir?.emptyLayer], [0, false]); // a layer holding only /app
    assert.match(copyA?.createdBy ?? '', /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \.\/ $/);
    assert.match(copyDir?.createdBy ?? '', /^\/bin\/sh -c #\(nop\) COPY dir:[0-9a-f]{64} in \/app\/dir $/);
    assert.equal(arg?.createdBy, '/bin/sh -c #(nop)  ARG VERSION=1');
    assert.equal(label?.createdBy, '/bin/sh -c #(nop)  LABEL org.example.test=yes');
    assert.equal(run?.createdBy, '|1 VERSION=1 /bin/sh -c echo built-$VERSION > /built.txt && head -c 5000 /dev/zero > /zeros');
    assert.deepEqual([runTrue?.createdBy, runTrue?.size, runTrue?.emptyLayer], ['|1 VERSION=1 /bin/sh -c true', 0, true]);
    assert.equal(user?.createdBy, '/bin/sh -c #(nop)  USER 1000');
    assert.equal(cmd?.createdBy, '/bin/sh -c #(nop)  CMD ["sh"]');
    assert.deepEqual([copyA?.size, copyDir?.size, run?.size], [5, 9, 5008]);
    // Every step of a legacy build is an intermediate image the engine still has.
    assert.ok(history.every((h) => h.id !== undefined));
    assert.deepEqual(cmd?.tags, ['ll/app:1']);
  });

  void test('maps every layer-creating instruction to its diff_id and size', async () => {
    const image = await client.imageInspect('ll/app:1');
    assert.ok(image);
    const history = await client.imageHistory('ll/app:1');
    const instructions = chainOf(appDockerfile);
    const match = matchHistoryToInstructions(history, image.rootfs.diffIds, instructions, 1);
    assert.equal(match.complete, true, JSON.stringify(match.mismatch));
    assert.equal(match.baseLayers, 1);
    assert.equal(match.layers.length, instructions.length - 1); // all but FROM
    const byLine = new Map(match.layers.map((l) => [instructions[l.instructionIndex]?.line, l]));
    const diffIds = image.rootfs.diffIds;
    assert.deepEqual(byLine.get(2), { instructionIndex: 2, historyIndex: 2, diffId: diffIds[1], layerIndex: 1, size: 0 }); // WORKDIR
    assert.deepEqual(byLine.get(3), { instructionIndex: 3, historyIndex: 3, diffId: diffIds[2], layerIndex: 2, size: 5 }); // COPY a.txt
    assert.deepEqual(byLine.get(4), { instructionIndex: 4, historyIndex: 4, diffId: diffIds[3], layerIndex: 3, size: 9 }); // COPY dir
    assert.deepEqual(byLine.get(7), { instructionIndex: 7, historyIndex: 7, diffId: diffIds[4], layerIndex: 4, size: 5008 }); // RUN
    assert.deepEqual(byLine.get(8), { instructionIndex: 8, historyIndex: 8, size: 0 }); // RUN true: no layer
    for (const line of [1, 5, 6, 9, 10]) assert.equal(byLine.get(line)?.diffId, undefined);
    // Every layer-creating instruction that changed files has a layer.
    for (const instruction of instructions.filter((i) => i.createsLayer && !i.args.includes('true'))) {
      assert.ok(byLine.get(instruction.line)?.diffId, `line ${instruction.line + 1}`);
    }
  });

  void test('maps a child image on a locally built base; a size-0 RUN layer is still a layer', async () => {
    const image = await client.imageInspect('ll/child:1');
    assert.ok(image);
    const history = await client.imageHistory('ll/child:1');
    const layers = mapHistoryToInstructions(history, image.rootfs.diffIds, chainOf(childDockerfile), 5);
    assert.deepEqual(
      layers.map((l) => [l.instructionIndex, l.layerIndex, l.size]),
      [[1, undefined, 0], [2, 5, 0], [3, undefined, 0], [4, 6, 2]],
    );
    assert.equal(layers[1]?.diffId, image.rootfs.diffIds[5]);
    assert.equal(layers[3]?.diffId, image.rootfs.diffIds[6]);
  });

  void test('maps a multi-stage target through its FROM chain, not the COPY --from stage', async () => {
    const image = await client.imageInspect('ll/multi:1');
    assert.ok(image);
    const history = await client.imageHistory('ll/multi:1');
    const chain = chainOf(multiStageDockerfile);
    const match = matchHistoryToInstructions(history, image.rootfs.diffIds, chain, 1);
    assert.equal(match.complete, true, JSON.stringify(match.mismatch));
    const lines = new Map(chain.map((i) => [i.index, i.line]));
    assert.deepEqual(
      match.layers.map((l) => [lines.get(l.instructionIndex), l.layerIndex, l.size]),
      [[1, 1, 'base\n'.length], [5, 2, 'other-stage\n'.length], [6, undefined, 0]],
    );
  });

  void test('another Dockerfile maps only as far as it agrees', async () => {
    const image = await client.imageInspect('ll/child:1');
    assert.ok(image);
    const history = await client.imageHistory('ll/child:1');
    const other = chainOf(['FROM ll/app:1', 'USER root', 'RUN mkdir /data', 'ENV X=1', 'COPY b.txt /data/', ''].join('\n'));
    const match = matchHistoryToInstructions(history, image.rootfs.diffIds, other);
    assert.equal(match.complete, false);
    assert.deepEqual(match.mismatch, { instructionIndex: 3, expected: 'ENV', found: 'RUN' });
    assert.deepEqual(match.layers.map((l) => l.instructionIndex), [4]);
  });

  void test('IMAGE_NOT_FOUND for the history of a missing image', async () => {
    await assert.rejects(client.imageHistory('ll/nothing:here'), (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.code, 'IMAGE_NOT_FOUND');
      assert.match(error.message, /^image "ll\/nothing:here" not found in the Docker engine at unix:\/\/\S+ — build or pull it first/);
      return true;
    });
  });

  void test('ENGINE_ERROR keeps the engine message', async () => {
    // The engine refuses an invalid reference with its own message (HTTP 400 on 20.10).
    await assert.rejects(client.imageInspect('UPPER/case:1'), (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.code, 'ENGINE_ERROR', error.message);
      assert.ok(error.engineMessage && error.message.includes(error.engineMessage));
      assert.ok(!error.message.includes('\n'));
      return true;
    });
  });
});

void test('ENGINE_UNREACHABLE for a socket that does not exist is one line', async () => {
  const scratch = await makeTempDir('no-engine');
  const socketPath = join(scratch.path, 'missing.sock');
  const client = new DockerEngineClient({ env: { DOCKER_HOST: `unix://${socketPath}` } });
  try {
    const started = Date.now();
    await assert.rejects(client.ping(), (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.code, 'ENGINE_UNREACHABLE');
      assert.equal(error.message, `cannot reach the Docker engine at unix://${socketPath} (ENOENT) — start Docker, or fix DOCKER_HOST`);
      return true;
    });
    assert.ok(Date.now() - started < 5000);
    // Same for the calls that negotiate first.
    await assert.rejects(client.imageHistory('x:1'), { code: 'ENGINE_UNREACHABLE' });
  } finally {
    await client.close();
    await scratch.remove();
  }
});

void test('ENGINE_TIMEOUT when the socket accepts but never answers', async () => {
  const { createServer } = await import('node:net');
  const scratch = await makeTempDir('mute-engine');
  const socketPath = join(scratch.path, 'mute.sock');
  const held: import('node:net').Socket[] = [];
  const server = createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const client = new DockerEngineClient({ host: { kind: 'unix', socketPath, source: 'test' }, timeoutMs: 300 });
  try {
    await assert.rejects(client.ping(), (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.code, 'ENGINE_TIMEOUT');
      assert.match(error.message, /did not answer a ping within 0\.3 s — /);
      return true;
    });
  } finally {
    await client.close();
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await scratch.remove();
  }
});

void test('API version negotiation and image paths', () => {
  assert.equal(negotiateApiVersion('1.45'), '1.41');
  assert.equal(negotiateApiVersion('1.41'), '1.41');
  assert.equal(negotiateApiVersion('1.40'), '1.40');
  assert.equal(negotiateApiVersion(undefined), '1.24'); // the Go client's fallback
  assert.equal(negotiateApiVersion('garbage'), '1.24');
  assert.equal(encodeImageRef('localhost:5000/a/b:1'), 'localhost%3A5000/a/b%3A1');
  assert.equal(encodeImageRef('a@sha256:00'), 'a%40sha256%3A00');
  for (const bad of ['', '../containers/json', 'a/../../x', 'a?x=1', 'a#b', 'a b', 'a//b', 'a%2Fb']) {
    assert.throws(() => encodeImageRef(bad), { code: 'IMAGE_NOT_FOUND' }, bad);
  }
});
