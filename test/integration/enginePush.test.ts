// The engine uploader (issue 10): Layerlift plans and mounts, then the engine's own push sends the
// rest. Real dockerd, real Distribution with token auth, a byte-counting uplink proxy (4 MB/s)
// in front of it, and plain `docker push` as the peer. The base comes from another registry
// (standing for Docker Hub) and was pulled into the engine; an admin mirrored it into the team
// registry under its own path.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { seedImage, writeFixtureImage, type FixtureImage } from '../bed/fixtures';
import { startFaultProxy, type FaultProxy } from '../bed/faultProxy';
import { buildImage, docker, inspectImage, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { runCli } from './runCli';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { dockerConfigCredentials, staticCredentials } from '../../server/src/registry/credentials';
import { parseReference } from '../../server/src/core/reference';
import { runPushSession } from '../../server/src/push/pushSession';
import type { PushEvent } from '../../server/src/push/mover';
import { isRegistryError } from '../../server/src/registry/errors';

const password = 'engine-push-pw-7';
let work: { path: string; remove: () => Promise<void> };
let engine: DockerEngine;
let upstream: Registry;
let team: Registry;
let uplink: FaultProxy;
let base: FixtureImage;
let baseRef: string;
let env: NodeJS.ProcessEnv;

async function dockerLogin(host: string, user = 'alice', secret = password): Promise<void> {
  await docker(engine, ['login', '-u', user, '--password-stdin', host], { input: secret });
}

/** Builds base + one incompressible layer of `bytes`, tagged `tag`. */
async function buildApp(name: string, tag: string, bytes = 1_000_000): Promise<void> {
  const context = join(work.path, name);
  await mkdir(context, { recursive: true });
  await writeFile(join(context, 'app.bin'), randomBytes(bytes));
  await writeFile(join(context, 'Dockerfile'), `FROM ${baseRef}\nCOPY app.bin /app/app.bin\n`);
  await buildImage(engine, context, tag);
}

async function tagDigest(repository: string, tag: string): Promise<string | undefined> {
  const client = new RegistryClient({ credentials: staticCredentials({ [team.host]: { username: 'alice', password } }) });
  try {
    return (await client.headManifest({ registry: team.host, repository }, tag))?.digest;
  } finally {
    await client.close();
  }
}

async function repoTags(ref: string): Promise<string[]> {
  return ((await inspectImage(engine, ref)).RepoTags as string[]).slice().sort();
}

/** One push in this process, so its events can be read; the CLI's wiring (pushSession). */
async function pushHere(image: string, target: string, options: { signal?: AbortSignal; onEvent?: (e: PushEvent) => void } = {}) {
  const client = new RegistryClient({ credentials: dockerConfigCredentials({ env }) });
  try {
    return await runPushSession({ image, target: parseReference(target), ...options }, { client, credentials: dockerConfigCredentials({ env }), insecureRegistries: [], env });
  } finally {
    await client.close();
  }
}

before(async () => {
  work = await makeTempDir('engine-push');
  engine = await startDockerEngine();
  upstream = await startRegistry({ auth: 'none' });
  team = await startRegistry({
    auth: 'token',
    users: { alice: password, bob: password },
    acl: [
      { account: 'alice', name: '*', actions: ['pull', 'push'] },
      { account: 'bob', name: '*', actions: ['pull'] },
    ],
  });
  uplink = await startFaultProxy(team.url);
  uplink.set({ throttleBytesPerSecond: { up: 4_000_000 } });
  base = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 12_000_000, seed: 'engine-push-base' }], tag: '1' });
  await seedImage(base.layoutDir, '1', upstream.host, 'library/base');
  baseRef = `${upstream.host}/library/base:1`;
  await docker(engine, ['pull', baseRef]);
  await dockerLogin(uplink.host);
  await dockerLogin(team.host);
  env = { DOCKER_CONFIG: engine.env.DOCKER_CONFIG, DOCKER_HOST: engine.host, XDG_CACHE_HOME: join(work.path, 'cache'), HOME: '/nonexistent-home' };
  // An admin mirrored the base into the team registry, not over the user's uplink.
  const mirror = await runCli(['copy', baseRef, `${team.host}/library/base:1`], { DOCKER_CONFIG: engine.env.DOCKER_CONFIG });
  assert.equal(mirror.code, 0, mirror.stderr);
});
after(async () => {
  await uplink?.stop();
  await team?.stop();
  await upstream?.stop();
  await engine?.stop();
  await work?.remove();
});

