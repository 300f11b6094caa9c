// The images the benchmark pushes, made without any outside registry:
//   base     a fixture image (busybox-static + seeded layers, test/bed/fixtures) seeded into the
//            upstream registry and pulled into the engine, as a user's FROM image would be;
//   app      FROM the base, a few MB of its own (two COPY layers), and a rebuild of it with the
//            last layer changed;
//   full     FROM the imported busybox rootfs, ~500 MB (quick: ~150 MB) of new layers.
// Built layers mix text-like content (gzips to about a third) and random bytes (does not
// compress), so gzip does real work, as on real images.
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buildImage, docker, importBusyboxImage, inspectImage } from '../../test/bed/dockerEngine';
import { seedImage, seededChunks, writeFixtureImage, type FixtureImage, type LayerSpec } from '../../test/bed/fixtures';
import type { Bed } from './bed';

const MB = 1_000_000;

/** One built layer: a directory with a text-like file and a random one. */
export interface LayerContent {
  textBytes: number;
  randomBytes: number;
  seed: string;
}

export interface BuiltImage {
  /** Local tag in the engine. */
  tag: string;
  /** Bytes of the image's layers uncompressed (the engine's Size). */
  bytes: number;
  /** The Dockerfile it was built from (layerlift reads its FROM, as from the editor). */
  dockerfile: string;
}

export interface Base {
  /** The upstream reference the engine pulled and Dockerfiles name in FROM. */
  ref: string;
  fixture: FixtureImage;
  /** Uncompressed bytes of its layers. */
  bytes: number;
}

export interface Images {
  base: Base;
  app: BuiltImage;
  /** The app rebuilt with its last layer changed. */
  rebuilt: BuiltImage;
  full: BuiltImage;
}

/** Base layers: mostly text-like, some random, like a distribution plus a language runtime. */
function baseLayers(quick: boolean): LayerSpec[] {
  const layers: [number, boolean][] = quick
    ? [[90 * MB, true], [10 * MB, false]]
    : [[160 * MB, true], [60 * MB, false], [80 * MB, true]];
  return [{ kind: 'busybox' }, ...layers.map(([bytes, compressible], i): LayerSpec => ({ kind: 'random', bytes, seed: `bench-base-${i}`, compressible }))];
}

/** The full push's layers, largest first as builds often are (toolchain, dependencies, app). */
function fullLayers(quick: boolean): LayerContent[] {
  const scale = quick ? 0.3 : 1;
  const shape: [number, number][] = [[120, 40], [80, 40], [60, 40], [40, 20], [30, 10], [15, 5]];
  return shape.map(([text, random], i) => ({ textBytes: Math.round(text * MB * scale), randomBytes: Math.round(random * MB * scale), seed: `bench-full-${i}` }));
}

async function writeSeeded(path: string, seed: string, bytes: number, compressible: boolean): Promise<void> {
  await pipeline(Readable.from(seededChunks(seed, bytes, compressible)), createWriteStream(path));
}

async function writeLayerDir(context: string, index: number, layer: LayerContent): Promise<void> {
  const dir = join(context, `layer${index}`);
  await mkdir(dir, { recursive: true });
  await writeSeeded(join(dir, 'text.txt'), `${layer.seed}-text`, layer.textBytes, true);
  await writeSeeded(join(dir, 'data.bin'), `${layer.seed}-random`, layer.randomBytes, false);
}

/** Writes the context (one COPY per layer) and builds it; `reuse` keeps files already written. */
async function build(bed: Bed, name: string, tag: string, from: string, layers: LayerContent[], only?: number): Promise<BuiltImage> {
  const context = join(bed.work, 'contexts', name);
  await mkdir(context, { recursive: true });
  for (const [i, layer] of layers.entries()) if (only === undefined || only === i) await writeLayerDir(context, i, layer);
  const dockerfile = join(context, 'Dockerfile');
  await writeFile(dockerfile, [`FROM ${from}`, ...layers.map((_, i) => `COPY layer${i}/ /opt/layer${i}/`), ''].join('\n'));
  await buildImage(bed.engine, context, tag);
  const size = (await inspectImage(bed.engine, tag)).Size;
  return { tag, bytes: typeof size === 'number' ? size : NaN, dockerfile };
}

export async function prepareImages(bed: Bed, quick: boolean): Promise<Images> {
  const fixture = await writeFixtureImage(join(bed.work, 'base-layout'), { layers: baseLayers(quick), tag: '1' });
  await seedImage(fixture.layoutDir, '1', bed.upstream.host, 'library/base');
  const ref = `${bed.upstream.host}/library/base:1`;
  await docker(bed.engine, ['pull', ref]);
  const baseSize = (await inspectImage(bed.engine, ref)).Size;
  const base: Base = { ref, fixture, bytes: typeof baseSize === 'number' ? baseSize : NaN };

  const appLayers: LayerContent[] = [
    { textBytes: 4 * MB, randomBytes: 2 * MB, seed: 'bench-app-deps' },
    { textBytes: 1.5 * MB, randomBytes: 0.5 * MB, seed: 'bench-app-code' },
  ];
  const app = await build(bed, 'app', 'bench/app:1', ref, appLayers);
  // Same context, only the last layer's files rewritten: the builder's cache keeps the others.
  const changed = appLayers.map((layer, i) => (i === appLayers.length - 1 ? { ...layer, seed: 'bench-app-code-v2' } : layer));
  const rebuilt = await build(bed, 'app', 'bench/app:2', ref, changed, appLayers.length - 1);

  await importBusyboxImage(bed.engine, 'bench/busybox:1');
  const full = await build(bed, 'full', 'bench/full:1', 'bench/busybox:1', fullLayers(quick));
  return { base, app, rebuilt, full };
}

/** Seeds the base into a site's registry under its own path (an admin's mirror, not over the uplink). */
export async function mirrorBase(base: Base, registryHost: string, creds: { username: string; password: string }): Promise<void> {
  await seedImage(base.fixture.layoutDir, '1', registryHost, 'library/base', { creds });
}
