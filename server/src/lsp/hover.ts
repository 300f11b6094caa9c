// Hover on a FROM or a layer line: the layers, their sizes, and where each stands in the target.
import type { Hover, Position } from 'vscode-languageserver';
import { formatBytes, formatDuration, shortHex } from '../core/format';
import { formatReference } from '../core/reference';
import type { BaseLayerRow, DocumentView, StageView } from '../analysis/documentView';

/** `notices`: registries Layerlift is waiting for (RegistryState.notices), said on FROM lines. */
export function hover(view: DocumentView, position: Position, now: number, notices: readonly string[] = []): Hover | null {
  const stage = view.stages.find((s) => position.line >= s.stage.range.start.line && position.line <= s.stage.range.end.line);
  if (stage) {
    const value = [stageHover(stage, view, now), ...notices.map((n) => `_Paused: ${n}._`)].join('\n\n');
    return { contents: { kind: 'markdown', value }, range: stage.stage.imageRange };
  }
  const layer = view.layers.find((l) => position.line >= l.instruction.line && position.line <= l.instruction.endLine);
  if (!layer) return null;
  const { estimate, instruction } = layer;
  const lines = [`**${instruction.keyword} layer**${layer.inTargetImage ? '' : ' (not in the pushed image)'}`, '', '| | Compressed | Uncompressed | Status |', '|---|---|---|---|'];
  const upload = !layer.inTargetImage ? 'not pushed' : layer.inTarget ? `already in registry ${view.target ? `${view.target.ref.registry}/${view.target.ref.repository}` : ''} (unchanged since the last push)` : 'will upload';
  const status = estimate.basis === 'unknown' ? `size known after a build; ${upload}` : estimate.basis === 'context' ? `estimate from the build context; ${upload}` : `built; ${upload}`;
  lines.push(`| ${instruction.keyword} | ${size(estimate.compressedBytes, estimate.basis === 'context')} | ${size(estimate.bytes, estimate.basis === 'context')} | ${status} |`);
  return { contents: { kind: 'markdown', value: lines.join('\n') }, range: instruction.range };
}

function size(bytes: number | null, estimated: boolean): string {
  return bytes === null ? '—' : `${estimated ? '~' : ''}${formatBytes(bytes)}`;
}

function stageHover(stage: StageView, view: DocumentView, now: number): string {
  const base = stage.stage.base;
  const head = base?.kind === 'image' ? `**${stage.label}** — \`${formatReference(base.ref)}\`` : `**${stage.label}**`;
  const lines = [head, ''];
  if (stage.stage.error) return [...lines, `Cannot resolve this base: ${stage.stage.error}`].join('\n');
  if (!stage.base) return [...lines, base?.kind === 'scratch' ? 'An empty base: no layers.' : 'Built by this Dockerfile.'].join('\n');
  if (stage.base.state === 'checking') return [...lines, 'Checking the registry…'].join('\n');
  if (stage.base.state === 'not-checked') return [...lines, `The registry is not checked: ${stage.base.reason}.`].join('\n');
  if (stage.base.state === 'error') return [...lines, stage.base.offline ? 'The registry is unreachable (offline).' : `Registry error: ${stage.base.message}`].join('\n');
  const target = view.target ? `${view.target.ref.registry}/${view.target.ref.repository}` : undefined;
  const count = stage.base.rows.length;
  lines.push(`Platform \`${stage.stage.platform.os}/${stage.stage.platform.architecture}\` · ${count} layer${count === 1 ? '' : 's'} · ${formatBytes(stage.base.compressedBytes)} compressed`, '');
  if (stage.base.rows.length > 0) {
    lines.push('| Layer | Compressed | Uncompressed | Status |', '|---|---|---|---|');
    for (const row of stage.base.rows) lines.push(`| \`${shortHex(row.digest)}\` | ${formatBytes(row.compressedBytes)} | — | ${rowStatus(row, target, now)} |`);
  }
  if (view.target) {
    const t = view.totals;
    lines.push('', `A push to \`${view.target.text}\` would upload ${formatBytes(t.uploadBytes)} of ${formatBytes(t.totalBytes)}${t.unknownLayers > 0 ? ` (+ ${t.unknownLayers} layer${t.unknownLayers === 1 ? '' : 's'} measured after a build)` : ''}.`);
    if (view.target.source) lines.push('', `The target comes from ${view.target.source}.`);
  } else {
    lines.push('', 'No target image is configured for this Dockerfile (setting `layerlift.images`).');
  }
  if (view.offline) lines.push('', '_Offline: showing what was last known._');
  return lines.join('\n');
}

function rowStatus(row: BaseLayerRow, target: string | undefined, now: number): string {
  const ago = row.checkedAt ? ` (checked ${formatDuration(Math.max(0, now - row.checkedAt))} ago)` : '';
  switch (row.status) {
    case 'in-target':
      return `already in registry ${target ?? ''}${ago}`;
    case 'mountable':
      return `mountable from ${row.mountFrom ?? '?'}${ago}`;
    case 'upload':
      return `will upload${ago}`;
    case 'checking':
      return 'checking…';
    default:
      return target ? 'unknown' : 'no target image';
  }
}
