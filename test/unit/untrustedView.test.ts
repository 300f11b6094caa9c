// An untrusted workspace: the facts source says registry facts are not checked, and every
// feature says so instead of "checking…" forever or a registry error.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDockerfile } from '../../server/src/analysis/analyzeDockerfile';
import { buildDocumentView, type FactsSource } from '../../server/src/analysis/documentView';
import { parseReference } from '../../server/src/core/reference';
import { codeLenses } from '../../server/src/lsp/codeLens';
import { hover } from '../../server/src/lsp/hover';
import { inlayHints } from '../../server/src/lsp/inlayHints';
import { diagnostics } from '../../server/src/lsp/diagnostics';
import { linux } from './analysisFixtures';

const text = 'FROM registry.example.com/base/python:3.12\nRUN pip install flask\n';
const target = parseReference('registry.example.com/team/app:1');

void describe('an untrusted workspace', () => {
  const reads: string[] = [];
  const facts: FactsSource = {
    baseImage: () => {
      reads.push('baseImage');
      return { state: 'unknown' };
    },
    blobPresent: () => {
      reads.push('blobPresent');
      return { state: 'unknown' };
    },
    estimate: () => ({ bytes: null, compressedBytes: null, basis: 'unknown' }),
    isUnreachable: () => false,
    notChecked: () => 'workspace not trusted',
  };
  const analysis = analyzeDockerfile(text, { platform: linux });
  const view = buildDocumentView(analysis, facts, { target });

  test('never asks for registry facts', () => {
    assert.deepEqual(reads, []);
    assert.deepEqual(view.stages[0]?.base, { state: 'not-checked', reason: 'workspace not trusted' });
  });

  test('the FROM lens says the registry is not checked, and offers no push actions', () => {
    const lenses = codeLenses(view, 'file:///w/Dockerfile');
    assert.deepEqual(lenses.map((l) => l.command?.title), ['registry.example.com/base/python:3.12 · registry not checked (workspace not trusted)']);
  });

  test('the hover says why, and there is no warning diagnostic or base hint', () => {
    const h = hover(view, { line: 0, character: 8 }, 0);
    assert.match((h?.contents as { value: string }).value, /The registry is not checked: workspace not trusted\./);
    assert.deepEqual(diagnostics(analysis, view).filter((d) => d.severity === 2), []);
    assert.deepEqual(inlayHints(view, { start: { line: 0, character: 0 }, end: { line: 0, character: 100 } }, () => 40), []);
  });
});
