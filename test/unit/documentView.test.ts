// The reuse model (documentView.ts) over hand-built analyses and a fake FactsSource: which
// stages end up in the pushed image, where each base layer stands in the target registry, and
// the totals a push would send.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDocumentView, describeTarget, mountCandidates, type BaseLayers } from '../../server/src/analysis/documentView';
import type { DockerfileAnalysis, Instruction, Stage } from '../../server/src/analysis/types';
import { formatReference, type ImageReference } from '../../server/src/core/reference';
import { analysis, digest, FakeFacts, golang, hubMirrors, instruction, known, linux, python, range, scratchStage, target, teamRepo } from './analysisFixtures';

// --- hand-built analyses -------------------------------------------------------------------

function imageStage(index: number, line: number, imageText: string, ref: ImageReference, name?: string): Stage {
  const stage: Stage = {
    index,
    line,
    range: range(line, 0, line, 5 + imageText.length + (name ? name.length + 4 : 0)),
    imageRange: range(line, 5, line, 5 + imageText.length),
    imageText,
    base: { kind: 'image', ref, text: formatReference(ref) },
    platform: linux,
  };
  if (name) stage.name = name;
  return stage;
}

function stageStage(index: number, line: number, imageText: string, from: number, name?: string): Stage {
  const stage: Stage = {
    index,
    line,
    range: range(line, 0, line, 5 + imageText.length),
    imageRange: range(line, 5, line, 5 + imageText.length),
    imageText,
    base: { kind: 'stage', index: from },
    platform: linux,
  };
  if (name) stage.name = name;
  return stage;
}

// FROM golang:1.22 AS build          (0)   not in the pushed image
// WORKDIR /src                       (1)
// COPY . .                           (2)
// RUN go build -o /app \             (3-4)
// FROM python:3.12-slim AS runtime   (5)
// COPY --from=build /app /app        (6)
// RUN pip install \                  (7-8)
// FROM runtime AS final              (9)   the target
// COPY app.py /srv/                  (10)
function multiStage(): DockerfileAnalysis {
  return analysis(
    [imageStage(0, 0, 'golang:1.22', golang, 'build'), imageStage(1, 5, 'python:3.12-slim', python, 'runtime'), stageStage(2, 9, 'runtime', 1, 'final')],
    [
      instruction(0, 0, 'FROM', 0),
      instruction(1, 0, 'WORKDIR', 1),
      instruction(2, 0, 'COPY', 2),
      instruction(3, 0, 'RUN', 3, 4),
      instruction(4, 1, 'FROM', 5),
      instruction(5, 1, 'COPY', 6),
      instruction(6, 1, 'RUN', 7, 8),
      instruction(7, 2, 'FROM', 9),
      instruction(8, 2, 'COPY', 10),
    ],
  );
}

const pythonLayers: BaseLayers = {
  digest: digest(0xf0),
  layers: [
    { digest: digest(1), size: 29_000_000 },
    { digest: digest(2), size: 3_500_000 },
    { digest: digest(3), size: 8_000_000 },
    { digest: digest(4), size: 800_000 },
  ],
};

const golangLayers: BaseLayers = {
  digest: digest(0xf1),
  layers: [
    { digest: digest(0x11), size: 50_000_000 },
    { digest: digest(0x12), size: 70_000_000 },
  ],
};

