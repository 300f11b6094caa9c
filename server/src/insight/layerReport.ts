// The layer table, its figures and the CI gates, worded once for the CLI and the editor (pure).
// Gates follow dive's CI rules (dive/runtime/ci/rule.go: lowestEfficiency, highestWastedBytes,
// highestUserWastedPercent) with Layerlift's names: --min-efficiency, --max-wasted, --max-upload.
import { formatBytes } from '../core/format';
import { imageEfficiency, type EfficiencyResult } from './efficiency';
import { layerBytes, layerChanges, type FileChange } from './layerFiles';
import { describeWhyNew, shortCreatedBy, whyNew, type LayerSummary, type WhyNew } from './whyNew';

export interface ReportLayer extends LayerSummary {
  compressedSize?: number;
  /** Uncompressed bytes from elsewhere (the engine's history) for a layer whose entries are not read. */
  size?: number;
}

export interface LayerRow {
  index: number;
  diffId: string;
  instruction: string;
  /** Uncompressed tar bytes as dive counts them (Σ header sizes); undefined when not read. */
  size?: number;
  compressedSize?: number;
  added: number;
  changed: number;
  removed: number;
  /** Bytes of this layer's files a later layer overwrites or removes. */
  supersededBytes: number;
  /** Set with --against: the layer is not in the other image. */
  isNew?: boolean;
  files?: FileChange[];
}

export interface LayerReport {
  image: string;
  layers: LayerRow[];
  efficiency: EfficiencyResult;
  /** Bytes of the layers a push would send: new ones with --against, else all; compressed when known. */
  upload: { bytes: number; layers: number; compressedKnown: boolean };
  against?: { ref: string; why: WhyNew; sentence: string };
}

export interface Gates {
  maxUpload?: number;
  maxWastedBytes?: number;
  /** 0..1 */
  maxWastedFraction?: number;
  /** 0..1 */
  minEfficiency?: number;
}

export function buildLayerReport(image: string, layers: readonly ReportLayer[], against?: { ref: string; layers: readonly LayerSummary[] }): LayerReport {
  const entries = layers.map((l) => l.entries ?? []);
  const efficiency = imageEfficiency(entries);
  const changes = layerChanges(entries);
  const why = against ? whyNew(layers, against.layers) : undefined;
  const fresh = new Set(why?.newLayers ?? layers.map((_, i) => i));
  let bytes = 0;
  let compressedKnown = true;
  const rows = layers.map((layer, index): LayerRow => {
    const files = changes[index] ?? [];
    const size = layer.entries ? layerBytes(layer.entries) : layer.size;
    if (fresh.has(index)) {
      if (layer.compressedSize === undefined) compressedKnown = false;
      bytes += layer.compressedSize ?? size ?? 0;
    }
    return {
      index,
      diffId: layer.diffId,
      instruction: shortCreatedBy(layer.createdBy),
      ...(size !== undefined ? { size } : {}),
      ...(layer.compressedSize !== undefined ? { compressedSize: layer.compressedSize } : {}),
      added: files.filter((f) => f.change === 'added').length,
      changed: files.filter((f) => f.change === 'changed').length,
      removed: files.filter((f) => f.change === 'removed').length,
      supersededBytes: efficiency.supersededBytes[index] ?? 0,
      ...(why ? { isNew: fresh.has(index) } : {}),
      files,
    };
  });
  return {
    image,
    layers: rows,
    efficiency,
    upload: { bytes, layers: fresh.size, compressedKnown },
    ...(against && why ? { against: { ref: against.ref, why, sentence: describeWhyNew(why, layers, against.ref) } } : {}),
  };
}

