// A team's base, pre-pushed once into a mirror and mounted by every app repository (issue 12
// §1): three apps on one base in three repositories of a token-auth registry, the base only
// upstream, a runner near the registry and a mirror rule. Real dockerd, real Distribution, the
// user's uplink a counting proxy; the runner reaches the registry directly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { seedImage, writeFixtureImage } from '../bed/fixtures';
import { startFaultProxy, type FaultProxy } from '../bed/faultProxy';
import { buildImage, docker, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { cliPath, runCli } from './runCli';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { staticCredentials } from '../../server/src/registry/credentials';

const password = 'team-mirror-pw-3';
let work: { path: string; remove: () => Promise<void> };
let engine: DockerEngine;
let upstream: Registry;
let team: Registry;
let uplink: FaultProxy;
let baseRef: string;
let env: NodeJS.ProcessEnv;
let runner: string;
let runnerLog: string;
let mirrorRule: string;

async function tags(repository: string): Promise<string[]> {
  const client = new RegistryClient({ credentials: staticCredentials({ [team.host]: { username: 'alice', password } }) });
  try {
    return await client.listTags({ registry: team.host, repository });
  } finally {
    await client.close();
  }
}

async function buildApp(name: string): Promise<string> {
  const context = join(work.path, name);
  await mkdir(context, { recursive: true });
  await writeFile(join(context, 'app.bin'), randomBytes(500_000));
  await writeFile(join(context, 'Dockerfile'), `FROM ${baseRef}\nCOPY app.bin /app.bin\n`);
  const tag = `${name}:1`;
  await buildImage(engine, context, tag);
  return tag;
}

before(async () => {
  work = await makeTempDir('team-mirror');
  engine = await startDockerEngine();
  upstream = await startRegistry({ auth: 'none' });
  team = await startRegistry({
    auth: 'token',
    users: { alice: password, carol: password },
    acl: [
      { account: 'alice', name: '*', actions: ['pull', 'push', 'delete'] },
      // carol may push her apps but not read the team's mirror
      { account: 'carol', name: 'team/*', actions: ['pull', 'push'] },
    ],
  });
  uplink = await startFaultProxy(team.url);
  const base = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 6_000_000, seed: 'team-mirror-base' }], tag: '1' });
  await seedImage(base.layoutDir, '1', upstream.host, 'library/base');
  baseRef = `${upstream.host}/library/base:1`;
  await docker(engine, ['pull', baseRef]);
  for (const host of [uplink.host, team.host]) await docker(engine, ['login', '-u', 'alice', '--password-stdin', host], { input: password });
  env = { DOCKER_CONFIG: engine.env.DOCKER_CONFIG, DOCKER_HOST: engine.host, XDG_CACHE_HOME: join(work.path, 'cache') };
  runnerLog = join(work.path, 'runner.log');
  // The runner stands for a machine next to the registry: it reaches it directly, not through the uplink.
  runner = `echo {target} >> ${runnerLog}; ${process.execPath} ${cliPath} copy {source} "$(printf %s {target} | sed s/${uplink.host}/${team.host}/)"`;
  mirrorRule = `${upstream.host}/library/*=${uplink.host}/hub/library/*`;
});
after(async () => {
  await uplink?.stop();
  await team?.stop();
  await upstream?.stop();
  await engine?.stop();
  await work?.remove();
});