void describe('buildDocumentView: the image chain', () => {
  test('the target and the stage it is FROM are in the image; an unrelated stage is not', () => {
    const facts = new FakeFacts();
    const view = buildDocumentView(multiStage(), facts, { target });
    assert.deepEqual(
      view.stages.map((s) => [s.stage.index, s.inTargetImage]),
      [
        [0, false],
        [1, true],
        [2, true],
      ],
    );
  });

  test('layers are those instructions that create one, marked by their stage', () => {
    const view = buildDocumentView(multiStage(), new FakeFacts(), { target });
    assert.deepEqual(
      view.layers.map((l) => [l.instruction.index, l.instruction.keyword, l.inTargetImage]),
      [
        [2, 'COPY', false],
        [3, 'RUN', false],
        [5, 'COPY', true],
        [6, 'RUN', true],
        [8, 'COPY', true],
      ],
    );
  });

  test('follows a chain of several FROM-stage references', () => {
    const a = analysis(
      [imageStage(0, 0, 'python:3.12-slim', python, 'a'), stageStage(1, 2, 'a', 0, 'b'), imageStage(2, 4, 'golang:1.22', golang, 'c'), stageStage(3, 6, 'b', 1, 'd')],
      [instruction(0, 0, 'FROM', 0), instruction(1, 0, 'RUN', 1), instruction(2, 1, 'FROM', 2), instruction(3, 2, 'FROM', 4), instruction(4, 2, 'RUN', 5), instruction(5, 3, 'FROM', 6)],
    );
    const view = buildDocumentView(a, new FakeFacts(), { target });
    assert.deepEqual(
      view.stages.map((s) => s.inTargetImage),
      [true, true, false, true],
    );
    assert.deepEqual(
      view.layers.map((l) => [l.instruction.index, l.inTargetImage]),
      [
        [1, true],
        [4, false],
      ],
    );
  });

  test('--target selects an earlier stage: later stages are not in the image', () => {
    const a = multiStage();
    a.targetStage = 1;
    const view = buildDocumentView(a, new FakeFacts(), { target });
    assert.deepEqual(
      view.stages.map((s) => s.inTargetImage),
      [false, true, false],
    );
  });

  test('a self-referencing stage does not loop', () => {
    const a = analysis([stageStage(0, 0, 'self', 0, 'self')], [instruction(0, 0, 'FROM', 0)]);
    const view = buildDocumentView(a, new FakeFacts(), { target });
    assert.deepEqual(
      view.stages.map((s) => s.inTargetImage),
      [true],
    );
  });
});

void describe('buildDocumentView: stage labels and base states', () => {
  test('labels an image base with its familiar reference, a stage by index, scratch as scratch', () => {
    const a = analysis([imageStage(0, 0, 'python:3.12-slim', python), stageStage(1, 2, 'stage0', 0), scratchStage(2, 4)], []);
    const view = buildDocumentView(a, new FakeFacts());
    assert.deepEqual(
      view.stages.map((s) => s.label),
      ['python:3.12-slim', 'stage 0', 'scratch'],
    );
    assert.equal(view.stages[1]?.base, undefined);
    assert.equal(view.stages[2]?.base, undefined);
  });

  test('labels a registry-qualified base with its registry', () => {
    const ref: ImageReference = { registry: 'ghcr.io', repository: 'org/tool', tag: '2' };
    const view = buildDocumentView(analysis([imageStage(0, 0, 'ghcr.io/org/tool:2', ref)], []), new FakeFacts());
    assert.equal(view.stages[0]?.label, 'ghcr.io/org/tool:2');
  });

  test('an unresolved FROM keeps the text as written and has no base state', () => {
    const stage: Stage = { index: 0, line: 0, range: range(0, 0, 0, 20), imageRange: range(0, 5, 0, 20), imageText: '${BASE}:latest', platform: linux, error: 'BASE is not set' };
    const facts = new FakeFacts();
    const view = buildDocumentView(analysis([stage], []), facts, { target });
    assert.equal(view.stages[0]?.label, '${BASE}:latest');
    assert.equal(view.stages[0]?.base, undefined);
    assert.deepEqual(facts.baseQueries, []);
  });

  test('asks for the base on the stage platform', () => {
    const stage = imageStage(0, 0, 'python:3.12-slim', python);
    stage.platform = { os: 'linux', architecture: 'arm64', variant: 'v8' };
    const facts = new FakeFacts();
    buildDocumentView(analysis([stage], []), facts);
    assert.deepEqual(facts.baseQueries, ['docker.io/library/python:3.12-slim linux/arm64']);
  });

  test('an unknown base fact is checking', () => {
    const view = buildDocumentView(analysis([imageStage(0, 0, 'python:3.12-slim', python)], []), new FakeFacts(), { target });
    assert.deepEqual(view.stages[0]?.base, { state: 'checking' });
  });

  test('a base error carries its message and whether the registry is unreachable', () => {
    const facts = new FakeFacts().setBase(python, { state: 'error', message: 'pull docker.io/library/python: manifest unknown', code: 'MANIFEST_UNKNOWN', checkedAt: 5 });
    const a = analysis([imageStage(0, 0, 'python:3.12-slim', python)], []);
    assert.deepEqual(buildDocumentView(a, facts, { target }).stages[0]?.base, { state: 'error', message: 'pull docker.io/library/python: manifest unknown', offline: false });
    facts.unreachable.add('docker.io');
    assert.deepEqual(buildDocumentView(a, facts, { target }).stages[0]?.base, { state: 'error', message: 'pull docker.io/library/python: manifest unknown', offline: true });
  });

  test('a known base carries its digest, the sum of its layers, checkedAt and staleness', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers, 4_242, true));
    const view = buildDocumentView(analysis([imageStage(0, 0, 'python:3.12-slim', python)], []), facts);
    const base = view.stages[0]?.base;
    assert.ok(base?.state === 'known');
    assert.equal(base.digest, digest(0xf0));
    assert.equal(base.compressedBytes, 41_300_000);
    assert.equal(base.checkedAt, 4_242);
    assert.equal(base.stale, true);
    assert.deepEqual(
      base.rows.map((r) => [r.digest, r.compressedBytes]),
      pythonLayers.layers.map((l) => [l.digest, l.size]),
    );
  });
});

