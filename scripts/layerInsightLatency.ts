// Layer insight interaction latency (a benchmark, not a timed test): 200 layers, 50,000 files,
// through the server's own code paths for the panel — open (report + rows, serialised as the
// LSP answer), expand a layer (its files as a tree), filter, and click a line (rows → line).
// Run: node --import tsx scripts/layerInsightLatency.ts [LAYERS] [FILES]
import { performance } from 'node:perf_hooks';
import { buildLayerReport, type ReportLayer } from '../server/src/insight/layerReport';
import { filesView, insightView, layerLines } from '../server/src/insight/panelRows';
import type { LayerEntry } from '../server/src/insight/layerFiles';
import type { Instruction } from '../server/src/analysis/types';

const layerCount = Number(process.argv[2] ?? 200);
const fileCount = Number(process.argv[3] ?? 50_000);

function syntheticImage(): ReportLayer[] {
  const perLayer = Math.ceil(fileCount / layerCount);
  const layers: ReportLayer[] = [];
  for (let l = 0; l < layerCount; l++) {
    const entries: LayerEntry[] = [{ path: `srv/l${l}`, kind: 'directory', size: 0 }];
    for (let f = 0; f < perLayer; f++) {
      // Every 10th layer rewrites files of the layer before it; every 25th deletes some.
      const path = l % 10 === 9 && f < 50 ? `srv/l${l - 1}/f${f}.bin` : `srv/l${l}/f${f}.bin`;
      entries.push({ path, kind: 'file', size: 1000 + ((l * 7919 + f * 104729) % 50_000) });
    }
    if (l % 25 === 24) for (let f = 0; f < 20; f++) entries.push({ path: `srv/l${l - 1}/.wh.f${f}.bin`, kind: 'file', size: 0 });
    layers.push({ diffId: `sha256:${l.toString(16).padStart(64, '0')}`, createdBy: l === 0 ? 'ADD rootfs.tar /' : l % 2 ? `/bin/sh -c step ${l}` : `COPY dir:${l} in /srv`, entries });
  }
  return layers;
}

function time<T>(samples: number[], work: () => T): T {
  const start = performance.now();
  const value = work();
  samples.push(performance.now() - start);
  return value;
}

function summary(name: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return `${name.padEnd(34)} median ${median.toFixed(1).padStart(7)} ms   max ${(sorted[sorted.length - 1] ?? 0).toFixed(1).padStart(7)} ms   (${samples.length} runs)`;
}

const layers = syntheticImage();
const files = layers.reduce((n, l) => n + (l.entries?.length ?? 0), 0);
const instructions = layers.slice(1).map((l, i) => ({ keyword: /^COPY/.test(l.createdBy) ? 'COPY' : 'RUN', line: i + 1 }) as unknown as Instruction);
const read: number[] = [];
const open: number[] = [];
const expand: number[] = [];
const filter: number[] = [];
const click: number[] = [];
let report = buildLayerReport('bench', layers);
let answerBytes = 0;
for (let run = 0; run < 7; run++) {
  report = time(read, () => buildLayerReport('bench', layers));
  answerBytes = time(open, () => JSON.stringify(insightView('bench', report, layerLines(report, instructions))).length);
}
for (let run = 0; run < 50; run++) {
  const layer = (run * 37) % layerCount;
  time(expand, () => JSON.stringify(filesView(report, layer)).length);
  time(filter, () => JSON.stringify(filesView(report, layer, 'f1')).length);
  time(click, () => layerLines(report, instructions)[layer]);
}
console.log(`${layerCount} layers, ${files.toLocaleString('en-US')} tar entries; efficiency ${(report.efficiency.efficiency * 100).toFixed(2)} %, wasted ${report.efficiency.wastedBytes.toLocaleString('en-US')} bytes`);
console.log(summary('analyse (once per image read)', read));
console.log(`${summary('open: rows + totals answer', open)}   ${(answerBytes / 1024).toFixed(0)} KiB`);
console.log(summary('expand a layer: its files', expand));
console.log(summary('filter a layer’s files', filter));
console.log(summary('click: layer → Dockerfile line', click));
