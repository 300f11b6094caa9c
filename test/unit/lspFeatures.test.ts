// The language features over a DocumentView: code lenses on FROM lines, inlay hints at the end of
// layer lines, hovers, and diagnostics. Views come from buildDocumentView over hand-built
// analyses and a fake FactsSource, so the text asserted here is what the editor shows.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DiagnosticSeverity, InlayHintKind, type Hover, type MarkupContent } from 'vscode-languageserver';
import { buildDocumentView, type BaseLayers, type DocumentView, type FactsSource, type ViewOptions } from '../../server/src/analysis/documentView';
import type { DockerfileAnalysis, Stage } from '../../server/src/analysis/types';
import { formatReference, type ImageReference } from '../../server/src/core/reference';
import { codeLenses, stageSummary } from '../../server/src/lsp/codeLens';
import { lensCommands } from '../../server/src/lsp/protocol';
import { inlayHints } from '../../server/src/lsp/inlayHints';
import { hover } from '../../server/src/lsp/hover';
import { diagnostics } from '../../server/src/lsp/diagnostics';
import { analysis, digest, FakeFacts, golang, hubMirrors, instruction, known, linux, python, range, scratchStage, target, teamRepo } from './analysisFixtures';

// --- hand-built analyses -------------------------------------------------------------------

function imageStage(index: number, line: number, imageText: string, ref: ImageReference, endLine = line): Stage {
  return {
    index,
    line,
    range: range(line, 0, endLine, 40),
    imageRange: range(line, 5, line, 5 + imageText.length),
    imageText,
    base: { kind: 'image', ref, text: formatReference(ref) },
    platform: linux,
  };
}

function stageStage(index: number, line: number, imageText: string, from: number): Stage {
  return { index, line, range: range(line, 0, line, 30), imageRange: range(line, 5, line, 5 + imageText.length), imageText, base: { kind: 'stage', index: from }, platform: linux };
}

function unresolvedStage(index: number, line: number): Stage {
  return { index, line, range: range(line, 0, line, 19), imageRange: range(line, 5, line, 19), imageText: '${BASE}:latest', platform: linux, error: 'BASE is not set' };
}

// --- references, digests and the fake FactsSource -----------------------------------------

const libraryPython = { registry: 'registry.example.com', repository: 'library/python' };
const hubPython = { registry: 'registry.example.com', repository: 'hub/library/python' };
const uri = 'file:///work/app/Dockerfile';

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
    [imageStage(0, 0, 'golang:1.22', golang), imageStage(1, 5, 'python:3.12-slim', python), stageStage(2, 9, 'runtime', 1)],
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

