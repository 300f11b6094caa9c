// `npm run bench [-- --quick] [-- --json]`: layerlift push beside `docker push` and `skopeo copy`
// in one run, on the real parts of test/bed (dockerd, Distribution with token auth, a throttled
// byte-counting proxy as the user's uplink), plus the language server's figures from
// scripts/bench-lsp.ts. Every scenario is repeated (default 3 times) and reported as medians,
// with the ratios the goals are stated in. A benchmark that prints figures, not a timed test.
//   --quick      smaller images (base ~100 MB, full push ~150 MB): the whole run in under 5 min
//   --json       only {"results":[{"scenario","tool","uplinkBytes","seconds"}],"ratios":{...}} on stdout
//   --reps N     repetitions (default 3)
//   --only A,B   run only these scenarios (firstPush, baseOnlyUpstream, fullPush, ociPush,
//                rebuildPush, baseManyNames, languageServer), for profiling one of them
// LAYERLIFT_BENCH_TRACE=1 prints each request a tool sent; LAYERLIFT_BENCH_PROFILE=DIR writes
// layerlift's V8 CPU profiles there; LAYERLIFT_TIMING=1 prints its stage times (core/timing.ts).
// Progress goes to stderr. See BENCHMARKS.md for the fairness rules and the latest figures.
import { loadavg, cpus, release, type } from 'node:os';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { run, saveEngineMemory } from '../test/bed/dockerEngine';
import { bytesPerSecond, startBed, type LinkShape } from './bench/bed';
import { prepareImages } from './bench/images';
import { languageServerFigures, type LspFigures } from './bench/lsp';
import { ratios, renderTable, resultRows, type Facts } from './bench/report';
import { baseManyNames, baseOnlyUpstream, firstPush, fullPush, ociPush, rebuildPush, type RunContext, type Sample } from './bench/scenarios';

const ALL = ['firstPush', 'baseOnlyUpstream', 'fullPush', 'ociPush', 'rebuildPush', 'baseManyNames', 'languageServer'];
const LINK: Required<LinkShape> = { mbitPerSecond: 20, rttMs: 20 };

function options() {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean' }, json: { type: 'boolean' }, reps: { type: 'string' }, only: { type: 'string' } },
    strict: true,
  });
  const reps = values.reps === undefined ? 3 : Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a whole number above 0, got "${values.reps}"`);
  const only = values.only === undefined ? ALL : values.only.split(',');
  const unknown = only.filter((name) => !ALL.includes(name));
  if (unknown.length > 0) throw new Error(`--only: unknown scenario ${unknown.join(', ')} (one of ${ALL.join(', ')})`);
  return { quick: values.quick ?? false, json: values.json ?? false, reps, only: new Set(only) };
}

async function versionOf(command: string, args: string[]): Promise<string> {
  try {
    return (await run(command, args, {})).stdout.trim().split('\n')[0] ?? '?';
  } catch {
    return `${command}: not found`;
  }
}

async function main(): Promise<void> {
  const opts = options();
  const log = (message: string) => process.stderr.write(`${message}\n`);
  // The in-process fault proxy trips node's MaxListeners warning on long throttled uploads,
  // dozens of times per run: say each kind of warning once instead of flooding the log.
  const warned = new Set<string>();
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warned.has(warning.name)) return;
    warned.add(warning.name);
    log(`bench: warning (shown once): ${warning.message}`);
  });
  const started = Date.now();
  const loadBefore = loadavg();
  log(`bench: starting (${opts.quick ? 'quick' : 'full'}, ${opts.reps} repetitions, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')})`);
  const bed = await startBed();
  const samples: Sample[] = [];
  let lsp: LspFigures | undefined;
  let facts!: Facts;
  let sizes = '';
  try {
    log('bench: building the images');
    const images = await prepareImages(bed, opts.quick);
    // What the engine knows now — the base pulled, the images built — is where every tool starts.
    bed.engineMemory = join(bed.work, 'engine-memory');
    await saveEngineMemory(bed.engine, bed.engineMemory);
    facts = { fullImageBytes: images.full.bytes, uplinkBytesPerSecond: bytesPerSecond(LINK) as number };
    sizes = `base ${(images.base.bytes / 1e6).toFixed(0)} MB (${(images.base.fixture.layerBytes / 1e6).toFixed(0)} MB compressed), app +${((images.app.bytes - images.base.bytes) / 1e6).toFixed(1)} MB, full push ${(images.full.bytes / 1e6).toFixed(0)} MB`;
    log(`bench: ${sizes}`);
    const ctx: RunContext = { bed, images, reps: opts.reps, link: LINK, quick: opts.quick, log };
    const first = opts.only.has('firstPush') ? await firstPush(ctx) : [];
    samples.push(...first);
    if (opts.only.has('baseOnlyUpstream')) samples.push(...(await baseOnlyUpstream(ctx, first)));
    if (opts.only.has('fullPush')) samples.push(...(await fullPush(ctx)));
    if (opts.only.has('ociPush')) samples.push(...(await ociPush(ctx)));
    if (opts.only.has('rebuildPush')) samples.push(...(await rebuildPush(ctx)));
    // Last: it leaves the base with a RepoDigest whose registry is gone.
    if (opts.only.has('baseManyNames')) samples.push(...(await baseManyNames(ctx, first)));
  } finally {
    await bed.stop();
  }
  if (opts.only.has('languageServer')) {
    log('bench: language server (scripts/bench-lsp.ts)');
    lsp = await languageServerFigures();
  }
  const loadAfter = loadavg();
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ results: resultRows(samples, facts, lsp), ratios: ratios(samples, facts, lsp) })}\n`);
    return;
  }
  const header = [
    `Layerlift push benchmark — ${new Date().toISOString().slice(0, 10)}, ${opts.quick ? '--quick' : 'full'} run, ${opts.reps} repetitions, ${((Date.now() - started) / 60000).toFixed(1)} min`,
    `machine: ${cpus().length} cores, ${type()} ${release()}, node ${process.version}; load average ${loadBefore[0]?.toFixed(2)} before, ${loadAfter[0]?.toFixed(2)} after`,
    `peers: ${await versionOf('docker', ['--version'])} (CLI), ${await versionOf('dockerd', ['--version'])} (dockerd), ${await versionOf('skopeo', ['--version'])}`,
    `uplink: ${LINK.mbitPerSecond} Mbit/s each way, ${LINK.rttMs} ms per request (fullPush: unthrottled loopback)`,
    `images: ${sizes}`,
  ];
  process.stdout.write(`${renderTable(samples, facts, lsp, header)}\n`);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`bench: ${message.split('\n')[0]}\n`);
  process.exit(1);
});