describe('the engine uploader', () => {
  test('first push: the base is mounted, the engine sends only the app layer, progress per layer, the added tag removed', async () => {
    await buildApp('first', 'app:1');
    const tagsBefore = await repoTags('app:1');
    const events: PushEvent[] = [];
    uplink.resetStats();
    const result = await pushHere('app:1', `${uplink.host}/team/app:1`, { onEvent: (e) => events.push(e) });
    const sent = uplink.stats().upstreamBytes;
    assert.equal(result.uploader, 'engine');
    const unique = result.blobs.filter((b) => b.action === 'upload').reduce((sum, b) => sum + b.size, 0);
    console.log(`engine first push: ${sent} B over the uplink for ${unique} B of unique compressed layers (${(sent / unique).toFixed(3)}x); plan ${result.planMs} ms; ${result.seconds.toFixed(2)} s`);
    assert.ok(unique >= 1_000_000 && sent <= unique * 1.25, `sent ${sent} for ${unique}`);
    assert.deepEqual(result.blobs.map((b) => b.action), [...base.layers.map(() => 'mount'), 'upload']);
    assert.deepEqual(result.blobs.slice(0, base.layers.length).map((b) => b.digest), base.layers.map((l) => l.digest), 'base blobs kept as published');
    assert.equal(await tagDigest('team/app', '1'), result.digest);
    // Events: the plan, a mount per base layer, the app layer pushing then pushed (named by diff_id).
    assert.equal(events[0]?.type, 'plan');
    assert.equal(events.filter((e) => e.type === 'blob-done' && e.action === 'mount').length, base.layers.length);
    const appDiffId = ((await inspectImage(engine, 'app:1')).RootFS as { Layers: string[] }).Layers.at(-1);
    assert.ok(events.some((e) => e.type === 'blob-progress' && e.digest === appDiffId), 'progress for the app layer');
    assert.ok(events.some((e) => e.type === 'blob-done' && e.action === 'upload' && e.digest === appDiffId), 'the app layer reported pushed');
    assert.equal(events.at(-1)?.type, 'blob-done');
    assert.deepEqual(await repoTags('app:1'), tagsBefore, 'the tag Layerlift added for the push is gone');
  });

  test('rebuild: the engine starts from the local index without a registry read and sends only the new layer', async () => {
    await buildApp('rebuild', 'app:1');
    uplink.resetStats();
    const requestsBefore = uplink.requests().length;
    const run = await runCli(['push', '--json', 'app:1', `${uplink.host}/team/app:1`], env, { timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { uploader: string; planSeconds: number; seconds: number; blobs: { action: string; size: number }[]; digest: string };
    const sent = uplink.stats().upstreamBytes;
    const unique = result.blobs.filter((b) => b.action === 'upload').reduce((sum, b) => sum + b.size, 0);
    console.log(`engine rebuild: ${sent} B up for ${unique} B new; planned in ${(result.planSeconds * 1000).toFixed(0)} ms; ${result.seconds.toFixed(2)} s in all`);
    assert.equal(result.uploader, 'engine');
    assert.ok(result.planSeconds < 0.3, `planned in ${result.planSeconds} s`);
    assert.deepEqual(result.blobs.map((b) => b.action), [...base.layers.map(() => 'exists'), 'upload']);
    assert.ok(sent <= unique * 1.25, `sent ${sent} for ${unique}`);
    // No plan read the registry before the engine began: the first request through the uplink is
    // the greeting (GET /v2/, RegistryClient.greet) or the engine's own, never a manifest read.
    const first = uplink.requests()[requestsBefore];
    assert.ok(first && !/\/manifests\//.test(first.path), `first request ${first?.method} ${first?.path}`);
    assert.equal(await tagDigest('team/app', '1'), result.digest);
  });

  test('progress a CI log can read: --progress plain lines per layer change, --progress json events', async () => {
    await buildApp('logs', 'logs:1', 300_000);
    const plain = await runCli(['push', '--progress', 'plain', 'logs:1', `${uplink.host}/team/logs:1`], env, { timeoutMs: 120_000 });
    assert.equal(plain.code, 0, plain.stderr);
    const lines = plain.stderr.trim().split('\n');
    assert.match(lines[0] ?? '', /^\[ +\d+\.\ds\] plan: 3 layers — 2 mount, 1 upload \(the engine's push\)$/);
    assert.equal(lines.filter((l) => /^\[ +\d+\.\ds\] mount [0-9a-f]{12} \S+ \S+ done$/.test(l)).length, 2, plain.stderr);
    assert.ok(lines.some((l) => /^\[ +\d+\.\ds\] upload [0-9a-f]{12} started \S+ \S+$/.test(l)), plain.stderr);
    assert.ok(lines.some((l) => /^\[ +\d+\.\ds\] upload [0-9a-f]{12} done \S+ \S+ sent$/.test(l)), plain.stderr);
    assert.match(lines.at(-1) ?? '', /^Pushed .*team\/logs:1@sha256:[0-9a-f]{64} by the engine — uploaded/);
    await buildApp('logs', 'logs:1', 300_000);
    const json = await runCli(['push', '--progress', 'json', 'logs:1', `${uplink.host}/team/logs:1`], env, { timeoutMs: 120_000 });
    assert.equal(json.code, 0, json.stderr);
    const events = json.stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; time: string; elapsed: number });
    assert.equal(events[0]?.type, 'plan');
    assert.ok(events.every((e) => typeof e.elapsed === 'number' && !Number.isNaN(Date.parse(e.time))), json.stderr);
    assert.ok(events.some((e) => e.type === 'blob-done'), json.stderr);
  });

  test('several targets: the layers go once, then every tag', async () => {
    await buildApp('tags', 'tags:1', 500_000);
    uplink.resetStats();
    const run = await runCli(['push', '--json', 'tags:1', `${uplink.host}/team/tags:latest`, `${uplink.host}/team/tags:1.4.7`], env, { timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    const results = JSON.parse(run.stdout) as { target: string; digest: string; blobs: { action: string; size: number }[] }[];
    assert.deepEqual(results.map((r) => r.target), [`${uplink.host}/team/tags:latest`, `${uplink.host}/team/tags:1.4.7`]);
    assert.equal(results[0]?.digest, results[1]?.digest);
    assert.deepEqual(results[1]?.blobs.map((b) => b.action), results[1]?.blobs.map(() => 'exists'), 'the second tag finds every layer');
    const sent = uplink.stats().upstreamBytes;
    assert.ok(sent <= 500_000 * 1.25 + 60_000, `sent ${sent} for a 500 kB layer and two tags`);
    assert.equal(await tagDigest('team/tags', '1.4.7'), results[0]?.digest);
    assert.equal(await tagDigest('team/tags', 'latest'), results[0]?.digest);
  });

  test('a local tag already named like the target is put back on its own image', async () => {
    await buildApp('other', 'other:1', 1000);
    const target = `${uplink.host}/team/taken:1`;
    await docker(engine, ['tag', 'other:1', target]);
    const otherId = (await inspectImage(engine, 'other:1')).Id;
    const run = await runCli(['push', '--json', 'app:1', target], env, { timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await inspectImage(engine, target)).Id, otherId, 'the local tag names its image again');
    const pushed = JSON.parse(run.stdout) as { digest: string };
    assert.equal(await tagDigest('team/taken', '1'), pushed.digest);
  });

  test('cancelled mid-push: the engine stops, the registry tag and the engine tags stay as they were', async () => {
    const before = await tagDigest('team/app', '1');
    await buildApp('cancel', 'app:2', 6_000_000);
    const tagsBefore = await repoTags('app:2');
    uplink.set({ throttleBytesPerSecond: { up: 1_000_000 } });
    const controller = new AbortController();
    const started = Date.now();
    try {
      await assert.rejects(
        pushHere('app:2', `${uplink.host}/team/app:1`, {
          signal: controller.signal,
          onEvent: (e) => {
            if (e.type === 'blob-progress' && e.committed > 1_000_000) controller.abort();
          },
        }),
        (error: unknown) => isRegistryError(error) && error.code === 'ABORTED',
      );
    } finally {
      uplink.set({ throttleBytesPerSecond: { up: 4_000_000 } });
    }
    console.log(`engine push cancelled after ${((Date.now() - started) / 1000).toFixed(2)} s`);
    assert.equal(await tagDigest('team/app', '1'), before, 'the registry tag did not move');
    assert.deepEqual(await repoTags('app:2'), tagsBefore);
  });

  test('a denied push is one line naming the repository and what to do', async () => {
    const bobConfig = join(work.path, 'bob-docker');
    await mkdir(bobConfig, { recursive: true });
    await writeFile(join(bobConfig, 'config.json'), JSON.stringify({ auths: { [uplink.host]: { auth: Buffer.from(`bob:${password}`).toString('base64') } } }));
    const bob = { ...env, DOCKER_CONFIG: bobConfig };
    // Refused at Layerlift's own mount of the base, before the engine is asked…
    await buildApp('denied', 'denied:1', 1000);
    const mounting = await runCli(['push', 'denied:1', `${uplink.host}/team/bobs:1`], bob, { timeoutMs: 120_000 });
    // …and by the engine, for an image with nothing to mount (no base anywhere): its errorDetail.
    const lonely = join(work.path, 'lonely');
    await mkdir(lonely, { recursive: true });
    await writeFile(join(lonely, 'x.bin'), randomBytes(1000));
    await writeFile(join(lonely, 'Dockerfile'), 'FROM scratch\nCOPY x.bin /x.bin\n');
    await buildImage(engine, lonely, 'lonely:1');
    const engineSide = await runCli(['push', 'lonely:1', `${uplink.host}/team/bobs:1`], bob, { timeoutMs: 120_000 });
    for (const run of [mounting, engineSide]) {
      assert.equal(run.code, 1, run.stderr);
      const lines = run.stderr.trim().split('\n').filter((l) => !l.startsWith('layerlift: warning:') && !l.startsWith('['));
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0] ?? '', /^layerlift: (push|mount) .*team\/bobs: .*denied.* — .*docker login/);
      assert.ok(!run.stderr.includes(password));
    }
    assert.match(engineSide.stderr, /the Docker engine's push failed: denied/);
    assert.equal(await tagDigest('team/bobs', '1'), undefined);
  });

  test('afterwards a plain docker push of a second app on the same base sends only its own layer', async () => {
    const target = `${uplink.host}/team/second:1`;
    await buildApp('second', target, 1_000_000);
    uplink.resetStats();
    const { stdout } = await docker(engine, ['push', target]);
    const sent = uplink.stats().upstreamBytes;
    console.log(`plain docker push after Layerlift: ${sent} B up\n${stdout.trim()}`);
    assert.ok(sent <= 1_250_000, `docker sent ${sent}`);
  });

  test('the base known under two names, one registry gone: the live one is used, about 1 MB sent', async () => {
    const gone = await startRegistry({ auth: 'none' });
    const goneRef = `${gone.host}/library/base:1`;
    try {
      await seedImage(base.layoutDir, '1', gone.host, 'library/base');
      await docker(engine, ['pull', goneRef]);
    } finally {
      await gone.stop();
    }
    const digests = (await inspectImage(engine, baseRef)).RepoDigests as string[];
    assert.ok(digests.some((d) => d.startsWith(gone.host)) && digests.some((d) => d.startsWith(upstream.host)), digests.join(' '));
    await buildApp('names', 'names:1', 1_000_000);
    uplink.resetStats();
    const started = Date.now();
    const run = await runCli(['push', '--json', 'names:1', `${uplink.host}/team/names:1`], env, { timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    const sent = uplink.stats().upstreamBytes;
    console.log(`two RepoDigests, one gone: ${sent} B up in ${((Date.now() - started) / 1000).toFixed(2)} s; ${run.stderr.trim()}`);
    assert.ok(sent <= 1_500_000, `sent ${sent}`);
    assert.match(run.stderr, new RegExp(`${gone.host.replace(/\./g, '\\.')}.* was skipped`));
  });

  test('layerlift prepush with the base in the target registry under its own path mounts: no layer bytes sent', async () => {
    uplink.resetStats();
    const run = await runCli(['prepush', '--json', baseRef, `${uplink.host}/team/pre`], env, { timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { strategy: string }).strategy, 'mount');
    const bodies = uplink.stats().upstreamBodyBytes;
    console.log(`prepush by mount: ${bodies} body bytes up (the manifest)`);
    assert.ok(bodies < 10_000, `sent ${bodies} body bytes`);
  });
});