void describe('buildDocumentView: base layer rows', () => {
  function rowsOf(facts: FakeFacts, mirrors?: Record<string, string>, ref: ImageReference | null = target) {
    const options = ref ? { target: ref, ...(mirrors ? { mirrors } : {}) } : {};
    const view = buildDocumentView(analysis([imageStage(0, 0, 'python:3.12-slim', python)], []), facts, options);
    const base = view.stages[0]?.base;
    assert.ok(base?.state === 'known', 'the base is known');
    return base.rows;
  }

  test('without a target every row is unknown and no blob is asked for', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    const rows = rowsOf(facts, undefined, null);
    assert.deepEqual(
      rows.map((r) => r.status),
      ['unknown', 'unknown', 'unknown', 'unknown'],
    );
    assert.deepEqual(facts.blobQueries, []);
    assert.ok(rows.every((r) => r.mountFrom === undefined && r.checkedAt === undefined));
  });

  test('a layer present in the target repository is in-target, with its checkedAt', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    for (const layer of pythonLayers.layers) facts.setBlob(teamRepo, layer.digest, known(true, 7_000));
    const rows = rowsOf(facts);
    assert.deepEqual(rows[0], { digest: digest(1), compressedBytes: 29_000_000, status: 'in-target', checkedAt: 7_000 });
    assert.ok(rows.every((r) => r.status === 'in-target'));
    assert.ok(!facts.blobQueries.some((q) => !q.startsWith('registry.example.com/team/app|')), 'no other repository is asked about');
  });

  test('a layer in the base repository path of the target registry is mountable from there', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    const layer = digest(2);
    facts.setBlob(teamRepo, layer, known(false, 1_000));
    facts.setBlob({ registry: 'registry.example.com', repository: 'library/python' }, layer, known(true, 2_000));
    const row = rowsOf(facts)[1];
    assert.deepEqual(row, { digest: layer, compressedBytes: 3_500_000, status: 'mountable', mountFrom: 'registry.example.com/library/python', checkedAt: 2_000 });
  });

  test('a layer in a mirror repository is mountable from the mirror', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    const layer = digest(3);
    facts.setBlob(teamRepo, layer, known(false));
    facts.setBlob({ registry: 'registry.example.com', repository: 'library/python' }, layer, known(false));
    facts.setBlob({ registry: 'registry.example.com', repository: 'hub/library/python' }, layer, known(true, 3_000));
    const row = rowsOf(facts, hubMirrors)[2];
    assert.deepEqual(row, { digest: layer, compressedBytes: 8_000_000, status: 'mountable', mountFrom: 'registry.example.com/hub/library/python', checkedAt: 3_000 });
  });

  test('without the mirror rule the mirror repository is not asked about', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    const layer = digest(3);
    facts.setBlob(teamRepo, layer, known(false, 1_500));
    facts.setBlob({ registry: 'registry.example.com', repository: 'library/python' }, layer, known(false));
    facts.setBlob({ registry: 'registry.example.com', repository: 'hub/library/python' }, layer, known(true));
    const row = rowsOf(facts)[2];
    assert.deepEqual(row, { digest: layer, compressedBytes: 8_000_000, status: 'upload', checkedAt: 1_500 });
    assert.ok(!facts.blobQueries.includes(`registry.example.com/hub/library/python|${layer}`));
  });

  test('a layer absent from the target and every candidate must upload (checkedAt from the target check)', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    const layer = digest(4);
    facts.setBlob(teamRepo, layer, known(false, 9_000));
    facts.setBlob({ registry: 'registry.example.com', repository: 'library/python' }, layer, known(false, 1));
    facts.setBlob({ registry: 'registry.example.com', repository: 'hub/library/python' }, layer, known(false, 2));
    assert.deepEqual(rowsOf(facts, hubMirrors)[3], { digest: layer, compressedBytes: 800_000, status: 'upload', checkedAt: 9_000 });
  });

  test('an unknown target check is checking', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    const rows = rowsOf(facts, hubMirrors);
    assert.deepEqual(rows[0], { digest: digest(1), compressedBytes: 29_000_000, status: 'checking' });
    assert.ok(rows.every((r) => r.status === 'checking'));
  });

  test('absent from the target with a candidate still unknown is checking, not upload', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    const layer = digest(1);
    facts.setBlob(teamRepo, layer, known(false));
    facts.setBlob({ registry: 'registry.example.com', repository: 'library/python' }, layer, known(false));
    // hub/library/python unknown
    assert.equal(rowsOf(facts, hubMirrors)[0]?.status, 'checking');
  });

  test('a known candidate that has the layer wins over an unknown one', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    const layer = digest(1);
    facts.setBlob(teamRepo, layer, known(false));
    facts.setBlob({ registry: 'registry.example.com', repository: 'hub/library/python' }, layer, known(true));
    const row = rowsOf(facts, hubMirrors)[0];
    assert.equal(row?.status, 'mountable');
    assert.equal(row?.mountFrom, 'registry.example.com/hub/library/python');
  });

  test('a candidate that errors counts as absent', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    const layer = digest(1);
    facts.setBlob(teamRepo, layer, known(false));
    facts.setBlob({ registry: 'registry.example.com', repository: 'library/python' }, layer, { state: 'error', message: 'denied', code: 'DENIED', checkedAt: 1 });
    assert.equal(rowsOf(facts)[0]?.status, 'upload');
  });

  test('an error checking the target leaves the row unknown', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    facts.setBlob(teamRepo, digest(1), { state: 'error', message: 'denied', code: 'DENIED', checkedAt: 1 });
    assert.deepEqual(rowsOf(facts)[0], { digest: digest(1), compressedBytes: 29_000_000, status: 'unknown' });
  });
});

