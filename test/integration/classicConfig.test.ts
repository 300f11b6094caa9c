// The config of a legacy-builder image, rebuilt from the Engine API (engine/classicConfig.ts) and
// sent while the engine pushes the layers (push/configAhead.ts). Real dockerd 20.10 (legacy
// builder), a base pulled from a registry, a Dockerfile that exercises what Go's encoder does
// to a config: escaped <, >, &, non-ASCII text, map keys that look like numbers, empty-layer
// steps, ports, volumes. The truth is the image id (the sha256 of the engine's own config) and
// the config `docker save` writes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { seedImage, writeFixtureImage, type FixtureImage } from '../bed/fixtures';
import { startFaultProxy, type FaultProxy } from '../bed/faultProxy';
import { buildImage, docker, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { DockerEngineClient } from '../../server/src/engine/engineClient';
import { classicConfigOf } from '../../server/src/push/configAhead';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { dockerConfigCredentials } from '../../server/src/registry/credentials';
import { parseReference } from '../../server/src/core/reference';
import { runPushSession } from '../../server/src/push/pushSession';

const password = 'classic-config-pw-3';
let work: { path: string; remove: () => Promise<void> };
let engine: DockerEngine;
let client: DockerEngineClient;
let upstream: Registry;
let team: Registry;
let uplink: FaultProxy;
let base: FixtureImage;
let baseRef: string;
let baseConfig: Buffer;

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
/** The base configs a push knows: these, by their digest. */
const knowing = (...configs: Buffer[]) => (imageId: string) => Promise.resolve(configs.find((c) => sha256(c) === imageId));

const DOCKERFILE = (from: string) =>
  [
    `FROM ${from}`,
    'ENV GREETING="a <b> & c" LANG=C.UTF-8',
    'LABEL "10"="ten" "9"="nine" org.example.note="é ü 中 \u2028" maintainer="ops <ops@example.com>"',
    'EXPOSE 8080/tcp 53/udp',
    'VOLUME /data /cache',
    'WORKDIR /srv',
    'COPY a.txt /srv/a.txt',
    'USER 1000:1000',
    'COPY b.txt /srv/b.txt',
    'STOPSIGNAL SIGINT',
    'ENTRYPOINT ["/bin/sh", "-c"]',
    'CMD ["echo \\"hi\\" > /dev/null"]',
    '',
  ].join('\n');

/** Builds `name:1`; `bBytes`: b.txt is that many random bytes (a layer that takes a while to send). */
async function build(name: string, dockerfile: string, bBytes?: number): Promise<string> {
  const context = join(work.path, name);
  await mkdir(context, { recursive: true });
  await writeFile(join(context, 'a.txt'), `a for ${name}\n`);
  await writeFile(join(context, 'b.txt'), bBytes === undefined ? `b for ${name}\n` : randomBytes(bBytes));
  await writeFile(join(context, 'Dockerfile'), dockerfile);
  return (await buildImage(engine, context, `${name}:1`)).imageId;
}

/** The config bytes the engine itself holds, from `docker save`. */
async function savedConfig(tag: string): Promise<Buffer> {
  const dir = join(work.path, `save-${tag.replace(/\W/g, '_')}`);
  await mkdir(dir, { recursive: true });
  await docker(engine, ['save', '-o', join(dir, 'image.tar'), tag]);
  const { execFileSync } = await import('node:child_process');
  execFileSync('tar', ['-xf', 'image.tar'], { cwd: dir });
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { Config: string }[];
  return readFile(join(dir, manifest[0]?.Config ?? ''));
}

before(async () => {
  work = await makeTempDir('classic-config');
  engine = await startDockerEngine();
  client = new DockerEngineClient({ env: { DOCKER_HOST: engine.host } });
  upstream = await startRegistry({ auth: 'none' });
  team = await startRegistry({ auth: 'token', users: { alice: password }, acl: [{ account: 'alice', name: '*', actions: ['pull', 'push'] }] });
  uplink = await startFaultProxy(team.url);
  base = await writeFixtureImage(join(work.path, 'base'), { layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 200_000, seed: 'classic-config-base' }], tag: '1' });
  await seedImage(base.layoutDir, '1', upstream.host, 'library/base');
  baseRef = `${upstream.host}/library/base:1`;
  await docker(engine, ['pull', baseRef]);
  await docker(engine, ['login', '-u', 'alice', '--password-stdin', uplink.host], { input: password });
  baseConfig = await readFile(join(base.layoutDir, 'blobs', 'sha256', base.configDigest.slice(7)));
});
after(async () => {
  await client?.close();
  await uplink?.stop();
  await team?.stop();
  await upstream?.stop();
  await engine?.stop();
  await work?.remove();
});

