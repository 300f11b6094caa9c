// `layerlift inspect` and `layerlift copy`, run as a user would (the built CLI in a child
// process), against real registries, with skopeo as the independent judge.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type Registry } from '../bed/registry';
import { seedImage, skopeo, writeFixtureImage, type FixtureImage } from '../bed/fixtures';
import { startFaultProxy, type FaultProxy } from '../bed/faultProxy';
import { makeTempDir } from '../bed/process';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cliPath, runCli } from './runCli';

interface SkopeoInspect {
  Digest: string;
  Layers: string[];
  Architecture: string;
}
/** skopeo 1.9 has no LayersData: sizes come from the raw manifest skopeo fetches. */
interface RawManifest {
  layers: { digest: string; size: number; mediaType: string }[];
}

let fixture: FixtureImage;
let multi: FixtureImage;
let work: { path: string; remove: () => Promise<void> };
let upstream: Registry;

before(async () => {
  work = await makeTempDir('cli');
  fixture = await writeFixtureImage(join(work.path, 'single'), { layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 4_000_000, seed: 'cli-1' }, { kind: 'random', bytes: 1_000_000, seed: 'cli-2', compressible: true }], tag: 'v1' });
  multi = await writeFixtureImage(join(work.path, 'multi'), { layers: [{ kind: 'busybox' }, { kind: 'random', bytes: 500_000, seed: 'cli-3' }], tag: 'multi', multiPlatform: true });
  upstream = await startRegistry({ auth: 'none' });
  await seedImage(fixture.layoutDir, 'v1', upstream.host, 'library/base');
  await seedImage(multi.layoutDir, 'multi', upstream.host, 'library/multi');
});
after(async () => {
  await upstream.stop();
  await work.remove();
});