void describe('mountCandidates', () => {
  test('the base repository path, then mirror repositories in the target registry', () => {
    assert.deepEqual(mountCandidates(python, target, hubMirrors), ['library/python', 'hub/library/python']);
    assert.deepEqual(mountCandidates(python, target, {}), ['library/python']);
  });

  test('ignores mirrors in other registries', () => {
    assert.deepEqual(mountCandidates(python, target, { 'docker.io/library/*': 'mirror.example.org/library/*' }), ['library/python']);
  });

  test('does not repeat a mirror that maps to the same path', () => {
    assert.deepEqual(mountCandidates(python, target, { 'docker.io/library/*': 'registry.example.com/library/*' }), ['library/python']);
  });

  test('never includes the target repository itself', () => {
    const sameRepo: ImageReference = { registry: 'registry.example.com', repository: 'team/app', tag: 'base' };
    assert.deepEqual(mountCandidates(sameRepo, target, {}), []);
    assert.deepEqual(mountCandidates({ registry: 'docker.io', repository: 'team/app', tag: '1' }, target, {}), []);
    assert.deepEqual(mountCandidates(python, target, { 'docker.io/library/*': 'registry.example.com/team/app' }), ['library/python']);
    assert.deepEqual(mountCandidates(python, target, { 'docker.io/library/python': 'registry.example.com/team/app' }), ['library/python']);
  });

  test('the target repository is never asked about as a mount source', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    for (const layer of pythonLayers.layers) facts.setBlob(teamRepo, layer.digest, known(false));
    buildDocumentView(analysis([imageStage(0, 0, 'python:3.12-slim', python)], []), facts, { target, mirrors: { 'docker.io/library/*': 'registry.example.com/team/app' } });
    for (const layer of pythonLayers.layers) {
      assert.equal(facts.blobQueries.filter((q) => q === `registry.example.com/team/app|${layer.digest}`).length, 1, 'asked once, as the target');
    }
  });
});

