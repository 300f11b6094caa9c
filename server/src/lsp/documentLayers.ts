// `layerlift/documentLayers`: every layer of the image a Dockerfile builds, stage by stage —
// the base's layers from its registry manifest, then each layer-creating instruction — with sizes
// and where each stands in the target registry. The VS Code layer view and status bar draw this.
import { familiarReference } from '../core/reference';
import { shortHex } from '../core/format';
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
  const out: DocumentLayers = { uri, trusted, offline: view.offline, stages, totals: view.totals };
  if (view.target) out.target = familiarReference(view.target.ref);
  if (targetProblem) out.targetProblem = targetProblem;
  return out;
}

function stageLayers(stage: StageView, view: DocumentView): StageLayers {
  const rows: LayerRow[] = [];
  if (stage.base?.state === 'known') {
    for (const row of stage.base.rows) {
      rows.push({
        kind: 'base',
        label: shortHex(row.digest),
        digest: row.digest,
        line: stage.stage.line,
        compressedBytes: row.compressedBytes,
        // A registry manifest lists compressed sizes only; the uncompressed size is in no manifest.
        bytes: null,
        basis: 'registry',
        status: stage.inTargetImage ? row.status : 'not-pushed',
        ...(row.mountFrom ? { detail: row.mountFrom } : {}),
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
  };
}

/** `COPY . /app`, `RUN apt-get install -y curl` — one line, at most 80 characters. */
export function instructionLabel(keyword: string, args: string[]): string {
  const text = `${keyword} ${args.join(' ')}`.replace(/\s+/g, ' ').trim();
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