describe('layerlift inspect', () => {
  test('agrees with skopeo inspect on digest and layer sizes', async () => {
    const ours = await runCli(['inspect', '--json', `${upstream.host}/library/base:v1`]);
    assert.equal(ours.code, 0, ours.stderr);
    const result = JSON.parse(ours.stdout) as { digest: string; platform: string; layers: { digest: string; size: number; mediaType: string }[]; totalSize: number; config: { digest: string } };
    const theirs = JSON.parse(await skopeo(['inspect', '--tls-verify=false', `docker://${upstream.host}/library/base:v1`])) as SkopeoInspect;
    const raw = JSON.parse(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${upstream.host}/library/base:v1`])) as RawManifest;
    assert.equal(result.digest, theirs.Digest);
    assert.deepEqual(result.layers.map((l) => l.digest), theirs.Layers);
    assert.deepEqual(result.layers.map((l) => [l.digest, l.size, l.mediaType]), raw.layers.map((l) => [l.digest, l.size, l.mediaType]));
    assert.equal(result.totalSize, raw.layers.reduce((s, l) => s + l.size, 0));
    assert.equal(result.platform, `linux/${theirs.Architecture}`);
    assert.equal(result.platform, 'linux/amd64');
    assert.equal(result.config.digest, fixture.configDigest);
  });

  test('a multi-platform image: the index digest, and the layers of the picked platform', async () => {
    const ours = await runCli(['inspect', '--json', '--platform', 'linux/arm64', `${upstream.host}/library/multi:multi`]);
    assert.equal(ours.code, 0, ours.stderr);
    const result = JSON.parse(ours.stdout) as { digest: string; platform: string; platformManifest: { digest: string } };
    assert.equal(result.digest, multi.manifestDigest);
    assert.match(result.platform, /^linux\/arm64(\/v8)?$/);
    const arm = multi.index?.manifests.find((m) => m.platform.architecture === 'arm64');
    assert.equal(result.platformManifest.digest, arm?.digest);
    const theirs = JSON.parse(await skopeo(['inspect', '--tls-verify=false', '--override-arch', 'arm64', `docker://${upstream.host}/library/multi:multi`])) as SkopeoInspect;
    assert.equal(result.digest, theirs.Digest);
    assert.equal(theirs.Architecture, 'arm64');
  });

  test('Docker v2 schema 2 manifests: inspect and copy keep the digest skopeo reports', async () => {
    await skopeo(['copy', '--format', 'v2s2', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${upstream.host}/library/base:v1`, `docker://${upstream.host}/library/docker-format:v1`]);
    const theirs = JSON.parse(await skopeo(['inspect', '--tls-verify=false', `docker://${upstream.host}/library/docker-format:v1`])) as SkopeoInspect;
    const ours = await runCli(['inspect', '--json', `${upstream.host}/library/docker-format:v1`]);
    assert.equal(ours.code, 0, ours.stderr);
    const result = JSON.parse(ours.stdout) as { digest: string; mediaType: string; layers: { mediaType: string }[] };
    assert.equal(result.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(result.digest, theirs.Digest);
    assert.ok(result.layers.every((l) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip'));
    const copy = await runCli(['copy', '--json', `${upstream.host}/library/docker-format:v1`, `${upstream.host}/mirror/docker-format:v1`]);
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal((JSON.parse(copy.stdout) as { digest: string }).digest, theirs.Digest);
  });

  test('human output names the digest and total; bad input is one line, exit 1 or 2', async () => {
    const human = await runCli(['inspect', `${upstream.host}/library/base:v1`]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, new RegExp(`Digest +${fixture.manifestDigest}`));
    const missing = await runCli(['inspect', `${upstream.host}/library/base:nope`]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
    assert.match(missing.stderr, /^layerlift: pull 127\.0\.0\.1:\d+\/library\/base: .*MANIFEST_UNKNOWN/);
    const invalid = await runCli(['inspect', 'Bad:Ref:x']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /^layerlift: invalid image reference "Bad:Ref:x"/);
    assert.doesNotMatch(invalid.stderr, /\n {4}at /);
  });
});

describe('layerlift copy', () => {
  let other: Registry;
  let tokenRegistry: Registry;
  let proxy: FaultProxy;
  let dockerConfig: string;
  const alicePw = 'alice-pw-7781';
  before(async () => {
    other = await startRegistry({ auth: 'none' });
    tokenRegistry = await startRegistry({
      auth: 'token',
      users: { alice: alicePw, bob: 'bob-pw-1234' },
      acl: [
        { account: 'alice', name: '*', actions: ['pull', 'push'] },
        { account: 'bob', name: '*', actions: ['pull'] },
      ],
    });
    proxy = await startFaultProxy(tokenRegistry.url);
    await seedImage(fixture.layoutDir, 'v1', tokenRegistry.host, 'library/base', { creds: { username: 'alice', password: alicePw } });
    dockerConfig = join(work.path, 'docker-config');
    await makeDockerConfig(dockerConfig, { [proxy.host]: ['alice', alicePw] });
  });
  after(async () => {
    await proxy.stop();
    await tokenRegistry.stop();
    await other.stop();
  });

  test('across two registries: the manifest digest is preserved', async () => {
    const run = await runCli(['copy', '--json', `${upstream.host}/library/base:v1`, `${other.host}/mirror/base:v1`]);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { digest: string; blobs: { action: string }[]; bytesSent: number };
    assert.equal(result.digest, fixture.manifestDigest);
    assert.ok(result.blobs.every((b) => b.action === 'uploaded'));
    const theirs = JSON.parse(await skopeo(['inspect', '--tls-verify=false', `docker://${other.host}/mirror/base:v1`])) as SkopeoInspect;
    assert.equal(theirs.Digest, fixture.manifestDigest);
    // Copying again sends nothing: every blob exists.
    const again = await runCli(['copy', '--json', `${upstream.host}/library/base:v1`, `${other.host}/mirror/base:v1`]);
    const second = JSON.parse(again.stdout) as { bytesSent: number; blobs: { action: string }[] };
    assert.equal(second.bytesSent, 0);
    assert.ok(second.blobs.every((b) => b.action === 'exists'));
  });

  test('progress: live on a terminal, absent in a log', async () => {
    // util-linux `script` gives the CLI a pseudo-terminal, as a developer's shell would.
    const { stdout } = await promisify(execFile)('script', ['-qec', `${process.execPath} ${cliPath} copy ${upstream.host}/library/base:v1 ${other.host}/tty/base:v1`, '/dev/null'], { env: { PATH: process.env.PATH, HOME: '/nonexistent-home' } });
    assert.match(stdout, /\r\x1b\[2K\d of \d blobs · [\d.]+ [kMG]?B \/ [\d.]+ MB · [\d.]+ [kMG]?B\/s/);
    assert.match(stdout, /Copied 127\.0\.0\.1:\d+\/tty\/base:v1@sha256:[0-9a-f]{64}: sent [\d.]+ MB of [\d.]+ MB in .* — 4 blobs: 4 uploaded/);
    const logged = await runCli(['copy', `${upstream.host}/library/base:v1`, `${other.host}/log/base:v1`]);
    assert.equal(logged.code, 0, logged.stderr);
    assert.doesNotMatch(logged.stderr, /\r/);
    assert.match(logged.stderr, /^Copied /);
  });

  test('--all copies an index with every platform, digests kept', async () => {
    const run = await runCli(['copy', '--all', '--json', `${upstream.host}/library/multi:multi`, `${other.host}/mirror/multi:multi`]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { digest: string }).digest, multi.manifestDigest);
    for (const m of multi.index?.manifests ?? []) {
      const theirs = JSON.parse(await skopeo(['inspect', '--tls-verify=false', '--raw', `docker://${other.host}/mirror/multi@${m.digest}`])) as { config: { digest: string } };
      assert.equal(theirs.config.digest, m.configDigest);
    }
  });

  test('within one token-auth registry it mounts: bytes on the wire are a small fraction of the blobs', async () => {
    proxy.resetStats();
    const run = await runCli(['copy', '--json', `${proxy.host}/library/base:v1`, `${proxy.host}/team/app:v1`], { DOCKER_CONFIG: dockerConfig });
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { digest: string; totalBytes: number; blobs: { action: string }[] };
    assert.equal(result.digest, fixture.manifestDigest);
    assert.ok(result.blobs.every((b) => b.action === 'mounted'), JSON.stringify(result.blobs));
    const sent = proxy.stats().upstreamBytes;
    assert.ok(sent < result.totalBytes * 0.05, `sent ${sent} bytes for ${result.totalBytes} bytes of blobs`);
    assert.ok(!run.stdout.includes(alicePw) && !run.stderr.includes(alicePw));
  });

  test('a user without push rights: exit 1, one clear line, no stack trace, tag untouched', async () => {
    const bobConfig = join(work.path, 'bob-config');
    await makeDockerConfig(bobConfig, { [tokenRegistry.host]: ['bob', 'bob-pw-1234'] });
    const run = await runCli(['copy', `${tokenRegistry.host}/library/base:v1`, `${tokenRegistry.host}/team/bob:v1`], { DOCKER_CONFIG: bobConfig });
    assert.equal(run.code, 1);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0] ?? '', /^layerlift: (mount|push) 127\.0\.0\.1:\d+\/team\/bob: requested access to the resource is denied .*docker login/);
    assert.ok(!run.stderr.includes('bob-pw-1234'));
    const tags = await skopeo(['list-tags', '--tls-verify=false', '--creds', `alice:${alicePw}`, `docker://${tokenRegistry.host}/team/bob`]).catch((e: unknown) => String(e));
    assert.doesNotMatch(tags, /"v1"/);
  });
});

async function makeDockerConfig(dir: string, users: Record<string, [string, string]>): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  const auths = Object.fromEntries(Object.entries(users).map(([host, [u, p]]) => [host, { auth: Buffer.from(`${u}:${p}`).toString('base64') }]));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths }));
}