void describe('buildDocumentView: totals', () => {
  function mixedFacts(): FakeFacts {
    const facts = new FakeFacts().setBase(python, known(pythonLayers)).setBase(golang, known(golangLayers));
    const [l1, l2, l3, l4] = pythonLayers.layers.map((l) => l.digest) as [string, string, string, string];
    facts.setBlob(teamRepo, l1, known(true));
    facts.setBlob(teamRepo, l2, known(false));
    facts.setBlob({ registry: 'registry.example.com', repository: 'library/python' }, l2, known(true));
    facts.setBlob(teamRepo, l3, known(false));
    facts.setBlob({ registry: 'registry.example.com', repository: 'library/python' }, l3, known(false));
    facts.setBlob(teamRepo, l4, known(false));
    facts.setBlob({ registry: 'registry.example.com', repository: 'library/python' }, l4, known(false));
    // golang's layers would all upload, but the build stage is not in the image.
    for (const layer of golangLayers.layers) {
      facts.setBlob(teamRepo, layer.digest, known(false));
      facts.setBlob({ registry: 'registry.example.com', repository: 'library/golang' }, layer.digest, known(false));
    }
    facts.estimates.set(2, { bytes: 5_000_000, compressedBytes: 2_000_000, basis: 'context' }); // stage 0: not counted
    facts.estimates.set(3, { bytes: null, compressedBytes: null, basis: 'unknown' }); // stage 0: not counted
    facts.estimates.set(5, { bytes: 12_000_000, compressedBytes: 5_000_000, basis: 'built' });
    facts.estimates.set(6, { bytes: null, compressedBytes: null, basis: 'unknown' });
    facts.estimates.set(8, { bytes: 4_000, compressedBytes: 1_500, basis: 'context' });
    return facts;
  }

  test('sums chain base rows and layer estimates; only upload rows count as upload', () => {
    const view = buildDocumentView(multiStage(), mixedFacts(), { target });
    const statuses = view.stages[1]?.base?.state === 'known' ? view.stages[1].base.rows.map((r) => r.status) : [];
    assert.deepEqual(statuses, ['in-target', 'mountable', 'upload', 'upload']);
    assert.deepEqual(view.totals, {
      uploadBytes: 8_000_000 + 800_000 + 5_000_000 + 1_500,
      totalBytes: 41_300_000 + 5_000_000 + 1_500,
      unknownLayers: 1,
    });
  });

  test('the layers carry their estimates', () => {
    const view = buildDocumentView(multiStage(), mixedFacts(), { target });
    assert.deepEqual(view.layers.find((l) => l.instruction.index === 5)?.estimate, { bytes: 12_000_000, compressedBytes: 5_000_000, basis: 'built' });
  });

  test('counts every layer of unknown size in the image', () => {
    const facts = new FakeFacts();
    const view = buildDocumentView(multiStage(), facts, { target });
    assert.deepEqual(view.totals, { uploadBytes: 0, totalBytes: 0, unknownLayers: 3 });
  });

  test('a base still checking contributes nothing', () => {
    const facts = mixedFacts();
    facts.bases.delete(formatReference(python));
    const view = buildDocumentView(multiStage(), facts, { target });
    assert.deepEqual(view.totals, { uploadBytes: 5_001_500, totalBytes: 5_001_500, unknownLayers: 1 });
  });

  test('checking base rows count in the total but not in the upload', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    const view = buildDocumentView(analysis([imageStage(0, 0, 'python:3.12-slim', python)], []), facts, { target });
    assert.deepEqual(view.totals, { uploadBytes: 0, totalBytes: 41_300_000, unknownLayers: 0 });
  });
});