// FROM python:3.12-slim   (0)   the only stage
// RUN pip install flask   (1)
function singleStage(): DockerfileAnalysis {
  return analysis([imageStage(0, 0, 'python:3.12-slim', python)], [instruction(0, 0, 'FROM', 0), instruction(1, 0, 'RUN', 1)]);
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
const [l1, l2, l3, l4] = pythonLayers.layers.map((l) => l.digest) as [string, string, string, string];

const golangLayers: BaseLayers = {
  digest: digest(0xf1),
  layers: [
    { digest: digest(0x11), size: 50_000_000 },
    { digest: digest(0x12), size: 70_000_000 },
  ],
};

function withEstimates(facts: FakeFacts): FakeFacts {
  facts.estimates.set(2, { bytes: 5_000_000, compressedBytes: 2_000_000, basis: 'context' });
  facts.estimates.set(5, { bytes: 12_000_000, compressedBytes: 1_000_000, basis: 'built' });
  facts.estimates.set(6, { bytes: null, compressedBytes: null, basis: 'unknown' });
  facts.estimates.set(8, { bytes: 4_000, compressedBytes: 1_500, basis: 'context' });
  return facts;
}

/** Every python layer already in the target; golang's would upload (but the build stage is not pushed). */
function allThereFacts(): FakeFacts {
  const facts = withEstimates(new FakeFacts().setBase(python, known(pythonLayers)).setBase(golang, known(golangLayers)));
  for (const layer of pythonLayers.layers) facts.setBlob(teamRepo, layer.digest, known(true, 1_000));
  for (const layer of golangLayers.layers) {
    facts.setBlob(teamRepo, layer.digest, known(false));
    facts.setBlob({ registry: 'registry.example.com', repository: 'library/golang' }, layer.digest, known(false));
  }
  return facts;
}

/** python: l1 in the target, l2 mountable from library/python, l3 from the hub mirror, l4 to upload. */
function mixedFacts(): FakeFacts {
  const facts = withEstimates(new FakeFacts().setBase(python, known(pythonLayers)).setBase(golang, known(golangLayers)));
  facts.setBlob(teamRepo, l1, known(true, 1_000));
  facts.setBlob(teamRepo, l2, known(false, 9_000));
  facts.setBlob(libraryPython, l2, known(true, 10_000));
  facts.setBlob(teamRepo, l3, known(false, 9_000));
  facts.setBlob(libraryPython, l3, known(false, 9_000));
  facts.setBlob(hubPython, l3, known(true, 11_000));
  facts.setBlob(teamRepo, l4, known(false, 12_500));
  facts.setBlob(libraryPython, l4, known(false, 12_500));
  facts.setBlob(hubPython, l4, known(false, 12_500));
  return facts;
}

function view(a: DockerfileAnalysis, facts: FactsSource, options: ViewOptions = { target, mirrors: hubMirrors }): DocumentView {
  return buildDocumentView(a, facts, options);
}

function titles(v: DocumentView): [number, string][] {
  return codeLenses(v, uri).map((l) => [l.range.start.line, l.command?.title ?? '']);
}

function markdown(h: Hover | null): string {
  assert.ok(h, 'a hover');
  const contents = h.contents as MarkupContent;
  assert.equal(contents.kind, 'markdown');
  return contents.value;
}

const lineLength = (line: number) => 30 + line;
const everything = range(0, 0, 100, 0);

// --- code lenses ---------------------------------------------------------------------------

void describe('codeLenses', () => {
  test('summarises every FROM; Build & push on the last stage of the image chain', () => {
    assert.deepEqual(titles(view(multiStage(), allThereFacts())), [
      [0, 'golang:1.22 · 2 layers · 120 MB · not in the pushed image'],
      [5, 'python:3.12-slim · 4 layers · 41.3 MB · 4/4 in registry.example.com/team/app'],
      [9, 'stage 1 · built in this Dockerfile'],
      [9, 'Build & push'],
    ]);
  });

  test('lenses sit at the start of the FROM line and carry their commands and arguments', () => {
    const lenses = codeLenses(view(multiStage(), allThereFacts()), uri);
    assert.deepEqual(lenses[1], {
      range: range(5, 0, 5, 0),
      command: { title: 'python:3.12-slim · 4 layers · 41.3 MB · 4/4 in registry.example.com/team/app', command: 'layerlift.lens.showLayers', arguments: [uri, 1] },
    });
    assert.deepEqual(lenses[3]?.command, { title: 'Build & push', command: 'layerlift.lens.buildAndPush', arguments: [uri] });
    assert.deepEqual(lensCommands, { prepushBase: 'layerlift.lens.prepushBase', buildAndPush: 'layerlift.lens.buildAndPush', showLayers: 'layerlift.lens.showLayers' });
  });

  test('counts in-target and mountable layers, and offers Pre-push base when some must upload', () => {
    const lenses = codeLenses(view(multiStage(), mixedFacts()), uri).filter((l) => l.range.start.line === 5);
    assert.deepEqual(
      lenses.map((l) => l.command),
      [
        { title: 'python:3.12-slim · 4 layers · 41.3 MB · 1/4 in registry.example.com/team/app, 2 mountable', command: 'layerlift.lens.showLayers', arguments: [uri, 1] },
        { title: 'Pre-push base', command: 'layerlift.lens.prepushBase', arguments: [uri, 1] },
      ],
    );
  });

  test('a single-stage image: summary, Pre-push base, Build & push on the same line', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    for (const layer of pythonLayers.layers) facts.setBlob(teamRepo, layer.digest, known(false)).setBlob(libraryPython, layer.digest, known(false));
    assert.deepEqual(titles(view(singleStage(), facts, { target })), [
      [0, 'python:3.12-slim · 4 layers · 41.3 MB · 0/4 in registry.example.com/team/app'],
      [0, 'Pre-push base'],
      [0, 'Build & push'],
    ]);
  });

  test('no Pre-push base when every layer is in the target or mountable', () => {
    const facts = mixedFacts();
    facts.setBlob(hubPython, l4, known(true));
    assert.deepEqual(
      titles(view(multiStage(), facts)).filter(([line]) => line === 5),
      [[5, 'python:3.12-slim · 4 layers · 41.3 MB · 1/4 in registry.example.com/team/app, 3 mountable']],
    );
  });

  test('no Pre-push base for a stage outside the image, even when its layers would upload', () => {
    const lenses = codeLenses(view(multiStage(), allThereFacts()), uri).filter((l) => l.range.start.line === 0);
    assert.deepEqual(
      lenses.map((l) => l.command?.title),
      ['golang:1.22 · 2 layers · 120 MB · not in the pushed image'],
    );
  });

  test('says (checking…) while some rows are still being checked', () => {
    const facts = mixedFacts();
    facts.blobs.delete(`registry.example.com/team/app|${l4}`);
    facts.blobs.delete(`registry.example.com/hub/library/python|${l3}`);
    assert.equal(titles(view(multiStage(), facts))[1]?.[1], 'python:3.12-slim · 4 layers · 41.3 MB · 1/4 in registry.example.com/team/app, 1 mountable (checking…)');
  });

  test('without a target: sizes only, and no Pre-push base or Build & push', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    assert.deepEqual(titles(view(singleStage(), facts, {})), [[0, 'python:3.12-slim · 4 layers · 41.3 MB']]);
    assert.deepEqual(titles(view(multiStage(), allThereFacts(), {})), [
      [0, 'golang:1.22 · 2 layers · 120 MB · not in the pushed image'],
      [5, 'python:3.12-slim · 4 layers · 41.3 MB'],
      [9, 'stage 1 · built in this Dockerfile'],
    ]);
  });

  test('one layer is singular', () => {
    const facts = new FakeFacts().setBase(python, known({ digest: digest(0xf0), layers: [{ digest: l1, size: 1_234 }] }));
    facts.setBlob(teamRepo, l1, known(true));
    assert.equal(titles(view(singleStage(), facts))[0]?.[1], 'python:3.12-slim · 1 layer · 1.2 kB · 1/1 in registry.example.com/team/app');
  });

  test('checking, offline and registry-error variants', () => {
    const a = singleStage();
    const facts = new FakeFacts();
    assert.deepEqual(titles(view(a, facts)), [
      [0, 'python:3.12-slim · checking registry…'],
      [0, 'Build & push'],
    ]);
    facts.setBase(python, { state: 'error', message: 'inspect docker.io/library/python: manifest unknown', code: 'MANIFEST_UNKNOWN', checkedAt: 1 });
    assert.equal(titles(view(a, facts))[0]?.[1], 'python:3.12-slim · registry error — see Problems');
    facts.unreachable.add('docker.io');
    assert.equal(titles(view(a, facts))[0]?.[1], 'python:3.12-slim · registry unreachable (offline)');
  });

  test('a stale base while offline says cached (offline); stale alone says nothing', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers, 1_000, true));
    for (const layer of pythonLayers.layers) facts.setBlob(teamRepo, layer.digest, known(true));
    assert.equal(titles(view(singleStage(), facts))[0]?.[1], 'python:3.12-slim · 4 layers · 41.3 MB · 4/4 in registry.example.com/team/app');
    facts.unreachable.add('registry.example.com');
    assert.equal(titles(view(singleStage(), facts))[0]?.[1], 'python:3.12-slim · 4 layers · 41.3 MB · 4/4 in registry.example.com/team/app · cached (offline)');
  });

  test('scratch and unresolved bases', () => {
    const a = analysis([unresolvedStage(0, 0), scratchStage(1, 2)], []);
    assert.deepEqual(titles(view(a, new FakeFacts())), [
      [0, '${BASE}:latest · cannot resolve: BASE is not set'],
      [2, 'scratch · no base layers'],
      [2, 'Build & push'],
    ]);
  });

  test('stageSummary marks stages outside the pushed image', () => {
    const v = view(multiStage(), new FakeFacts());
    assert.equal(stageSummary(v.stages[0]!, v), 'golang:1.22 · checking registry… · not in the pushed image');
  });
});

