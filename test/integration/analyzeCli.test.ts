// `layerlift analyze` as a user runs it: JSON shape, the table, errors with line numbers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { seedImage, writeFixtureImage, type FixtureImage } from '../bed/fixtures';
import { makeTempDir } from '../bed/process';
import { runCli } from './runCli';

let work: { path: string; remove: () => Promise<void> };
let registry: Registry;
let fixture: FixtureImage;
let project: string;

interface AnalyzeJson {
  stages: { index: number; name: string | null; line: number; base: string | null; platform: string }[];
  target: number;
  instructions: { line: number; stage: number; instruction: string; layer: boolean; estimate: { bytes: number | null; compressedBytes: number | null; basis: string } | null }[];
  errors: { line: number; message: string }[];
  totals: { uploadBytes: number; totalBytes: number; unknownLayers: number } | null;
}

before(async () => {
  work = await makeTempDir('analyze');
  registry = await startRegistry({ auth: 'none' });
  fixture = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'busybox' }], tag: 'v1' });
  await seedImage(fixture.layoutDir, 'v1', registry.host, 'library/base');
  project = join(work.path, 'project');
  await mkdir(join(project, 'src'), { recursive: true });
  await writeFile(join(project, 'src', 'main.txt'), 'main '.repeat(10_000));
  await writeFile(join(project, 'src', 'skip.log'), 'x'.repeat(50_000));
  await writeFile(join(project, '.dockerignore'), '**/*.log\n');
  await writeFile(
    join(project, 'Dockerfile'),
    [
      `ARG REGISTRY=${registry.host}`,
      'ARG TAG',
      'FROM ${REGISTRY}/library/base:${TAG:-v1} AS build',
      'COPY src/ /src/',
      'RUN echo built',
      'FROM alpine:3.19@sha256:' + 'a'.repeat(64),
      'COPY --from=build /src /app',
      '',
    ].join('\n'),
  );
});
after(async () => {
  await registry.stop();
  await work.remove();
});

describe('layerlift analyze', () => {
  test('--json: stages with fully qualified bases, layer instructions with estimates, 1-based lines', async () => {
    const run = await runCli(['analyze', '--json', '--target', 'build', '--image', `${registry.host}/team/app:1`, join(project, 'Dockerfile')]);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as AnalyzeJson;
    assert.deepEqual(
      result.stages.map((s) => [s.index, s.name, s.line, s.base]),
      [
        [0, 'build', 3, `${registry.host}/library/base:v1`],
        [1, null, 6, `docker.io/library/alpine:3.19@sha256:${'a'.repeat(64)}`],
      ],
    );
    assert.equal(result.target, 0);
    const copy = result.instructions.find((i) => i.line === 4);
    assert.equal(copy?.instruction, 'COPY');
    assert.equal(copy?.layer, true);
    // .dockerignore drops skip.log: only main.txt's 50 000 bytes count.
    assert.equal(copy?.estimate?.bytes, 50_000);
    assert.equal(copy?.estimate?.basis, 'context');
    assert.ok((copy?.estimate?.compressedBytes ?? 0) < 5_000);
    const run5 = result.instructions.find((i) => i.line === 5);
    assert.deepEqual(run5?.estimate, { bytes: null, compressedBytes: null, basis: 'unknown' });
    assert.equal(result.instructions.find((i) => i.instruction === 'FROM')?.layer, false);
    assert.deepEqual(result.errors, []);
    // The base is in the same registry (library/base) but not in team/app: mountable, not uploaded.
    assert.equal(result.totals?.uploadBytes, copy?.estimate?.compressedBytes);
  });

  test('the table names stages, lines and sizes', async () => {
    const run = await runCli(['analyze', '--offline', join(project, 'Dockerfile')]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Stage 0 \(build\), line 3: FROM 127\.0\.0\.1:\d+\/library\/base:v1 \[linux\/amd64\]/m);
    assert.match(run.stdout, /line {4}4 {2}COPY {2}50\.0 kB \(~[\d.]+ k?B compressed, est\.\)/);
    assert.match(run.stdout, /line {4}5 {2}RUN {3}size after build/);
  });

  test('an unresolvable FROM: exit 1, the error with its line, no crash', async () => {
    const bad = join(project, 'Dockerfile.bad');
    await writeFile(bad, 'ARG BASE\nFROM ${BASE}\nRUN true\n');
    const run = await runCli(['analyze', '--offline', '--json', bad]);
    assert.equal(run.code, 1);
    const result = JSON.parse(run.stdout) as AnalyzeJson;
    assert.equal(result.errors[0]?.line, 2);
    assert.ok((result.errors[0]?.message.length ?? 0) > 0);
    const missing = await runCli(['analyze', join(project, 'nope')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^layerlift: cannot read .*nope: ENOENT/);
  });
});
