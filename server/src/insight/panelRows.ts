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
export function layerLines(report: { layers: readonly { instruction: string }[] }, instructions: readonly Instruction[]): (number | undefined)[] {
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

/** What the panel has not read (yet): layers whose files are unknown, a pushed tag that did not answer. */
export interface Unread {
  /** Indexes of layers whose files are not read (base layers until the user opens one). */
  layers?: readonly number[];
  /** Why the pushed tag is not the why-new reference (e.g. it did not answer in time). */
  pushedTag?: string;
}

export function insightView(title: string, report: LayerReport, lines: readonly (number | undefined)[] = [], document?: DocumentView, pushedDiffIds?: readonly string[], unread: Unread = {}): LayerInsightView {
  const notRead = new Set(unread.layers ?? []);
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
      files: notRead.has(i) ? 'files not read yet: open the layer to list them' : counts.length > 0 ? counts.join(' · ') : 'no files',
      waste: layer.supersededBytes > 0 ? `wastes ${formatBytes(layer.supersededBytes)} (overwritten or removed later)` : '',
      status: layer.isNew === undefined ? '' : layer.isNew ? `new against ${report.against?.ref ?? ''}` : `same as ${report.against?.ref ?? ''}`,
      registry: registry[i] ?? '',
    };
  });
  const e = report.efficiency;
  // dive's figures need every layer's files: over some of them they are partial, and say so.
  const readCount = report.layers.length - notRead.size;
  // A percentage over some layers would mislead (one removed file among few read makes it ~0 %):
  // until every layer is read, efficiency is not given and waste is a lower bound.
  const unreadCount = `${notRead.size} layer${notRead.size === 1 ? '' : 's'} not opened`;
  const efficiency =
    notRead.size === 0
      ? [`Efficiency ${percent(e.efficiency)} (as dive computes it)`, `Wasted ${formatBytes(e.wastedBytes)}: ${percent(e.wastedUserPercent)} of the ${formatBytes(e.userSizeBytes)} added over the first layer`]
      : [
          `Efficiency: computed once every layer is read, as dive needs them all (${unreadCount} yet)`,
          readCount === 0 ? 'Wasted: no layer read yet' : `Wasted at least ${formatBytes(e.wastedBytes)} in the ${readCount} layer${readCount === 1 ? '' : 's'} read (files overwritten or removed later)`,
        ];
  const totals = [
    ...efficiency,
    // With a target, the reuse model knows what the registry holds; without, every layer would go.
    ...(document?.target ? [] : [`A push would upload ${formatBytes(report.upload.bytes)} of ${formatBytes(e.sizeBytes)} (${report.upload.compressedKnown ? 'compressed' : 'uncompressed tar bytes'})`]),
    ...(document?.target ? [`A push to ${document.target.text} would upload ${formatBytes(document.totals.uploadBytes)} of ${formatBytes(document.totals.totalBytes)} compressed${document.totals.unknownLayers > 0 ? ` (+ ${document.totals.unknownLayers} layers not sized yet)` : ''}`] : []),
    ...(unread.pushedTag ? [unread.pushedTag] : []),
    ...(report.against ? [report.against.sentence] : []),
  ];
  return { title, rows, totals };
}

/**
 * A layer's files as a tree (paths sorted, depth for indent), filtered by a substring, at most
 * `limit`. `lowerUnread`: layers beneath it not read, so "added" may be a file they hold (changed).
 */
export function filesView(report: LayerReport, layer: number, filter = '', limit = 2000, lowerUnread = 0): LayerFilesView {
  const files = report.layers[layer]?.files ?? [];
  const needle = filter.toLowerCase();
  const matching = needle === '' ? files : files.filter((f) => f.path.toLowerCase().includes(needle));
  const sorted = [...matching].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).slice(0, limit);
  const count = (n: number) => n.toLocaleString('en-US');
  const summary = needle === ''
    ? `${count(files.length)} file${files.length === 1 ? '' : 's'} changed by this layer${sorted.length < matching.length ? `; the first ${count(limit)} shown` : ''}`
    : `${count(matching.length)} of ${count(files.length)} files match "${filter}"${sorted.length < matching.length ? `; the first ${count(limit)} shown` : ''}`;
  const partial = lowerUnread > 0 ? ` (compared with the layers read: ${count(lowerUnread)} base layer${lowerUnread === 1 ? '' : 's'} beneath not opened, so "added" may mean changed)` : '';
  return {
    layer,
    summary: summary + partial,
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

/** Where a base layer's files can come from, as layerInsight.ts resolved it. */
export type BaseLayerOffer =
  | { kind: 'registry'; digest: string; compressedBytes: number; repository: string }
  | { kind: 'export'; layerBytes?: number; imageBytes?: number };

/** A layer not read yet: what reading it costs, and the button that starts it (no files). */
export function baseLayerOfferView(layer: number, offer: BaseLayerOffer): LayerFilesView {
  if (offer.kind === 'registry') {
    return {
      layer,
      summary: `Base layer: its files come from the registry blob ${offer.digest.slice(0, 19)}… in ${offer.repository} (${formatBytes(offer.compressedBytes)} to download).`,
      files: [],
      offer: 'List files',
    };
  }
  const sizes = [offer.layerBytes !== undefined ? `this layer ${formatBytes(offer.layerBytes)}` : '', offer.imageBytes !== undefined ? `up to the image's ${formatBytes(offer.imageBytes)}` : ''].filter((t) => t !== '');
  return {
    layer,
    summary: `Base layer: no registry is known to hold it (a base built locally, or not checked yet); its files can be read from the engine's export of the image${sizes.length > 0 ? ` (reads ${sizes.join(', ')} uncompressed)` : ''}.`,
    files: [],
    offer: 'Read from the engine',
  };
}

/** A pushed tag that did not answer: the panel compares with the previous build, or nothing. */
export function pushedTagUnread(ref: string, why: string, hasPrevious: boolean): string {
  return `The pushed tag ${ref} could not be read (${why}): ${hasPrevious ? 'compared with the previous build instead' : 'no comparison shown'}.`;
}
