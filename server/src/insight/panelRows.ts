// The layer insight panel's rows and file lists, worded here so the client stays thin (pure).
import { formatBytes } from '../core/format';
import type { Instruction } from '../analysis/types';
import type { DocumentView } from '../analysis/documentView';
import type { LayerFilesView, LayerInsightRow, LayerInsightView } from '../lsp/protocol';
import { percent, type LayerReport } from './layerReport';

/**
 * Dockerfile lines for the image's newest layers: the layer-making instructions (RUN, COPY, ADD,
 * and WORKDIR, which makes a layer when it creates its directory) of the target chain are paired
 * with the layers from the end while the kinds agree; a WORKDIR without a layer is skipped. Older
 * layers are the base's.
 */
export function layerLines(report: LayerReport, instructions: readonly Instruction[]): (number | undefined)[] {
  const kindOfLayer = (text: string) => (/^(COPY|ADD)\b/.test(text) ? 'COPY' : /^WORKDIR\b/.test(text) ? 'WORKDIR' : 'RUN');
  const kindOf = (keyword: string) => (keyword === 'ADD' ? 'COPY' : keyword);
  const makers = instructions.filter((i) => ['RUN', 'COPY', 'ADD', 'WORKDIR'].includes(i.keyword.toUpperCase()));
  const lines: (number | undefined)[] = report.layers.map(() => undefined);
  let m = makers.length - 1;
  for (let l = report.layers.length - 1; l >= 0; l--, m--) {
    const kind = kindOfLayer(report.layers[l]?.instruction ?? '');
    while (m >= 0 && kind !== 'WORKDIR' && kindOf(makers[m]?.keyword.toUpperCase() ?? '') === 'WORKDIR') m--;
    const maker = makers[m];
    if (!maker || kindOf(maker.keyword.toUpperCase()) !== kind) break;
    lines[l] = maker.line;
  }
  return lines;
}

export function insightView(title: string, report: LayerReport, lines: readonly (number | undefined)[] = [], document?: DocumentView, pushedDiffIds?: readonly string[]): LayerInsightView {
  const registry = document ? registryStatuses(report, document, pushedDiffIds) : [];
  const largest = Math.max(1, ...report.layers.map((l) => l.size ?? 0));
  const firstOwn = lines.findIndex((line) => line !== undefined);
  const rows = report.layers.map((layer, i): LayerInsightRow => {
    const line = lines[i];
    const sizes = [
      layer.size === undefined ? 'size unknown' : `${formatBytes(layer.size)} uncompressed`,
      layer.compressedSize === undefined ? 'compressed size unknown until pushed' : `${formatBytes(layer.compressedSize)} compressed`,
    ].join(' · ');
    const counts = [[layer.added, 'added'], [layer.changed, 'changed'], [layer.removed, 'removed']].filter(([n]) => (n as number) > 0).map(([n, w]) => `${(n as number).toLocaleString('en-US')} ${w as string}`);
    return {
      index: i,
      group: firstOwn >= 0 && i >= firstOwn ? 'Dockerfile' : 'base',
      ...(line !== undefined ? { line } : {}),
      instruction: layer.instruction || '(no history)',
      sizes,
      bar: (layer.size ?? 0) / largest,
      files: counts.length > 0 ? counts.join(' · ') : 'no files',
      waste: layer.supersededBytes > 0 ? `wastes ${formatBytes(layer.supersededBytes)} (overwritten or removed later)` : '',
      status: layer.isNew === undefined ? '' : layer.isNew ? `new against ${report.against?.ref ?? ''}` : `same as ${report.against?.ref ?? ''}`,
      registry: registry[i] ?? '',
    };
  });
  const e = report.efficiency;
  const totals = [
    `Efficiency ${percent(e.efficiency)} (as dive computes it)`,
    `Wasted ${formatBytes(e.wastedBytes)}: ${percent(e.wastedUserPercent)} of the ${formatBytes(e.userSizeBytes)} added over the first layer`,
    // With a target, the reuse model knows what the registry holds; without, every layer would go.
    ...(document?.target ? [] : [`A push would upload ${formatBytes(report.upload.bytes)} of ${formatBytes(e.sizeBytes)} (${report.upload.compressedKnown ? 'compressed' : 'uncompressed tar bytes'})`]),
    ...(document?.target ? [`A push to ${document.target.text} would upload ${formatBytes(document.totals.uploadBytes)} of ${formatBytes(document.totals.totalBytes)} compressed${document.totals.unknownLayers > 0 ? ` (+ ${document.totals.unknownLayers} layers not sized yet)` : ''}`] : []),
    ...(report.against ? [report.against.sentence] : []),
  ];
  return { title, rows, totals };
}

/** A layer's files as a tree (paths sorted, depth for indent), filtered by a substring, at most `limit`. */
export function filesView(report: LayerReport, layer: number, filter = '', limit = 2000): LayerFilesView {
  const files = report.layers[layer]?.files ?? [];
  const needle = filter.toLowerCase();
  const matching = needle === '' ? files : files.filter((f) => f.path.toLowerCase().includes(needle));
  const sorted = [...matching].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).slice(0, limit);
  const count = (n: number) => n.toLocaleString('en-US');
  const summary = needle === ''
    ? `${count(files.length)} file${files.length === 1 ? '' : 's'} changed by this layer${sorted.length < matching.length ? `; the first ${count(limit)} shown` : ''}`
    : `${count(matching.length)} of ${count(files.length)} files match "${filter}"${sorted.length < matching.length ? `; the first ${count(limit)} shown` : ''}`;
  return {
    layer,
    summary,
    files: sorted.map((f) => ({ path: f.path, depth: f.path.split('/').length - 1, name: f.path.slice(f.path.lastIndexOf('/') + 1), change: f.change, size: formatBytes(f.size) })),
  };
}

/**
 * Registry status per image layer: the target chain's base rows (analysis/documentView.ts) for the
 * image's first layers (a base's layers come first, in order); for the others, whether the
 * target tag's config lists the layer's diff_id (compared here, so a rebuild the editor's engine
 * facts have not caught up with yet is not shown as pushed).
 */
export function registryStatuses(report: LayerReport, document: DocumentView, pushedDiffIds?: readonly string[]): string[] {
  const out: string[] = report.layers.map(() => '');
  const target = document.target ? `${document.target.ref.registry}/${document.target.ref.repository}` : 'the target';
  const base = document.stages.find((s) => s.inTargetImage && s.base?.state === 'known')?.base;
  const baseCount = base?.state === 'known' && base.rows.length <= out.length ? base.rows.length : 0;
  if (base?.state === 'known') {
    base.rows.slice(0, baseCount).forEach((row, i) => {
      out[i] = row.status === 'in-target' ? `in ${target}` : row.status === 'mountable' ? `mountable from ${row.mountFrom ?? 'another repository'}` : row.status === 'upload' ? 'will upload' : row.status === 'checking' ? 'checking the registry…' : '';
    });
  }
  if (pushedDiffIds === undefined || !document.target) return out;
  const pushed = new Set(pushedDiffIds);
  report.layers.forEach((layer, i) => {
    if (i >= baseCount) out[i] = pushed.has(layer.diffId) ? `in ${target} (unchanged since the pushed tag)` : 'will upload';
  });
  return out;
}
