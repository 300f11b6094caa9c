// `layerlift analyze` as a user runs it: JSON shape, the table, errors with line numbers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
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
  context: { path: string; builder: string; dockerignoreRules: string } | null;
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

  test('.dockerignore under the builder docker would use: wildcard exceptions (issue 14)', async () => {
    // big + !**/keep.txt and **/node_modules + !**/node_modules/keep: BuildKit's walker enters the
    // excluded directories (a wildcard exception), the legacy builder's does not.
    const dir = join(work.path, 'wildcards');
    const files: Record<string, number> = { 'app.txt': 1_000, 'big/junk.bin': 70_000, 'big/x/keep.txt': 3_000, 'web/node_modules/keep': 5_000, 'web/node_modules/pad/index.js': 90_000 };
    for (const [path, size] of Object.entries(files)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), 'k'.repeat(size));
    }
    const ignore = 'big\n!**/keep.txt\n**/node_modules\n!**/node_modules/keep\nDockerfile\n.dockerignore\n';
    await writeFile(join(dir, '.dockerignore'), ignore);
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /ctx\n');
    const analyze = async (env: NodeJS.ProcessEnv) => {
      const run = await runCli(['analyze', '--offline', '--json', join(dir, 'Dockerfile')], env);
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout) as AnalyzeJson;
      return { context: result.context, bytes: result.instructions.find((i) => i.instruction === 'COPY')?.estimate?.bytes };
    };
    const legacy = await analyze({ DOCKER_BUILDKIT: '0' });
    assert.deepEqual(legacy.context, { path: dir, builder: 'legacy', dockerignoreRules: 'legacy' });
    assert.equal(legacy.bytes, 1_000);
    const buildkit = await analyze({ DOCKER_BUILDKIT: '1' });
    assert.equal(buildkit.context?.dockerignoreRules, 'buildkit');
    assert.ok(['buildx', 'buildkit'].includes(buildkit.context?.builder ?? ''), buildkit.context?.builder);
    assert.equal(buildkit.bytes, 1_000 + 3_000 + 5_000);
    // Unset: BuildKit where buildx is installed, else the legacy builder (asked here as docker would be).
    const buildx = await new Promise<boolean>((resolve) => execFile('docker', ['buildx', 'version'], (error) => resolve(!error)));
    const chosen = await analyze({});
    assert.equal(chosen.context?.dockerignoreRules, buildx ? 'buildkit' : 'legacy');
    assert.equal(chosen.bytes, buildx ? 9_000 : 1_000);
  });
});
