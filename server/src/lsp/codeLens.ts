// Code lenses on FROM lines: what the base resolves to, its layers and size, and how much of it
// the target already holds — plus the actions the client implements (pre-push, build & push).
import type { CodeLens } from 'vscode-languageserver';
import { formatBytes } from '../core/format';
import type { DocumentView, StageView } from '../analysis/documentView';
import { lensCommands } from './protocol';

export function codeLenses(view: DocumentView, uri: string): CodeLens[] {
  const lenses: CodeLens[] = [];
  for (const stage of view.stages) {
    const line = stage.stage.line;
    const range = { start: { line, character: 0 }, end: { line, character: 0 } };
    lenses.push({ range, command: { title: stageSummary(stage, view), command: lensCommands.showLayers, arguments: [uri, stage.stage.index] } });
    // Untrusted: analysis only, so no action that would run the engine or reach a registry.
    if (!view.target || !stage.inTargetImage || view.notChecked) continue;
    const needsUpload = stage.base?.state === 'known' && stage.base.rows.some((r) => r.status === 'upload');
    if (needsUpload) lenses.push({ range, command: { title: 'Pre-push base', command: lensCommands.prepushBase, arguments: [uri, stage.stage.index] } });
    if (stage.stage.index === lastChainStage(view)) lenses.push({ range, command: { title: 'Build & push', command: lensCommands.buildAndPush, arguments: [uri] } });
  }
  return lenses;
}

function lastChainStage(view: DocumentView): number {
  return Math.max(...view.stages.filter((s) => s.inTargetImage).map((s) => s.stage.index));
}

/** `python:3.12-slim · 4 layers · 41.3 MB · 4/4 in registry.example.com/team/app` */
export function stageSummary(stage: StageView, view: DocumentView): string {
  const parts = [stage.label];
  if (stage.stage.error) return `${stage.label} · cannot resolve: ${stage.stage.error}`;
  const base = stage.base;
  if (stage.stage.base?.kind === 'scratch') parts.push('no base layers');
  if (stage.stage.base?.kind === 'stage') parts.push('built in this Dockerfile');
  if (base?.state === 'checking') parts.push('checking registry…');
  if (base?.state === 'not-checked') parts.push(`registry not checked (${base.reason})`);
  if (base?.state === 'error') parts.push(base.offline ? 'registry unreachable (offline)' : 'registry error — see Problems');
  if (base?.state === 'known') {
    parts.push(`${base.rows.length} layer${base.rows.length === 1 ? '' : 's'}`, formatBytes(base.compressedBytes));
    if (view.target && stage.inTargetImage) {
      const there = base.rows.filter((r) => r.status === 'in-target').length;
      const mountable = base.rows.filter((r) => r.status === 'mountable').length;
      const checking = base.rows.some((r) => r.status === 'checking');
      parts.push(`${there}/${base.rows.length} in ${view.target.ref.registry}/${view.target.ref.repository}${mountable > 0 ? `, ${mountable} mountable` : ''}${checking ? ' (checking…)' : ''}`);
    }
    if (base.stale && view.offline) parts.push('cached (offline)');
  }
  if (!stage.inTargetImage) parts.push('not in the pushed image');
  return parts.join(' · ');
}
