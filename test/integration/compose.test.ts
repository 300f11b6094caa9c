// A Compose project as one command (issue 12 §3): three services — two built on one base, one
// image-only — built and pushed by `layerlift build --compose … --push`. Real dockerd, a
// token-auth registry behind the counting uplink; the base only upstream, so it must cross the
// uplink (a local pre-push) — once, not once per service.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { seedImage, writeFixtureImage } from '../bed/fixtures';
import { startFaultProxy, type FaultProxy } from '../bed/faultProxy';
import { docker, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { runCli } from './runCli';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { staticCredentials } from '../../server/src/registry/credentials';

const password = 'compose-pw-9';
let work: { path: string; remove: () => Promise<void> };
let engine: DockerEngine;
let upstream: Registry;
let team: Registry;
let uplink: FaultProxy;
let env: NodeJS.ProcessEnv;
const BASE_BYTES = 3_000_000;
const APP_BYTES = 300_000;

before(async () => {
  work = await makeTempDir('compose');
  engine = await startDockerEngine();
  upstream = await startRegistry({ auth: 'none' });
  team = await startRegistry({ auth: 'token', users: { dev: password }, acl: [{ account: 'dev', name: '*', actions: ['pull', 'push'] }] });
  uplink = await startFaultProxy(team.url);
  const base = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'random', bytes: BASE_BYTES, seed: 'compose-base' }], tag: '1' });
  await seedImage(base.layoutDir, '1', upstream.host, 'library/base');
  await docker(engine, ['login', '-u', 'dev', '--password-stdin', uplink.host], { input: password });
  env = { DOCKER_CONFIG: engine.env.DOCKER_CONFIG, DOCKER_HOST: engine.host, XDG_CACHE_HOME: join(work.path, 'cache'), DOCKER_BUILDKIT: '0' };
  const project = join(work.path, 'shop');
  for (const service of ['web', 'worker']) {
    await mkdir(join(project, service), { recursive: true });
    await writeFile(join(project, service, `${service}.bin`), randomBytes(APP_BYTES));
    await writeFile(join(project, service, 'Dockerfile'), `ARG BASE\nFROM \${BASE}\nCOPY ${service}.bin /${service}.bin\n`);
  }
  // Variables from the environment and the project's .env, as Compose interpolates them.
  await writeFile(join(project, '.env'), `REGISTRY=${uplink.host}\nTAG=1\n`);
  await writeFile(
    join(project, 'compose.yaml'),
    [
      'services:',
      '  web:',
      '    image: ${REGISTRY}/shop/web:${TAG}',
      '    build:',
      '      context: ./web',
      '      args:',
      `        BASE: ${upstream.host}/library/base:1`,
      '  worker:',
      '    image: ${REGISTRY}/shop/worker:${TAG:-latest}',
      '    build:',
      '      context: worker',
      '      dockerfile: Dockerfile',
      '      args:',
      `        - BASE=${upstream.host}/library/base:1`,
      '  cache:',
      `    image: ${upstream.host}/library/base:1`,
      '',
    ].join('\n'),
  );
});
after(async () => {
  await uplink?.stop();
  await team?.stop();
  await upstream?.stop();
  await engine?.stop();
  await work?.remove();
});

describe('a Compose project', () => {
  test('build --compose --push: two services on one base and an image-only one; the base crosses once', async () => {
    uplink.resetStats();
    const run = await runCli(['build', '--compose', join(work.path, 'shop', 'compose.yaml'), '--push', '--prepush', 'local', '--json'], env, { timeoutMs: 300_000 });
    assert.equal(run.code, 0, run.stderr);
    const sent = uplink.stats().upstreamBytes;
    console.log(`compose: ${sent} B up for a ${BASE_BYTES} B base and two ${APP_BYTES} B layers\n${run.stderr.split('\n').filter((l) => l.startsWith('layerlift:') || l.startsWith('Pushed') || l.startsWith('  ')).join('\n')}`);
    assert.ok(sent >= BASE_BYTES && sent < BASE_BYTES * 1.25 + 2 * APP_BYTES * 1.25, `sent ${sent}: the base once and the two app layers`);
    const result = JSON.parse(run.stdout) as { project: string; images: { service: string; target: string; digest: string; blobs: { action: string }[] }[] };
    assert.equal(result.project, 'shop');
    assert.deepEqual(result.images.map((i) => i.service).sort(), ['web', 'worker']);
    assert.match(run.stderr, /cache: image-only .*nothing to build/);
    assert.match(run.stderr, /pre-positioning .*library\/base:1 once for web, worker/);
    assert.match(run.stderr, /^Pushed 2 image\(s\) of shop — uploaded /m);
    const client = new RegistryClient({ credentials: staticCredentials({ [team.host]: { username: 'dev', password } }) });
    try {
      for (const image of result.images) {
        const repository = image.target.replace(/^[^/]+\//, '').replace(/:[^:]+$/, '');
        assert.equal((await client.headManifest({ registry: team.host, repository }, image.service === 'web' ? '1' : '1'))?.digest, image.digest);
      }
    } finally {
      await client.close();
    }
  });

  test('bad input is one line: an unknown service, a missing variable with :?', async () => {
    const file = join(work.path, 'shop', 'compose.yaml');
    const unknown = await runCli(['push', '--compose', file, 'db'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^layerlift: push: .*compose.yaml has no service db \(it has web, worker, cache\)/);
    const strict = join(work.path, 'strict.yaml');
    await writeFile(strict, 'services:\n  api:\n    image: ${API_IMAGE:?set API_IMAGE to the image name}\n    build: .\n');
    const missing = await runCli(['build', '--compose', strict], env);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
    assert.match(missing.stderr, /^layerlift: .*strict\.yaml: services\.api\.image: set API_IMAGE to the image name — set API_IMAGE in the environment or the \.env file/);
  });
});