// --- inlay hints ---------------------------------------------------------------------------

void describe('inlayHints', () => {
  function labels(v: DocumentView, r = everything): [number, number, string][] {
    return inlayHints(v, r, lineLength).map((h) => [h.position.line, h.position.character, typeof h.label === 'string' ? h.label : '']);
  }

  test('base and layer hints of the image chain, at the end of each instruction’s last line', () => {
    assert.deepEqual(labels(view(multiStage(), allThereFacts())), [
      [5, 35, '✓ in registry'],
      [6, 36, '+1.0 MB ↑'],
      [8, 38, '? until built'],
      [10, 40, '~1.5 kB est.'],
    ]);
  });

  test('hint fields: kind, padding and tooltips', () => {
    const hints = inlayHints(view(multiStage(), allThereFacts()), everything, lineLength);
    assert.deepEqual(hints[0], {
      position: { line: 5, character: 35 },
      label: '✓ in registry',
      kind: InlayHintKind.Type,
      paddingLeft: true,
      tooltip: 'every base layer is already in registry.example.com/team/app:1',
    });
    assert.equal(hints[1]?.tooltip, 'built layer a push would upload (12.0 MB uncompressed)');
    assert.equal(hints[2]?.tooltip, 'RUN layers are measured after a build');
    assert.equal(hints[3]?.tooltip, 'estimated from the build context: 4.0 kB uncompressed, ~1.5 kB compressed');
  });

  test('a multi-line FROM gets its hint on its last line', () => {
    const a = analysis([imageStage(0, 0, 'python:3.12-slim', python, 2)], [instruction(0, 0, 'FROM', 0, 2), instruction(1, 0, 'COPY', 3, 5)]);
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    for (const layer of pythonLayers.layers) facts.setBlob(teamRepo, layer.digest, known(true));
    facts.estimates.set(1, { bytes: 10_000, compressedBytes: 10_000, basis: 'built' });
    assert.deepEqual(labels(view(a, facts)), [
      [2, 32, '✓ in registry'],
      [5, 35, '+10.0 kB ↑'],
    ]);
  });

  test('only inside the requested range (by the line the hint sits on)', () => {
    const v = view(multiStage(), allThereFacts());
    assert.deepEqual(labels(v, range(6, 0, 8, 0)), [
      [6, 36, '+1.0 MB ↑'],
      [8, 38, '? until built'],
    ]);
    assert.deepEqual(labels(v, range(7, 0, 7, 50)), [], 'the RUN spans 7-8; its hint sits on line 8');
    assert.deepEqual(labels(v, range(8, 0, 8, 0)), [[8, 38, '? until built']]);
    assert.deepEqual(labels(v, range(0, 0, 4, 0)), [], 'the build stage is not in the image');
    assert.deepEqual(labels(v, range(11, 0, 20, 0)), []);
  });

  test('base layers to upload: the bytes to send', () => {
    assert.deepEqual(labels(view(multiStage(), mixedFacts()), range(5, 0, 5, 0)), [[5, 35, '+800 kB ↑']]);
    const hint = inlayHints(view(multiStage(), mixedFacts()), range(5, 0, 5, 0), lineLength)[0];
    assert.equal(hint?.tooltip, 'base layers the target registry does not have: pre-push the base to avoid sending them from here');
  });

  test('a base entirely to upload: its whole size', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    for (const layer of pythonLayers.layers) facts.setBlob(teamRepo, layer.digest, known(false)).setBlob(libraryPython, layer.digest, known(false));
    assert.deepEqual(labels(view(singleStage(), facts, { target })), [
      [0, 30, '+41.3 MB ↑'],
      [1, 31, '? until built'],
    ]);
  });

  test('base layers all in the target or mountable', () => {
    const facts = mixedFacts();
    facts.setBlob(hubPython, l4, known(true));
    const hints = inlayHints(view(multiStage(), facts), range(5, 0, 5, 0), lineLength);
    assert.deepEqual(
      hints.map((h) => [h.label, h.tooltip]),
      [['✓ mountable', 'the target registry holds these layers in another repository: a push mounts them, sending nothing']],
    );
  });

  test('no base hint while checking, without a target, or when the base is unknown', () => {
    const facts = mixedFacts();
    facts.blobs.delete(`registry.example.com/hub/library/python|${l3}`);
    facts.setBlob(hubPython, l4, known(true));
    assert.deepEqual(labels(view(multiStage(), facts), range(5, 0, 5, 0)), [], 'a row still checking, none to upload');
    assert.deepEqual(labels(view(multiStage(), allThereFacts(), {}), range(5, 0, 5, 0)), []);
    assert.deepEqual(labels(view(multiStage(), withEstimates(new FakeFacts())), range(5, 0, 5, 0)), []);
  });

  test('layer hints do not need a target', () => {
    assert.deepEqual(labels(view(multiStage(), allThereFacts(), {}), range(6, 0, 10, 0)), [
      [6, 36, '+1.0 MB ↑'],
      [8, 38, '? until built'],
      [10, 40, '~1.5 kB est.'],
    ]);
  });
});

