// Diagnostics for what is Layerlift's own business only: bases that cannot be resolved, a
// Dockerfile with no target image, registry errors. Other Dockerfile extensions lint the rest.
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver';
import type { DocumentView } from '../analysis/documentView';
import type { DockerfileAnalysis } from '../analysis/types';

export function diagnostics(analysis: DockerfileAnalysis, view: DocumentView, targetProblem?: string): Diagnostic[] {
  const out: Diagnostic[] = analysis.errors.map((e) => ({ range: e.range, message: e.message, severity: DiagnosticSeverity.Error, source: 'layerlift' }));
  if (targetProblem) {
    const range = analysis.stages[0]?.imageRange ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
    out.push({ range, message: targetProblem, severity: DiagnosticSeverity.Information, source: 'layerlift' });
  }
  for (const stage of view.stages) {
    if (stage.base?.state === 'error' && !stage.base.offline) {
      out.push({ range: stage.stage.imageRange, message: stage.base.message, severity: DiagnosticSeverity.Warning, source: 'layerlift' });
    }
  }
  return out;
}
