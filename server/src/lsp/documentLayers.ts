// `layerlift/documentLayers`: every layer of the image a Dockerfile builds, stage by stage —
// the base's layers from its registry manifest, then each layer-creating instruction — with sizes
// and where each stands in the target registry. The VS Code layer view and status bar draw this.
import { familiarReference } from '../core/reference';
import { formatBytes, shortHex } from '../core/format';
import type { DocumentView, LayerView, StageView } from '../analysis/documentView';
import { stageSummary } from './codeLens';
import type { DocumentLayers, LayerRegistryStatus, LayerRow, StageLayers } from './protocol';

export interface DocumentLayersInput {
  uri: string;
  view: DocumentView;
  targetProblem?: string;
  trusted: boolean;
}

export function documentLayers({ uri, view, targetProblem, trusted }: DocumentLayersInput): DocumentLayers {
  const stages = view.stages.map((stage) => stageLayers(stage, view));
  const largest = Math.max(1, ...stages.flatMap((s) => s.rows.map((r) => r.compressedBytes ?? 0)));
  for (const row of stages.flatMap((s) => s.rows)) row.share = (row.compressedBytes ?? 0) / largest;
  const t = view.totals;
  const later = t.unknownLayers > 0 ? `, ${t.unknownLayers} layer${t.unknownLayers === 1 ? '' : 's'} after a build` : '';
  const uploadText = `↑ ${formatBytes(t.uploadBytes)} of ${formatBytes(t.totalBytes)}${later}`;
  const out: DocumentLayers = { uri, trusted, offline: view.offline, stages, totals: t, uploadText };
  if (view.target) out.target = familiarReference(view.target.ref);
  if (targetProblem) out.targetProblem = targetProblem;
  return out;
}

function stageLayers(stage: StageView, view: DocumentView): StageLayers {
  const rows: LayerRow[] = [];
  if (stage.base?.state === 'known') {
    for (const row of stage.base.rows) {
      const status = stage.inTargetImage ? row.status : 'not-pushed';
      rows.push({
        kind: 'base',
        label: shortHex(row.digest),
        digest: row.digest,
        line: stage.stage.line,
        compressedBytes: row.compressedBytes,
        // A registry manifest lists compressed sizes only; the uncompressed size is in no manifest.
        bytes: null,
        basis: 'registry',
        status,
        ...(row.mountFrom ? { detail: row.mountFrom } : {}),
        compressedText: formatBytes(row.compressedBytes),
        bytesText: '—',
        statusText: statusText(status, 'registry', row.mountFrom),
        share: 0,
      });
    }
  }
  for (const layer of view.layers.filter((l) => l.instruction.stage === stage.stage.index)) rows.push(instructionRow(layer, view));
  return { index: stage.stage.index, line: stage.stage.line, title: stageSummary(stage, view), inTargetImage: stage.inTargetImage, rows };
}

function instructionRow(layer: LayerView, view: DocumentView): LayerRow {
  const { instruction, estimate } = layer;
  let status: LayerRegistryStatus;
  if (!layer.inTargetImage) status = 'not-pushed';
  else if (!view.target) status = 'unknown';
  else if (layer.inTarget) status = 'in-target';
  // Before a build nothing can be "there": a layer is content-addressed only once built.
  else status = estimate.basis === 'built' ? 'upload' : 'unknown';
  return {
    kind: 'instruction',
    label: instructionLabel(instruction.keyword, instruction.args),
    line: instruction.line,
    compressedBytes: estimate.compressedBytes,
    bytes: estimate.bytes,
    basis: estimate.basis,
    status,
    compressedText: sizeText(estimate.compressedBytes, estimate.basis),
    bytesText: sizeText(estimate.bytes, estimate.basis),
    statusText: statusText(status, estimate.basis),
    share: 0,
  };
}

function sizeText(bytes: number | null, basis: LayerRow['basis']): string {
  return bytes === null ? '—' : `${basis === 'context' ? '~' : ''}${formatBytes(bytes)}`;
}

function statusText(status: LayerRegistryStatus, basis: LayerRow['basis'], mountFrom?: string): string {
  switch (status) {
    case 'in-target':
      return 'in registry';
    case 'mountable':
      return `mountable from ${mountFrom ?? 'another repository'}`;
    case 'upload':
      return 'will upload';
    case 'checking':
      return 'checking…';
    case 'not-pushed':
      return 'not in the pushed image';
    default:
      return basis === 'registry' ? 'not checked' : basis === 'built' ? 'no target image' : 'known after a build';
  }
}

/** `COPY . /app`, `RUN apt-get install -y curl` — one line, at most 80 characters. */
export function instructionLabel(keyword: string, args: string[]): string {
  const text = `${keyword} ${args.join(' ')}`.replace(/\s+/g, ' ').trim();
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