// --- hover ---------------------------------------------------------------------------------

void describe('hover', () => {
  const now = 13_000;

  test('a FROM line ends with each registry pause (429, few pulls left); layer lines do not', () => {
    const notice = 'docker.io answered 429 Too Many Requests: registry checks paused until 12:00:30 UTC (Retry-After 30 s), not retried meanwhile';
    const text = markdown(hover(view(multiStage(), mixedFacts()), { line: 5, character: 10 }, now, [notice]));
    assert.ok(text.endsWith(`\n\n_Paused: ${notice}._`), text);
    assert.doesNotMatch(markdown(hover(view(multiStage(), mixedFacts()), { line: 5, character: 10 }, now)), /Paused/);
  });

  test('a FROM line: the layer table, each row’s status, and the totals sentence', () => {
    const h = hover(view(multiStage(), mixedFacts()), { line: 5, character: 10 }, now);
    assert.equal(
      markdown(h),
      [
        '**python:3.12-slim** — `docker.io/library/python:3.12-slim`',
        '',
        'Platform `linux/amd64` · 4 layers · 41.3 MB compressed',
        '',
        '| Layer | Compressed | Uncompressed | Status |',
        '|---|---|---|---|',
        '| `010101010101` | 29.0 MB | — | already in registry registry.example.com/team/app (checked 12.0 s ago) |',
        '| `020202020202` | 3.5 MB | — | mountable from registry.example.com/library/python (checked 3.0 s ago) |',
        '| `030303030303` | 8.0 MB | — | mountable from registry.example.com/hub/library/python (checked 2.0 s ago) |',
        '| `040404040404` | 800 kB | — | will upload (checked 500 ms ago) |',
        '',
        'A push to `registry.example.com/team/app:1` would upload 1.8 MB of 42.3 MB (+ 1 layer measured after a build).',
      ].join('\n'),
    );
    assert.deepEqual(h?.range, range(5, 5, 5, 21));
  });

  test('the totals sentence without unknown layers, and with several', () => {
    const facts = allThereFacts();
    facts.estimates.set(6, { bytes: 1_000, compressedBytes: 1_000, basis: 'built' });
    const lines = markdown(hover(view(multiStage(), facts), { line: 5, character: 0 }, now)).split('\n');
    assert.equal(lines.at(-1), 'A push to `registry.example.com/team/app:1` would upload 1.0 MB of 42.3 MB.');
    facts.estimates.delete(6);
    facts.estimates.delete(5);
    const more = markdown(hover(view(multiStage(), facts), { line: 5, character: 0 }, now)).split('\n');
    assert.equal(more.at(-1), 'A push to `registry.example.com/team/app:1` would upload 1.5 kB of 41.3 MB (+ 2 layers measured after a build).');
  });

  test('rows being checked, and a check time in the future', () => {
    const facts = mixedFacts();
    facts.blobs.delete(`registry.example.com/team/app|${l4}`);
    const text = markdown(hover(view(multiStage(), facts), { line: 5, character: 0 }, 500));
    assert.ok(text.includes('| `010101010101` | 29.0 MB | — | already in registry registry.example.com/team/app (checked 0 ms ago) |'), text);
    assert.ok(text.includes('| `040404040404` | 800 kB | — | checking… |'), text);
  });

  test('without a target: rows say so and a sentence points at the setting', () => {
    const facts = new FakeFacts().setBase(python, known(pythonLayers));
    const text = markdown(hover(view(singleStage(), facts, {}), { line: 0, character: 0 }, now));
    assert.equal(
      text,
      [
        '**python:3.12-slim** — `docker.io/library/python:3.12-slim`',
        '',
        'Platform `linux/amd64` · 4 layers · 41.3 MB compressed',
        '',
        '| Layer | Compressed | Uncompressed | Status |',
        '|---|---|---|---|',
        '| `010101010101` | 29.0 MB | — | no target image |',
        '| `020202020202` | 3.5 MB | — | no target image |',
        '| `030303030303` | 8.0 MB | — | no target image |',
        '| `040404040404` | 800 kB | — | no target image |',
        '',
        'No target image is configured for this Dockerfile (setting `layerlift.images`).',
      ].join('\n'),
    );
  });

  test('a row whose target check failed is unknown', () => {
    const facts = allThereFacts();
    facts.setBlob(teamRepo, l1, { state: 'error', message: 'denied', code: 'DENIED', checkedAt: 1 });
    const text = markdown(hover(view(multiStage(), facts), { line: 5, character: 0 }, now));
    assert.ok(text.includes('| `010101010101` | 29.0 MB | — | unknown |'), text);
  });

  test('offline adds a note', () => {
    const facts = allThereFacts();
    facts.unreachable.add('registry.example.com');
    const lines = markdown(hover(view(multiStage(), facts), { line: 5, character: 0 }, now)).split('\n');
    assert.deepEqual(lines.slice(-2), ['', '_Offline: showing what was last known._']);
  });

  test('checking, registry error, offline, scratch, stage and unresolved bases', () => {
    const a = singleStage();
    const facts = new FakeFacts();
    assert.equal(markdown(hover(view(a, facts), { line: 0, character: 0 }, now)), '**python:3.12-slim** — `docker.io/library/python:3.12-slim`\n\nChecking the registry…');
    facts.setBase(python, { state: 'error', message: 'inspect docker.io/library/python: manifest unknown', code: 'MANIFEST_UNKNOWN', checkedAt: 1 });
    assert.equal(
      markdown(hover(view(a, facts), { line: 0, character: 0 }, now)),
      '**python:3.12-slim** — `docker.io/library/python:3.12-slim`\n\nRegistry error: inspect docker.io/library/python: manifest unknown',
    );
    facts.unreachable.add('docker.io');
    assert.equal(markdown(hover(view(a, facts), { line: 0, character: 0 }, now)), '**python:3.12-slim** — `docker.io/library/python:3.12-slim`\n\nThe registry is unreachable (offline).');

    const others = analysis([unresolvedStage(0, 0), scratchStage(1, 2), stageStage(2, 4, 'stage1', 1)], []);
    const v = view(others, new FakeFacts());
    assert.equal(markdown(hover(v, { line: 0, character: 3 }, now)), '**${BASE}:latest**\n\nCannot resolve this base: BASE is not set');
    assert.equal(markdown(hover(v, { line: 2, character: 3 }, now)), '**scratch**\n\nAn empty base: no layers.');
    assert.equal(markdown(hover(v, { line: 4, character: 3 }, now)), '**stage 1**\n\nBuilt by this Dockerfile.');
  });

  test('anywhere on a multi-line FROM', () => {
    const a = analysis([imageStage(0, 0, 'python:3.12-slim', python, 2)], [instruction(0, 0, 'FROM', 0, 2)]);
    const h = hover(view(a, new FakeFacts()), { line: 2, character: 0 }, now);
    assert.ok(markdown(h).startsWith('**python:3.12-slim**'));
    assert.deepEqual(h?.range, range(0, 5, 0, 21));
  });

  test('a layer line: its sizes and status, on any of its lines', () => {
    const v = view(multiStage(), allThereFacts());
    const run = hover(v, { line: 8, character: 2 }, now);
    assert.equal(markdown(run), ['**RUN layer**', '', '| | Compressed | Uncompressed | Status |', '|---|---|---|---|', '| RUN | — | — | size known after a build; will upload |'].join('\n'));
    assert.deepEqual(run?.range, range(7, 0, 8, 20));
    assert.equal(
      markdown(hover(v, { line: 6, character: 0 }, now)),
      ['**COPY layer**', '', '| | Compressed | Uncompressed | Status |', '|---|---|---|---|', '| COPY | 1.0 MB | 12.0 MB | built; will upload |'].join('\n'),
    );
    assert.equal(
      markdown(hover(v, { line: 10, character: 0 }, now)),
      ['**COPY layer**', '', '| | Compressed | Uncompressed | Status |', '|---|---|---|---|', '| COPY | ~1.5 kB | ~4.0 kB | estimate from the build context; will upload |'].join('\n'),
    );
  });

  test('a layer outside the pushed image says so', () => {
    const text = markdown(hover(view(multiStage(), allThereFacts()), { line: 2, character: 0 }, now));
    assert.equal(text.split('\n')[0], '**COPY layer** (not in the pushed image)');
  });

  test('null outside any FROM or layer line', () => {
    const v = view(multiStage(), allThereFacts());
    assert.equal(hover(v, { line: 1, character: 0 }, now), null, 'WORKDIR adds no layer');
    assert.equal(hover(v, { line: 11, character: 0 }, now), null);
    assert.equal(hover(v, { line: 500, character: 0 }, now), null);
  });
});