describe('a base pre-pushed once per registry, through a mirror', () => {
  test('three apps, three repositories: the runner fills the mirror once, each push sends only its own layer, no prepush tag in app repositories', async () => {
    for (const name of ['alpha', 'beta', 'gamma']) {
      const image = await buildApp(name);
      uplink.resetStats();
      const run = await runCli(['push', '--json', '--prepush', 'runner', '--runner', runner, '--mirror', mirrorRule, image, `${uplink.host}/team/${name}:1`], env, { timeoutMs: 180_000 });
      assert.equal(run.code, 0, run.stderr);
      const sent = uplink.stats().upstreamBytes;
      const result = JSON.parse(run.stdout) as { blobs: { action: string; from: string | null; size: number }[] };
      console.log(`${name}: ${sent} B up; ${result.blobs.map((b) => `${b.action}${b.from ? ` from ${b.from}` : ''}`).join(', ')}`);
      assert.ok(sent <= 500_000 * 1.25 + 50_000, `${name} sent ${sent}`);
      assert.deepEqual(result.blobs.slice(0, 2).map((b) => [b.action, b.from]), [['mount', 'hub/library/base'], ['mount', 'hub/library/base']]);
      assert.deepEqual((await tags(`team/${name}`)).filter((t) => t.startsWith('prepush-')), [], `no prepush tag in team/${name}`);
    }
    const ran = (await readFile(runnerLog, 'utf8')).trim().split('\n');
    assert.equal(ran.length, 1, `the runner ran ${ran.length} times: ${ran.join(' | ')}`);
    assert.match(ran[0] ?? '', /\/hub\/library\/base:prepush-[0-9a-f]{12}$/);
    assert.equal((await tags('hub/library/base')).filter((t) => t.startsWith('prepush-')).length, 1);
  });

  test('layerlift prepush BASE --mirror fills the mirror ahead of time, with no target named', async () => {
    const rule = `${upstream.host}/library/*=${team.host}/nightly/library/*`;
    const run = await runCli(['prepush', '--json', '--mirror', rule, baseRef], { DOCKER_CONFIG: engine.env.DOCKER_CONFIG }, { timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.match((JSON.parse(run.stdout) as { target: string }).target, new RegExp(`^${team.host.replace(/\./g, '\\.')}/nightly/library/base:prepush-`));
    const missing = await runCli(['prepush', baseRef], { DOCKER_CONFIG: engine.env.DOCKER_CONFIG });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /name a TARGET-REPO, or a --mirror rule/);
  });

  test('a user without pull on the mirror is told so in one line, and the push still completes', async () => {
    const carolConfig = join(work.path, 'carol');
    await mkdir(carolConfig, { recursive: true });
    await writeFile(join(carolConfig, 'config.json'), JSON.stringify({ auths: { [uplink.host]: { auth: Buffer.from(`carol:${password}`).toString('base64') } } }));
    const image = await buildApp('delta');
    const run = await runCli(['push', '--json', '--prepush', 'mount', '--mirror', mirrorRule, image, `${uplink.host}/team/delta:1`], { ...env, DOCKER_CONFIG: carolConfig, XDG_CACHE_HOME: join(work.path, 'carol-cache') }, { timeoutMs: 180_000 });
    assert.equal(run.code, 0, run.stderr);
    const warnings = run.stderr.split('\n').filter((l) => l.includes('no pull access'));
    assert.equal(warnings.length, 1, run.stderr);
    assert.match(warnings[0] ?? '', new RegExp(`^layerlift: warning: no pull access to ${uplink.host.replace(/\./g, '\\.')}/hub/library/base, .*pull rights`));
  });

  test('prune-prepush removes the pre-push tags no image uses any more, and keeps the rest', async () => {
    const prune = (args: string[]) => runCli(['prune-prepush', '--json', ...args], { DOCKER_CONFIG: engine.env.DOCKER_CONFIG });
    type Pruned = { removed: { tag: string; reason: string }[]; kept: string[] };
    // The mirror's base is used by the three apps: kept.
    const users = ['alpha', 'beta', 'gamma'].flatMap((n) => ['--used-by', `${team.host}/team/${n}`]);
    const inUse = await prune([...users, `${team.host}/hub/library/base`]);
    assert.equal(inUse.code, 0, inUse.stderr);
    assert.deepEqual((JSON.parse(inUse.stdout) as Pruned).removed, []);
    // Without a mirror the pre-push tag sits in the app repository; once its tag names an image on
    // another base, nothing uses the pre-pushed base any more.
    const image = await buildApp('solo');
    const pushed = await runCli(['push', '--json', '--prepush', 'local', image, `${team.host}/team/solo:1`], { ...env, XDG_CACHE_HOME: join(work.path, 'solo-cache') }, { timeoutMs: 180_000 });
    assert.equal(pushed.code, 0, pushed.stderr);
    const prepushTags = (await tags('team/solo')).filter((t) => t.startsWith('prepush-'));
    assert.equal(prepushTags.length, 1);
    const kept = await prune([`${team.host}/team/solo`]);
    assert.deepEqual((JSON.parse(kept.stdout) as Pruned).removed, [], 'team/solo:1 still uses the base');
    const lonely = join(work.path, 'lonely');
    await mkdir(lonely, { recursive: true });
    await writeFile(join(lonely, 'x.bin'), randomBytes(1000));
    await writeFile(join(lonely, 'Dockerfile'), 'FROM scratch\nCOPY x.bin /x.bin\n');
    await buildImage(engine, lonely, 'lonely:1');
    const moved = await runCli(['push', '--json', 'lonely:1', `${team.host}/team/solo:1`], { ...env, XDG_CACHE_HOME: join(work.path, 'solo-cache') }, { timeoutMs: 120_000 });
    assert.equal(moved.code, 0, moved.stderr);
    const dry = await runCli(['prune-prepush', '--dry-run', `${team.host}/team/solo`], { DOCKER_CONFIG: engine.env.DOCKER_CONFIG });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, new RegExp(`would remove .*team/solo:${prepushTags[0]} .*no image uses its base`));
    assert.deepEqual((await tags('team/solo')).filter((t) => t.startsWith('prepush-')), prepushTags, 'a dry run removes nothing');
    const removed = await prune([`${team.host}/team/solo`]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual((JSON.parse(removed.stdout) as Pruned).removed.map((r) => [r.tag, r.reason]), [[prepushTags[0], 'unused']]);
    assert.deepEqual((await tags('team/solo')).filter((t) => t.startsWith('prepush-')), []);
    assert.deepEqual(await tags('team/solo'), ['1'], 'the app tag stays');
  });
});
