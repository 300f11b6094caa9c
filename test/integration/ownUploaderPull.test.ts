// What Layerlift's own uploader writes, read back by the real tools (issue 11's acceptance: "a
// real `docker pull` of the pushed image runs"). A private dockerd and a Distribution registry
// from test/bed; the image is built locally on the imported busybox-static base (no Docker Hub),
// every layer new to the registry, so each is gzipped pigz-style here: 1 MiB blocks on every
// worker of the pool (the default: one per core, 2 on the 2-core CI machine), joined into one
// gzip member. The layers are chosen to cross block boundaries: a compressible text file of
// several blocks, an incompressible one, and a file whose bytes are checked by `docker run`.
// Then: every pushed layer blob passes `gzip -t` and gunzips to its diff_id, the image is removed
// from the engine, `docker pull` takes it back from the registry and `docker run` prints the files.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import { startRegistry, type Registry } from '../bed/registry';
import { buildImage, docker, importBusyboxImage, inspectImage, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { runCli } from './runCli';

const exec = promisify(execFile);
let work: { path: string; remove: () => Promise<void> };
let engine: DockerEngine;
let registry: Registry;
let env: NodeJS.ProcessEnv;

before(async () => {
  work = await makeTempDir('own-pull');
  engine = await startDockerEngine();
  registry = await startRegistry({ auth: 'none' });
  await importBusyboxImage(engine, 'layerlift/busybox:latest');
  env = { DOCKER_CONFIG: engine.env.DOCKER_CONFIG, DOCKER_HOST: engine.host, XDG_CACHE_HOME: join(work.path, 'cache') };
});
after(async () => {
  await registry?.stop();
  await engine?.stop();
  await work?.remove();
});

interface Manifest {
  mediaType?: string;
  config: { digest: string };
  layers: { mediaType: string; digest: string; size: number }[];
}

async function getJson<T>(path: string, accept: string): Promise<T> {
  const response = await fetch(`${registry.url}${path}`, { headers: { accept } });
  assert.equal(response.status, 200, `GET ${path}: ${response.status}`);
  return (await response.json()) as T;
}

/** A blob as Distribution's filesystem driver stores it. */
function blobPath(digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(registry.storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

/** sha256 of the gunzipped file: what the image config lists as the layer's diff_id. */
async function gunzippedDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(
    createReadStream(path),
    createGunzip(),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback();
      },
    }),
  );
  return `sha256:${hash.digest('hex')}`;
}

describe("Layerlift's own uploader, read back by docker", () => {
  test('gzip layers pushed pigz-style pass gzip -t, match their diff_ids, and docker pull + run reads the files', async (t) => {
    const context = join(work.path, 'app');
    await mkdir(context, { recursive: true });
    // ~6.5 MiB of text: several 1 MiB blocks, each deflated with the previous 32 KiB as dictionary.
    const lines: string[] = [];
    for (let i = 0, length = 0; length < 6_500_000; i++) {
      const line = `line ${i}: the quick brown fox ${(i * 7919) % 1000} jumps over the lazy dog\n`;
      lines.push(line);
      length += line.length;
    }
    const text = Buffer.from(lines.join(''));
    const noise = randomBytes(3 * 1024 * 1024 + 12_345);
    const hello = `hello from the own uploader ${randomBytes(6).toString('hex')}\n`;
    await writeFile(join(context, 'text.txt'), text);
    await writeFile(join(context, 'noise.bin'), noise);
    await writeFile(join(context, 'hello.txt'), hello);
    await writeFile(join(context, 'Dockerfile'), 'FROM layerlift/busybox:latest\nCOPY text.txt /data/text.txt\nCOPY noise.bin /data/noise.bin\nCOPY hello.txt /hello.txt\n');
    const target = `${registry.host}/own/pull:1`;
    await buildImage(engine, context, target);
    const diffIds = ((await inspectImage(engine, target)).RootFS as { Layers: string[] }).Layers;

    const push = await runCli(['push', '--json', '--uploader', 'layerlift', target], env, { timeoutMs: 300_000 });
    assert.equal(push.code, 0, push.stderr);
    const result = JSON.parse(push.stdout) as { uploader: string; digest: string; blobs: { action: string; digest: string }[] };
    assert.equal(result.uploader, 'layerlift');
    assert.deepEqual(result.blobs.map((b) => b.action), diffIds.map(() => 'upload'), 'every layer new, so every layer compressed here');
    t.diagnostic(`${diffIds.length} layers compressed on ${Math.min(8, availableParallelism())} workers`);

    const manifest = await getJson<Manifest>(`/v2/own/pull/manifests/1`, 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json');
    const config = await getJson<{ rootfs: { diff_ids: string[] } }>(`/v2/own/pull/blobs/${manifest.config.digest}`, '*/*');
    assert.deepEqual(config.rootfs.diff_ids, diffIds);
    assert.equal(manifest.layers.length, diffIds.length);
    for (const [i, layer] of manifest.layers.entries()) {
      assert.match(layer.mediaType, /tar\.gzip$|tar\+gzip$/, `layer ${i}: ${layer.mediaType}`);
      const path = blobPath(layer.digest);
      await exec('gzip', ['-t', path]); // rejects with gzip's message when the member is not valid
      assert.equal(await gunzippedDigest(path), diffIds[i], `layer ${i} gunzips to its diff_id`);
    }

    await docker(engine, ['rmi', '-f', target]);
    await assert.rejects(inspectImage(engine, target), 'the image is gone from the engine before the pull');
    await docker(engine, ['pull', target]);
    const { stdout } = await docker(engine, ['run', '--rm', '--network', 'none', target, 'sh', '-c', 'cat /hello.txt; sha256sum /data/text.txt /data/noise.bin']);
    const [said, textSum, noiseSum] = stdout.split('\n');
    assert.equal(`${said ?? ''}\n`, hello);
    assert.equal(textSum?.split(/\s+/)[0], createHash('sha256').update(text).digest('hex'));
    assert.equal(noiseSum?.split(/\s+/)[0], createHash('sha256').update(noise).digest('hex'));
    const pulled = ((await inspectImage(engine, target)).RepoDigests as string[]) ?? [];
    assert.ok(pulled.includes(`${registry.host}/own/pull@${result.digest}`), `pulled ${pulled.join(', ')}, pushed ${result.digest}`);
  });
});