// --- diagnostics ---------------------------------------------------------------------------

void describe('diagnostics', () => {
  test('analysis errors are errors, with their ranges', () => {
    const a = singleStage();
    a.errors.push({ line: 3, range: range(3, 4, 3, 18), message: 'unknown stage "buidl" in COPY --from' }, { line: 5, range: range(5, 0, 6, 2), message: 'unterminated heredoc' });
    const d = diagnostics(a, view(a, new FakeFacts()));
    assert.deepEqual(d, [
      { range: range(3, 4, 3, 18), message: 'unknown stage "buidl" in COPY --from', severity: DiagnosticSeverity.Error, source: 'layerlift' },
      { range: range(5, 0, 6, 2), message: 'unterminated heredoc', severity: DiagnosticSeverity.Error, source: 'layerlift' },
    ]);
  });

  test('a target problem is information on the first FROM image', () => {
    const a = multiStage();
    const d = diagnostics(a, view(a, new FakeFacts(), {}), 'No target image: add this Dockerfile to layerlift.images');
    assert.deepEqual(d, [{ range: range(0, 5, 0, 16), message: 'No target image: add this Dockerfile to layerlift.images', severity: DiagnosticSeverity.Information, source: 'layerlift' }]);
  });

  test('a registry error on a base is a warning on its image', () => {
    const a = multiStage();
    const facts = allThereFacts().setBase(python, { state: 'error', message: 'inspect docker.io/library/python: denied', code: 'DENIED', checkedAt: 1 });
    assert.deepEqual(diagnostics(a, view(a, facts)), [{ range: range(5, 5, 5, 21), message: 'inspect docker.io/library/python: denied', severity: DiagnosticSeverity.Warning, source: 'layerlift' }]);
  });

  test('offline errors are not diagnostics', () => {
    const a = multiStage();
    const facts = allThereFacts().setBase(python, { state: 'error', message: 'inspect docker.io/library/python: connection refused', code: 'NETWORK', checkedAt: 1 });
    facts.unreachable.add('docker.io');
    assert.deepEqual(diagnostics(a, view(a, facts)), []);
  });

  test('nothing to say about a healthy Dockerfile', () => {
    const a = multiStage();
    assert.deepEqual(diagnostics(a, view(a, allThereFacts())), []);
    assert.deepEqual(diagnostics(a, view(a, new FakeFacts())), [], 'checking is not a problem');
  });
});
