// The CI recipes in docs/ci (GitHub Actions, GitLab CI), played as two CI jobs each, with real
// parts: every job gets a fresh, empty Docker engine (its own --data-root), a token-auth registry
// is the team's, and the recipe's own shell lines run — the login and `layerlift build --cache
// auto --push …` — through bash, with `layerlift` on PATH as the built CLI. (The install step is
// the one line not played: it would fetch Layerlift from the npm registry.) Job 1 builds cold
// and pushes; job 2, after one source file changed, reuses every step before that file's COPY
// from the registry's cache and uploads only what changed. Times are printed beside the seed's
// hand-written flow (docker pull, docker build --cache-from, docker push) and a build with no cache.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { startRegistry, type Registry } from '../bed/registry';
import { seedImage, writeFixtureImage } from '../bed/fixtures';
import { startFaultProxy, type FaultProxy } from '../bed/faultProxy';
import { docker, startDockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { cliPath } from './runCli';

const password = 'ci-recipe-pw-5';
const repoRoot = join(__dirname, '..', '..');
let work: { path: string; remove: () => Promise<void> };
let registry: Registry;
let uplink: FaultProxy;
let bin: string;
let baseRef: string;

interface Recipe {
  name: string;
  file: string;
  /** The recipe's shell lines to play (login, build), from the parsed YAML. */
  lines(doc: unknown): string[];
  env(image: string, sha: string): Record<string, string>;
}

const recipes: Recipe[] = [
  {
    name: 'GitHub Actions',
    file: 'github-actions.yml',
    lines: (doc) => {
      const steps = (doc as { jobs: { image: { steps: { run?: string }[] } } }).jobs.image.steps;
      return steps.flatMap((s) => (s.run && !s.run.includes('npm install') ? [s.run] : []));
    },
    env: (image, sha) => ({ IMAGE: image, REGISTRY_USER: 'ci', REGISTRY_PASSWORD: password, GITHUB_SHA: sha }),
  },
  {
    name: 'GitLab CI',
    file: 'gitlab-ci.yml',
    lines: (doc) => {
      const job = (doc as { 'build-image': { before_script: string[]; script: string[] } })['build-image'];
      return [...job.before_script, ...job.script].filter((line) => line.includes('docker login') || line.includes('layerlift '));
    },
    env: (image, sha) => ({ CI_REGISTRY: image.split('/')[0] as string, CI_REGISTRY_IMAGE: image, CI_REGISTRY_USER: 'ci', CI_REGISTRY_PASSWORD: password, CI_COMMIT_SHORT_SHA: sha.slice(0, 8) }),
  },
];

function bash(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; output: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: '/nonexistent-home', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** A multi-stage app: a builder stage (deps, then sources, then a RUN), and a final stage. */
async function writeApp(dir: string, source: string): Promise<void> {
  await mkdir(join(dir, 'src'), { recursive: true });
  await mkdir(join(dir, 'static'), { recursive: true });
  // Dependencies and assets that do not compress (as binaries do not), written once: a job's
  // uplink bytes then show which layers it really sent.
  if (!(await readFile(join(dir, 'deps.bin')).then(() => true, () => false))) {
    await writeFile(join(dir, 'deps.bin'), randomBytes(1_000_000));
    await writeFile(join(dir, 'static', 'assets.bin'), randomBytes(1_000_000));
  }
  await writeFile(join(dir, 'src', 'main.txt'), source);
  await writeFile(
    join(dir, 'Dockerfile'),
    [
      `FROM ${baseRef} AS builder`,
      'COPY deps.bin /src/deps.bin',
      'RUN cp /src/deps.bin /deps.out && wc -c /deps.out',
      'COPY src/ /src/',
      'RUN cat /src/main.txt > /app.out && wc -c /deps.out >> /app.out',
      `FROM ${baseRef}`,
      'COPY static/ /static/',
      'COPY --from=builder /app.out /app/app.out',
      '',
    ].join('\n'),
  );
}

/** One CI job: a fresh engine, the recipe's lines, then the engine is gone. */
async function job(recipe: Recipe, image: string, sha: string, dir: string): Promise<{ output: string; seconds: number; uplinkBytes: number }> {
  const engine = await startDockerEngine();
  try {
    const doc = load(await readFile(join(repoRoot, 'docs', 'ci', recipe.file), 'utf8'));
    const lines = recipe.lines(doc);
    assert.ok(lines.some((l) => l.includes('layerlift build')) && lines.some((l) => l.includes('docker login')), `${recipe.file}: ${lines.join(' | ')}`);
    uplink.resetStats();
    const run = await bash(lines.join('\n'), dir, { ...engine.env, DOCKER_BUILDKIT: '0', XDG_CACHE_HOME: join(dir, '.cache'), ...recipe.env(image, sha) });
    assert.equal(run.code, 0, run.output);
    assert.ok(!run.output.includes(password), 'the password never shows');
    return { output: run.output, seconds: run.seconds, uplinkBytes: uplink.stats().upstreamBytes };
  } finally {
    await engine.stop();
  }
}

before(async () => {
  work = await makeTempDir('ci-recipes');
  registry = await startRegistry({ auth: 'token', users: { ci: password }, acl: [{ account: 'ci', name: '*', actions: ['pull', 'push'] }] });
  uplink = await startFaultProxy(registry.url);
  uplink.set({ throttleBytesPerSecond: { up: 8_000_000 } });
  const base = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 4_000_000, seed: 'ci-base' }], tag: '1' });
  await seedImage(base.layoutDir, '1', registry.host, 'library/base', { creds: { username: 'ci', password } });
  baseRef = `${uplink.host}/library/base:1`;
  bin = join(work.path, 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, 'layerlift'), `#!/bin/sh\nexec "${process.execPath}" "${cliPath}" "$@"\n`);
  await chmod(join(bin, 'layerlift'), 0o755);
});
after(async () => {
  await uplink?.stop();
  await registry?.stop();
  await work?.remove();
});

