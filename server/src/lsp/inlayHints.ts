// Inlay hints at the end of layer lines: what each layer adds to a push.
//   `+12.4 MB ↑`    will be uploaded      `✓ in registry`   already in the target
//   `~2.1 MB est.`  estimated from the build context, before a build
//   `? until built` a RUN layer: its size is known only after a build
import { InlayHintKind, type InlayHint, type Range } from 'vscode-languageserver';
import { formatBytes } from '../core/format';
import type { DocumentView, LayerView, StageView } from '../analysis/documentView';

export function inlayHints(view: DocumentView, range: Range, lineLength: (line: number) => number): InlayHint[] {
  const hints: InlayHint[] = [];
  const visible = (line: number) => line >= range.start.line && line <= range.end.line;
  const at = (line: number, label: string, tooltip: string): InlayHint => ({
    position: { line, character: lineLength(line) },
    label,
    kind: InlayHintKind.Type,
    paddingLeft: true,
    tooltip,
  });
  for (const stage of view.stages) {
    const line = stage.stage.range.end.line;
    if (!stage.inTargetImage || !visible(line)) continue;
    const hint = baseHint(stage, view);
    if (hint) hints.push(at(line, hint.label, hint.tooltip));
  }
  for (const layer of view.layers) {
    if (!layer.inTargetImage || !visible(layer.instruction.endLine)) continue;
    const hint = layerHint(layer);
    hints.push(at(layer.instruction.endLine, hint.label, hint.tooltip));
  }
  return hints;
}

function baseHint(stage: StageView, view: DocumentView): { label: string; tooltip: string } | undefined {
  if (stage.base?.state !== 'known' || !view.target) return undefined;
  const upload = stage.base.rows.filter((r) => r.status === 'upload').reduce((s, r) => s + r.compressedBytes, 0);
  if (stage.base.rows.every((r) => r.status === 'in-target')) return { label: '✓ in registry', tooltip: `every base layer is already in ${view.target.text}` };
  if (upload > 0) return { label: `+${formatBytes(upload)} ↑`, tooltip: 'base layers the target registry does not have: pre-push the base to avoid sending them from here' };
  if (stage.base.rows.every((r) => r.status === 'in-target' || r.status === 'mountable')) return { label: '✓ mountable', tooltip: 'the target registry holds these layers in another repository: a push mounts them, sending nothing' };
  return undefined;
}

function layerHint(layer: LayerView): { label: string; tooltip: string } {
  const { estimate } = layer;
  if (estimate.compressedBytes === null) return { label: '? until built', tooltip: `${layer.instruction.keyword} layers are measured after a build` };
  if (layer.inTarget) return { label: '✓ in registry', tooltip: 'built layer the target image already has: a push sends nothing for it' };
  if (estimate.basis === 'context') return { label: `~${formatBytes(estimate.compressedBytes)} est.`, tooltip: `estimated from the build context: ${formatBytes(estimate.bytes ?? 0)} uncompressed, ~${formatBytes(estimate.compressedBytes)} compressed` };
  return { label: `+${formatBytes(estimate.compressedBytes)} ↑`, tooltip: `built layer a push would upload (${formatBytes(estimate.bytes ?? 0)} uncompressed)` };
}