void describe('buildDocumentView: target and offline', () => {
  test('the target is given with its familiar text', () => {
    const view = buildDocumentView(multiStage(), new FakeFacts(), { target });
    assert.deepEqual(view.target, { ref: target, text: 'registry.example.com/team/app:1' });
    assert.equal(buildDocumentView(multiStage(), new FakeFacts()).target, undefined);
  });

  test('offline when a base registry is unreachable', () => {
    const facts = new FakeFacts();
    assert.equal(buildDocumentView(multiStage(), facts, { target }).offline, false);
    facts.unreachable.add('docker.io');
    assert.equal(buildDocumentView(multiStage(), facts, { target }).offline, true);
    assert.equal(buildDocumentView(multiStage(), facts).offline, true);
  });

  test('offline when the target registry is unreachable', () => {
    const facts = new FakeFacts();
    facts.unreachable.add('registry.example.com');
    assert.equal(buildDocumentView(multiStage(), facts, { target }).offline, true);
    assert.equal(buildDocumentView(multiStage(), facts).offline, false, 'no target, no target registry');
  });

  test('an unrelated unreachable registry does not make the view offline', () => {
    const facts = new FakeFacts();
    facts.unreachable.add('ghcr.io');
    assert.equal(buildDocumentView(multiStage(), facts, { target }).offline, false);
  });

  test('describeTarget drops tag and digest', () => {
    assert.equal(describeTarget({ ...target, digest: digest(9) }), 'registry.example.com/team/app');
  });
});

void describe('buildDocumentView: after a build', () => {
  class BuiltFacts extends FakeFacts {
    readonly builtLayers = new Map<number, { bytes: number; diffId?: string; inTarget?: boolean; compressedBytes?: number }>();
    built(i: Instruction) {
      return this.builtLayers.get(i.index);
    }
  }

  test('built layers take the engine size; ones the target has count in the total, not in the upload', () => {
    const a = analysis([imageStage(0, 0, 'python:3.12-slim', python)], [instruction(0, 0, 'FROM', 0), instruction(1, 0, 'COPY', 1), instruction(2, 0, 'RUN', 2)]);
    const facts = new BuiltFacts();
    facts.setBase(python, { state: 'known', value: { digest: digest(9), layers: [] }, checkedAt: 0, stale: false });
    facts.estimates.set(1, { bytes: 1000, compressedBytes: 250, basis: 'context' });
    facts.builtLayers.set(1, { bytes: 2000, diffId: digest(1), inTarget: true, compressedBytes: 700 });
    facts.builtLayers.set(2, { bytes: 3000, diffId: digest(2), inTarget: false });
    const view = buildDocumentView(a, facts, { target });
    const [copy, run] = view.layers;
    assert.deepEqual(copy?.estimate, { bytes: 2000, compressedBytes: 700, basis: 'built' });
    assert.equal(copy?.inTarget, true);
    // RUN had no context estimate: its uncompressed size stands in as the upper bound.
    assert.deepEqual(run?.estimate, { bytes: 3000, compressedBytes: 3000, basis: 'built' });
    assert.equal(run?.inTarget, false);
    assert.deepEqual(view.totals, { uploadBytes: 3000, totalBytes: 3700, unknownLayers: 0 });
  });

  test('a built layer the target lacks is scaled by the context estimate\'s compression ratio', () => {
    const a = analysis([imageStage(0, 0, 'python:3.12-slim', python)], [instruction(0, 0, 'FROM', 0), instruction(1, 0, 'COPY', 1)]);
    const facts = new BuiltFacts();
    facts.estimates.set(1, { bytes: 1000, compressedBytes: 250, basis: 'context' });
    facts.builtLayers.set(1, { bytes: 4000, diffId: digest(1), inTarget: false });
    const view = buildDocumentView(a, facts, { target });
    assert.deepEqual(view.layers[0]?.estimate, { bytes: 4000, compressedBytes: 1000, basis: 'built' });
  });
});