describe('the CI recipes, as two jobs with empty engines', () => {
  for (const recipe of recipes) {
    test(`${recipe.name}: job 2 reuses the cache before the changed file and uploads only what changed`, async () => {
      const slug = recipe.file.replace(/\W.*/, '');
      const image = `${uplink.host}/ci/${slug}`;
      const dir = join(work.path, slug);
      await writeApp(dir, 'version 1\n');
      const first = await job(recipe, image, 'aaaaaaaaaaaaaaaa', dir);
      // Job 1 is cold: its only cache hits are the builder stage it built itself a moment before.
      const coldHits = (first.output.match(/Using cache/g) ?? []).length;
      assert.match(first.output, /no cache image .*cache-builder yet/);
      await writeFile(join(dir, 'src', 'main.txt'), 'version 2\n');
      const second = await job(recipe, image, 'bbbbbbbbbbbbbbbb', dir);
      const hits = (second.output.match(/Using cache/g) ?? []).length;
      console.log(`${recipe.name}: job 1 ${first.seconds.toFixed(1)} s, ${(first.uplinkBytes / 1e6).toFixed(2)} MB up; job 2 ${second.seconds.toFixed(1)} s, ${(second.uplinkBytes / 1e6).toFixed(2)} MB up, ${hits} cached steps (job 1: ${coldHits})`);
      // Beyond that, job 2 takes the builder stage's COPY deps.bin and RUN cp from the pulled
      // cache image, and the final stage's COPY static/; from COPY src/ on, steps run again.
      assert.ok(hits >= coldHits + 3, `${hits} cached steps in job 2, ${coldHits} in job 1:\n${second.output}`);
      assert.ok(second.uplinkBytes < first.uplinkBytes / 3, `job 2 sent ${second.uplinkBytes}, job 1 ${first.uplinkBytes}`);
      assert.match(second.output, /Pushed .*ci\/[a-z-]+:latest@sha256:[0-9a-f]{64}/);
    });
  }

  test('the seed\'s hand-written flow and a build with no cache, for comparison', async () => {
    const dir = join(work.path, 'by-hand');
    await writeApp(dir, 'version 1\n');
    const image = `${uplink.host}/ci/by-hand`;
    const engine = await startDockerEngine();
    try {
      await docker(engine, ['login', '-u', 'ci', '--password-stdin', uplink.host], { input: password });
      await docker(engine, ['build', '--target', 'builder', '-t', `${image}:builder`, dir]);
      await docker(engine, ['build', '-t', `${image}:latest`, dir]);
      await docker(engine, ['push', `${image}:builder`]);
      await docker(engine, ['push', `${image}:latest`]);
    } finally {
      await engine.stop();
    }
    await writeFile(join(dir, 'src', 'main.txt'), 'version 2\n');
    const again = await startDockerEngine();
    try {
      await docker(again, ['login', '-u', 'ci', '--password-stdin', uplink.host], { input: password });
      uplink.resetStats();
      const started = Date.now();
      for (const tag of ['builder', 'latest']) await docker(again, ['pull', `${image}:${tag}`]);
      await docker(again, ['build', '--target', 'builder', '--cache-from', `${image}:builder`, '-t', `${image}:builder`, dir]);
      const build = await docker(again, ['build', '--cache-from', `${image}:builder`, '--cache-from', `${image}:latest`, '-t', `${image}:latest`, dir]);
      await docker(again, ['push', `${image}:builder`]);
      await docker(again, ['push', `${image}:latest`]);
      const byHand = (Date.now() - started) / 1000;
      const byHandBytes = uplink.stats().upstreamBytes;
      uplink.resetStats();
      const coldStarted = Date.now();
      await docker(again, ['build', '--no-cache', '-t', `${image}:cold`, dir]);
      await docker(again, ['push', `${image}:cold`]);
      const cold = (Date.now() - coldStarted) / 1000;
      console.log(`seed's flow by hand, job 2: ${byHand.toFixed(1)} s, ${(byHandBytes / 1e6).toFixed(2)} MB up; no cache: ${cold.toFixed(1)} s, ${(uplink.stats().upstreamBytes / 1e6).toFixed(2)} MB up`);
      assert.match(build.stdout, /Using cache/);
    } finally {
      await again.stop();
    }
  });
});
