// layerlift/documentLayers: the rows the VS Code layer view and status bar draw, from a real
// analysis and hand-set registry facts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDockerfile } from '../../server/src/analysis/analyzeDockerfile';
import { buildDocumentView, type BaseLayers, type Fact, type FactsSource, type LayerEstimate } from '../../server/src/analysis/documentView';
import type { Instruction } from '../../server/src/analysis/types';
import { parseReference } from '../../server/src/core/reference';
import { documentLayers, instructionLabel } from '../../server/src/lsp/documentLayers';
import { digest, linux } from './analysisFixtures';

const dockerfile = ['FROM golang:1.22 AS build', 'RUN go build -o /app .', '', 'FROM registry.example.com/base/alpine:3.20', 'COPY --from=build /app /app', 'RUN echo done'].join('\n');
const target = parseReference('registry.example.com/team/app:1');

function facts(estimates: Map<number, LayerEstimate>, present: Set<string>): FactsSource {
  const base: Fact<BaseLayers> = { state: 'known', value: { digest: digest(1), layers: [{ digest: digest(2), size: 3_000_000 }, { digest: digest(3), size: 500_000 }] }, checkedAt: 1, stale: false };
  return {
    baseImage: () => base,
    blobPresent: (repo, d) => ({ state: 'known', value: present.has(`${repo.repository}|${d}`), checkedAt: 1, stale: false }),
    estimate: (i: Instruction) => estimates.get(i.index) ?? { bytes: null, compressedBytes: null, basis: 'unknown' },
    isUnreachable: () => false,
  };
}

void describe('documentLayers', () => {
  const analysis = analyzeDockerfile(dockerfile, { platform: linux });

  test('lists each stage with its FROM lens text, base layers first, then its instructions', () => {
    const estimates = new Map<number, LayerEstimate>([[3, { bytes: 2_000_000, compressedBytes: 900_000, basis: 'context' }]]);
    const view = buildDocumentView(analysis, facts(estimates, new Set([`team/app|${digest(2)}`, `base/alpine|${digest(3)}`])), { target });
    const layers = documentLayers({ uri: 'file:///w/Dockerfile', view, trusted: true });
    assert.equal(layers.target, 'registry.example.com/team/app:1');
    assert.equal(layers.stages.length, 2);
    const [build, final] = layers.stages;
    assert.equal(build?.inTargetImage, false);
    assert.deepEqual(build?.rows.map((r) => r.status), ['not-pushed', 'not-pushed', 'not-pushed']);
    assert.match(final?.title ?? '', /^registry\.example\.com\/base\/alpine:3\.20 · 2 layers · 3\.5 MB · 1\/2 in registry\.example\.com\/team\/app, 1 mountable$/);
    assert.deepEqual(
      final?.rows.map((r) => [r.kind, r.label, r.status, r.compressedBytes, r.bytes, r.basis, r.detail]),
      [
        ['base', '020202020202', 'in-target', 3_000_000, null, 'registry', undefined],
        ['base', '030303030303', 'mountable', 500_000, null, 'registry', 'registry.example.com/base/alpine'],
        ['instruction', 'COPY /app /app', 'unknown', 900_000, 2_000_000, 'context', undefined],
        ['instruction', 'RUN echo done', 'unknown', null, null, 'unknown', undefined],
      ],
    );
    assert.deepEqual(layers.totals, { uploadBytes: 900_000, totalBytes: 4_400_000, unknownLayers: 1 });
    assert.equal(layers.uploadText, '↑ 900 kB of 4.4 MB, 1 layer after a build');
    assert.deepEqual(
      final?.rows.map((r) => [r.compressedText, r.bytesText, r.statusText, Math.round(r.share * 100)]),
      [
        ['3.0 MB', '—', 'in registry', 100],
        ['500 kB', '—', 'mountable from registry.example.com/base/alpine', 17],
        ['~900 kB', '~2.0 MB', 'known after a build', 30],
        ['—', '—', 'known after a build', 0],
      ],
    );
    assert.equal(layers.trusted, true);
  });

  test('without a target says why, and marks the image layers unknown', () => {
    const view = buildDocumentView(analysis, facts(new Map(), new Set()), {});
    const layers = documentLayers({ uri: 'file:///w/Dockerfile', view, trusted: false, targetProblem: 'No target image is configured' });
    assert.equal(layers.target, undefined);
    assert.equal(layers.targetProblem, 'No target image is configured');
    assert.equal(layers.trusted, false);
    assert.deepEqual(layers.stages[1]?.rows.map((r) => r.status), ['unknown', 'unknown', 'unknown', 'unknown']);
  });

  test('instruction labels are one line of at most 80 characters', () => {
    assert.equal(instructionLabel('RUN', ['apt-get  update', '&&\n', 'install']), 'RUN apt-get update && install');
    const long = instructionLabel('RUN', ['x'.repeat(200)]);
    assert.equal(long.length, 80);
    assert.ok(long.endsWith('…'));
  });
});