describe('a legacy-builder config rebuilt from the Engine API', () => {
  test('every step kind: the rebuilt bytes are the engine\'s own (image id and docker save agree)', async () => {
    const id = await build('rich', DOCKERFILE(baseRef));
    const rebuilt = await classicConfigOf(client, id, knowing(baseConfig));
    assert.ok(rebuilt, 'rebuilt');
    assert.equal(sha256(rebuilt), id);
    assert.deepEqual(rebuilt, await savedConfig('rich:1'));
  });

  test('FROM scratch: no base, the chain ends at the first step', async () => {
    const id = await build('scratchy', 'FROM scratch\nCOPY a.txt /a.txt\nENV X="<>"\nCOPY b.txt /b.txt\n');
    const rebuilt = await classicConfigOf(client, id, knowing());
    assert.ok(rebuilt && sha256(rebuilt) === id, 'rebuilt to the image id');
  });

  test('the wrong base, or none for an image that has one: nothing rebuilt (the engine sends the config)', async () => {
    const id = await build('wrongbase', DOCKERFILE(baseRef));
    const other = Buffer.from(baseConfig.toString('utf8').replace('"os":"linux"', '"os":"linux" '));
    assert.equal(await classicConfigOf(client, id, knowing(other)), undefined);
    assert.equal(await classicConfigOf(client, id, knowing()), undefined);
    assert.equal(await classicConfigOf(client, 'sha256:' + '0'.repeat(64), knowing()), undefined, 'an unknown image');
  });

  test('a push through the engine sends the config ahead (the engine does not send it again); so does a rebuild, from the base config the first push kept', async () => {
    const env = { DOCKER_CONFIG: engine.env.DOCKER_CONFIG, DOCKER_HOST: engine.host, XDG_CACHE_HOME: join(work.path, 'cache'), HOME: '/nonexistent-home' };
    const push = async (image: string, named: boolean) => {
      const registryClient = new RegistryClient({ credentials: dockerConfigCredentials({ env }) });
      try {
        return await runPushSession({ image, target: parseReference(`${uplink.host}/team/ahead:1`), ...(named ? { base: parseReference(baseRef) } : {}) }, { client: registryClient, credentials: dockerConfigCredentials({ env }), insecureRegistries: [], env });
      } finally {
        await registryClient.close();
      }
    };
    const configPuts = (id: string) => uplink.requests().filter((r) => r.method === 'PUT' && decodeURIComponent(r.path).includes(`digest=${id}`)).length;
    const configBytesOf = (result: Awaited<ReturnType<typeof push>>) => result.bytesUploaded - result.blobs.reduce((sum, b) => sum + b.bytesSent, 0);

    // The engine's own part takes seconds here (1 MB of app layer on a 500 KB/s uplink; the base
    // is pre-pushed before it starts), so the config sent ahead is in before the engine looks for
    // it; on a fast link the engine may find it missing and send it too (harmless, same bytes).
    uplink.set({ throttleBytesPerSecond: { up: 500_000 } });
    const first = await build('ahead', DOCKERFILE(baseRef), 1_000_000);
    uplink.resetStats();
    const pushed = await push('ahead:1', true);
    assert.equal(pushed.uploader, 'engine');
    assert.equal(configPuts(first), 1, "one upload of the config: ours, not the engine's as well");
    assert.equal(configBytesOf(pushed), (await savedConfig('ahead:1')).length, 'the report counts the config bytes sent');

    // The same app with one file changed: the index knows the lower layers, so the engine starts
    // without a registry read of the base; its config comes from the cache. The base's registry
    // is gone by then, so nothing else could have given it (this is the suite's last test).
    await writeFile(join(work.path, 'ahead', 'b.txt'), randomBytes(1_000_000));
    const second = (await buildImage(engine, join(work.path, 'ahead'), 'ahead:2')).imageId;
    assert.notEqual(second, first);
    await upstream.stop();
    uplink.resetStats();
    const rebuilt = await push('ahead:2', false);
    assert.equal(configPuts(second), 1);
    assert.equal(configBytesOf(rebuilt), (await savedConfig('ahead:2')).length);

    // Pushed again as it is: the target holds the config, nothing is sent ahead (or at all).
    uplink.resetStats();
    const again = await push('ahead:2', false);
    assert.equal(configPuts(second), 0);
    assert.equal(again.bytesUploaded, 0);
  });
});