/** One line per breached gate (empty: all pass). */
export function gateBreaches(report: LayerReport, gates: Gates): string[] {
  const lines: string[] = [];
  const e = report.efficiency;
  if (gates.maxUpload !== undefined && report.upload.bytes > gates.maxUpload) {
    lines.push(`upload ${formatBytes(report.upload.bytes)} (${report.upload.bytes} bytes in ${uploadLabel(report)}) is over --max-upload ${formatBytes(gates.maxUpload)}`);
  }
  if (gates.maxWastedBytes !== undefined && e.wastedBytes > gates.maxWastedBytes) {
    lines.push(`wasted ${formatBytes(e.wastedBytes)} (${e.wastedBytes} bytes) is over --max-wasted ${formatBytes(gates.maxWastedBytes)}`);
  }
  if (gates.maxWastedFraction !== undefined && e.wastedUserPercent > gates.maxWastedFraction) {
    lines.push(`wasted ${percent(e.wastedUserPercent)} of the bytes added over the first layer is over --max-wasted ${percent(gates.maxWastedFraction)}`);
  }
  if (gates.minEfficiency !== undefined && e.efficiency < gates.minEfficiency) {
    lines.push(`efficiency ${percent(e.efficiency)} is under --min-efficiency ${percent(gates.minEfficiency)}`);
  }
  return lines;
}

export function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)} %`;
}

function uploadLabel(report: LayerReport): string {
  const what = report.upload.compressedKnown ? 'compressed' : 'uncompressed tar bytes where the compressed size is unknown';
  const layers = `${report.upload.layers} layer${report.upload.layers === 1 ? '' : 's'}${report.against ? ` not in ${report.against.ref}` : ''}`;
  return `${layers}; ${what}`;
}

export function renderLayerReport(report: LayerReport, withFiles: boolean): string {
  const lines = [`Image  ${report.image}`, `  #  ${'uncompressed'.padStart(12)}  ${'compressed'.padStart(10)}  files +/~/-      superseded  instruction`];
  for (const row of report.layers) {
    const mark = row.isNew === undefined ? ' ' : row.isNew ? '*' : ' ';
    lines.push(
      `${mark}${String(row.index + 1).padStart(2)}  ${(row.size === undefined ? '—' : formatBytes(row.size)).padStart(12)}  ${(row.compressedSize === undefined ? '—' : formatBytes(row.compressedSize)).padStart(10)}  ${`${row.added}/${row.changed}/${row.removed}`.padEnd(15)}  ${(row.supersededBytes > 0 ? formatBytes(row.supersededBytes) : '').padStart(10)}  ${clip(row.instruction, 70)}`,
    );
    if (withFiles) {
      for (const f of row.files ?? []) lines.push(`      ${f.change === 'added' ? '+' : f.change === 'changed' ? '~' : '-'} ${formatBytes(f.size).padStart(9)}  /${f.path}`);
    }
  }
  const e = report.efficiency;
  lines.push(`Efficiency  ${percent(e.efficiency)}  (as dive computes it)`);
  lines.push(`Wasted      ${formatBytes(e.wastedBytes)} (${e.wastedBytes} bytes), ${percent(e.wastedUserPercent)} of the ${formatBytes(e.userSizeBytes)} added over the first layer`);
  for (const i of e.inefficiencies.slice(0, 10)) lines.push(`  ${formatBytes(i.cumulativeSize).padStart(9)}  ${i.occurrences}×  /${i.path}`);
  lines.push(`Upload      ${formatBytes(report.upload.bytes)} in ${uploadLabel(report)}`);
  if (report.against) lines.push(`Why new     ${report.against.sentence}`);
  return lines.join('\n');
}

function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** SIZE: bytes, or a number with B, kB/KB/k, MB/M, GB/G (decimal, as Layerlift prints) or KiB/MiB/GiB. */
export function parseSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = (match[2] ?? '').toLowerCase().replace(/b$/, '');
  const powers: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, ki: 1024, mi: 1024 ** 2, gi: 1024 ** 3, ti: 1024 ** 4 };
  const factor = powers[unit];
  return factor === undefined ? undefined : Math.round(Number(match[1]) * factor);
}

/** N%: a fraction 0..1 from "12.5%"; a bare number ≤ 1 is a fraction already (dive's form). */
export function parseFraction(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]) / (match[2] === '%' ? 100 : 1);
  return value <= 1 ? value : undefined;
}
