// Mapping an image's history to the Dockerfile instructions that made it, for the legacy builder's
// and BuildKit's created_by forms (the legacy strings are what dockerd 20.10 records: see
// test/integration/engineClient.test.ts), and deriving empty_layer where the engine API omits it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assignHistoryLayers, mapHistoryToInstructions, matchHistoryToInstructions, parseCreatedBy, targetChainInstructions,
  type HistoryMappingEntry,
} from '../../server/src/analysis/historyMapping';
import type { DockerfileAnalysis, Instruction, Stage } from '../../server/src/analysis/types';

/** A small analysis of a Dockerfile with one instruction a line (what the tests need of it). */
function analyze(dockerfile: string): Pick<DockerfileAnalysis, 'stages' | 'instructions' | 'targetStage'> {
  const stages: Stage[] = [];
  const instructions: Instruction[] = [];
  const range = (line: number) => ({ start: { line, character: 0 }, end: { line, character: 1 } });
  dockerfile
    .split('\n')
    .filter((text) => text.trim() !== '')
    .forEach((text, line) => {
      const [word = '', ...args] = text.trim().split(/\s+/);
      const keyword = word.toUpperCase();
      if (keyword === 'FROM') {
        const image = args[0] ?? '';
        const name = args[1]?.toUpperCase() === 'AS' ? args[2] : undefined;
        const earlier = stages.find((stage) => stage.name === image);
        stages.push({
          index: stages.length,
          ...(name !== undefined ? { name } : {}),
          line,
          range: range(line),
          imageRange: range(line),
          imageText: image,
          base: earlier ? { kind: 'stage', index: earlier.index } : { kind: 'scratch' },
          platform: { os: 'linux', architecture: 'amd64' },
        });
      }
      instructions.push({
        index: instructions.length,
        stage: Math.max(stages.length - 1, 0),
        keyword,
        line,
        endLine: line,
        range: range(line),
        flags: {},
        args,
        createsLayer: keyword === 'RUN' || keyword === 'COPY' || keyword === 'ADD',
      });
    });
  return { stages, instructions, targetStage: stages.length - 1 };
}

const instructionsOf = (dockerfile: string) => analyze(dockerfile).instructions;
const L = (createdBy: string, size: number): HistoryMappingEntry => ({ createdBy, size, emptyLayer: false });
const E = (createdBy: string): HistoryMappingEntry => ({ createdBy, size: 0, emptyLayer: true });
const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

void describe('parseCreatedBy', () => {
  const cases: [string, string | undefined, string][] = [
    // legacy builder (dockerd 20.10), Buildah/Podman
    ['/bin/sh -c #(nop)  ENV APP_HOME=/app GREETING=hello world', 'ENV', 'legacy'],
    ['/bin/sh -c #(nop) WORKDIR /app', 'WORKDIR', 'legacy'],
    ['/bin/sh -c #(nop) COPY file:b29cdd02766b56054531ecc41bc322afd1ac6d001965cf3549d11ae1e9f22266 in ./ ', 'COPY', 'legacy'],
    ['/bin/sh -c #(nop) ADD file:b29cdd02766b56054531ecc41bc322afd1ac6d001965cf3549d11ae1e9f22266 in /added.txt ', 'ADD', 'legacy'],
    ['/bin/sh -c #(nop)  CMD ["sh"]', 'CMD', 'legacy'],
    ['/bin/bash -o pipefail -c #(nop)  LABEL a=b', 'LABEL', 'legacy'], // after SHELL
    ['/bin/sh -c apk add x', 'RUN', 'legacy'],
    ['|1 VERSION=1 /bin/sh -c echo built-$VERSION > /built.txt', 'RUN', 'legacy'],
    ['|1 NOTE=#(nop) ENV /bin/sh -c true', 'RUN', 'legacy'], // args never make it metadata
    ['echo exec form', 'RUN', 'legacy'],
    // BuildKit
    ['RUN /bin/sh -c apk add x # buildkit', 'RUN', 'buildkit'],
    ['RUN |1 VERSION=1 /bin/sh -c make # buildkit', 'RUN', 'buildkit'],
    ['COPY . /app # buildkit', 'COPY', 'buildkit'],
    ['COPY --from=build /out /app # buildkit', 'COPY', 'buildkit'],
    ['ADD https://example.com/x.tgz /x # buildkit', 'ADD', 'buildkit'],
    ['ENV A=b', 'ENV', 'buildkit'],
    ['WORKDIR /app', 'WORKDIR', 'buildkit'],
    ['EXPOSE map[8080/tcp:{}]', 'EXPOSE', 'buildkit'],
    ['ARG VERSION=1', 'ARG', 'buildkit'],
    // import / other tools
    ['', undefined, 'unknown'],
  ];
  for (const [createdBy, keyword, builder] of cases) {
    it(`${JSON.stringify(createdBy)} → ${keyword ?? 'unknown'}`, () => {
      const parsed = parseCreatedBy(createdBy);
      assert.equal(parsed.keyword, keyword);
      assert.equal(parsed.builder, builder);
    });
  }
});

void describe('mapHistoryToInstructions', () => {
  it('legacy builder: every instruction after FROM, diff_ids in order, metadata without layers', () => {
    const dockerfile = [
      'FROM alpine:3.20',
      'ENV APP=/app',
      'WORKDIR /app',
      'COPY . /app',
      'ARG VERSION=1',
      'RUN apk add curl',
      'RUN true',
      'CMD ["sh"]',
    ].join('\n');
    const history = [
      L('/bin/sh -c #(nop) ADD file:aaaa in / ', 7_800_000), // the base image's
      E('/bin/sh -c #(nop)  CMD ["/bin/sh"]'),
      E('/bin/sh -c #(nop)  ENV APP=/app'),
      L('/bin/sh -c #(nop) WORKDIR /app', 0),
      L('/bin/sh -c #(nop) COPY dir:bbbb in /app ', 1200),
      E('/bin/sh -c #(nop)  ARG VERSION=1'),
      L('|1 VERSION=1 /bin/sh -c apk add curl', 3_400_000),
      E('|1 VERSION=1 /bin/sh -c true'),
      E('/bin/sh -c #(nop)  CMD ["sh"]'),
    ];
    const diffIds = [d(1), d(2), d(3), d(4)];
    const match = matchHistoryToInstructions(history, diffIds, instructionsOf(dockerfile), 1);
    assert.equal(match.complete, true);
    assert.equal(match.baseLayers, 1);
    assert.deepEqual(match.layers, [
      { instructionIndex: 1, historyIndex: 2, size: 0 },
      { instructionIndex: 2, historyIndex: 3, diffId: d(2), layerIndex: 1, size: 0 },
      { instructionIndex: 3, historyIndex: 4, diffId: d(3), layerIndex: 2, size: 1200 },
      { instructionIndex: 4, historyIndex: 5, size: 0 },
      { instructionIndex: 5, historyIndex: 6, diffId: d(4), layerIndex: 3, size: 3_400_000 },
      { instructionIndex: 6, historyIndex: 7, size: 0 },
      { instructionIndex: 7, historyIndex: 8, size: 0 },
    ]);
    assert.deepEqual(mapHistoryToInstructions(history, diffIds, instructionsOf(dockerfile), 1), match.layers);
  });

  it('BuildKit: `# buildkit` steps and bare metadata entries', () => {
    const dockerfile = ['FROM node:20', 'WORKDIR /app', 'COPY package.json ./', 'RUN npm ci', 'COPY . .', 'USER node', 'EXPOSE 8080', 'CMD ["node", "index.js"]'].join('\n');
    const history = [
      L('/bin/sh -c #(nop) ADD file:base in / ', 100),
      L('RUN /bin/sh -c apt-get install -y node # buildkit', 200), // base layers
      E('CMD ["node"]'),
      L('WORKDIR /app', 0),
      L('COPY package.json ./ # buildkit', 700),
      L('RUN /bin/sh -c npm ci # buildkit', 50_000_000),
      L('COPY . . # buildkit', 9000),
      E('USER node'),
      E('EXPOSE map[8080/tcp:{}]'),
      E('CMD ["node" "index.js"]'),
    ];
    const diffIds = [d(1), d(2), d(3), d(4), d(5), d(6)];
    const layers = mapHistoryToInstructions(history, diffIds, instructionsOf(dockerfile), 2);
    assert.deepEqual(
      layers.map((l) => [l.instructionIndex, l.diffId, l.size]),
      [[1, d(3), 0], [2, d(4), 700], [3, d(5), 50_000_000], [4, d(6), 9000], [5, undefined, 0], [6, undefined, 0], [7, undefined, 0]],
    );
  });

  it('a Dockerfile of metadata only maps without any layer', () => {
    const history = [L('', 1000), E('/bin/sh -c #(nop)  LABEL a=b'), E('/bin/sh -c #(nop)  ENTRYPOINT ["/x"]')];
    const layers = mapHistoryToInstructions(history, [d(1)], instructionsOf('FROM base\nLABEL a=b\nENTRYPOINT ["/x"]'));
    assert.deepEqual(layers, [
      { instructionIndex: 1, historyIndex: 1, size: 0 },
      { instructionIndex: 2, historyIndex: 2, size: 0 },
    ]);
  });

  it('stops at the first instruction the history disagrees with: a partial mapping, newest first', () => {
    const history = [L('', 10), L('/bin/sh -c make', 20), L('/bin/sh -c #(nop) COPY file:x in /a ', 30), E('/bin/sh -c #(nop)  CMD ["a"]')];
    // The Dockerfile now has ENV where the image has RUN (it was built from an older version).
    const match = matchHistoryToInstructions(history, [d(1), d(2), d(3)], instructionsOf('FROM b\nENV X=1\nCOPY a /a\nCMD ["a"]'));
    assert.equal(match.complete, false);
    assert.deepEqual(match.mismatch, { instructionIndex: 1, expected: 'ENV', found: 'RUN' });
    assert.deepEqual(match.layers.map((l) => [l.instructionIndex, l.diffId]), [[2, d(3)], [3, undefined]]);
    // Nothing maps when the newest entry already disagrees (another image entirely).
    const other = matchHistoryToInstructions(history, [d(1), d(2), d(3)], instructionsOf('FROM b\nRUN make\nCOPY a /a\nENTRYPOINT ["a"]'));
    assert.deepEqual([other.layers, other.mismatch], [[], { instructionIndex: 3, expected: 'ENTRYPOINT', found: 'CMD' }]);
  });

  it('runs out of history: partial, naming the instruction', () => {
    const match = matchHistoryToInstructions([L('/bin/sh -c make', 5)], [d(1)], instructionsOf('FROM scratch\nCOPY a /\nRUN make'));
    assert.deepEqual(match.mismatch, { instructionIndex: 1, expected: 'COPY', found: 'no more history' });
    assert.deepEqual(match.layers.map((l) => l.instructionIndex), [2]);
  });

  it('an entry without created_by (an import) matches no instruction', () => {
    const match = matchHistoryToInstructions([L('', 5)], [d(1)], instructionsOf('FROM scratch\nRUN make'));
    assert.deepEqual(match.mismatch, { instructionIndex: 1, expected: 'RUN', found: 'an entry without created_by' });
  });

  it('baseLayerCount forbids mapping an instruction onto a base layer', () => {
    // The image's base had one layer; the FROM image now has two: the RUN cannot be layer 1.
    const history = [L('', 5), L('/bin/sh -c make', 7)];
    assert.equal(matchHistoryToInstructions(history, [d(1), d(2)], instructionsOf('FROM b\nRUN make'), 1).complete, true);
    const match = matchHistoryToInstructions(history, [d(1), d(2)], instructionsOf('FROM b\nRUN make'), 2);
    assert.deepEqual(match.mismatch, { instructionIndex: 1, expected: 'RUN', found: 'RUN on a base-image layer' });
  });

  it('aligns diff_ids from the newest when the history has fewer layer entries than diff_ids', () => {
    // A base without history for its first layer: the Dockerfile's layers are still the last ones.
    const history = [E('/bin/sh -c #(nop)  CMD ["sh"]'), L('/bin/sh -c #(nop) COPY file:x in / ', 3)];
    const match = matchHistoryToInstructions(history, [d(1), d(2), d(3)], instructionsOf('FROM b\nCOPY x /'));
    assert.deepEqual(match.layers, [{ instructionIndex: 1, historyIndex: 1, diffId: d(3), layerIndex: 2, size: 3 }]);
    assert.equal(match.baseLayers, 2);
  });

  it('skips global ARGs and follows the FROM chain of a multi-stage target, not COPY --from stages', () => {
    const dockerfile = [
      'ARG BASE=alpine',
      'FROM golang AS build',
      'RUN go build -o /out/app',
      'FROM alpine AS runtime',
      'RUN apk add ca-certificates',
      'FROM runtime',
      'COPY --from=build /out/app /app',
      'ENTRYPOINT ["/app"]',
    ].join('\n');
    const analysis = analyze(dockerfile);
    const chain = targetChainInstructions(analysis);
    assert.deepEqual(chain.map((i) => i.line), [3, 4, 5, 6, 7]);
    const history = [
      L('/bin/sh -c #(nop) ADD file:alpine in / ', 7_000_000),
      E('/bin/sh -c #(nop)  CMD ["/bin/sh"]'),
      L('/bin/sh -c apk add ca-certificates', 500_000),
      L('/bin/sh -c #(nop) COPY file:app in /app ', 9_000_000),
      E('/bin/sh -c #(nop)  ENTRYPOINT ["/app"]'),
    ];
    const layers = mapHistoryToInstructions(history, [d(1), d(2), d(3)], chain, 1);
    assert.deepEqual(
      layers.map((l) => [analysis.instructions[l.instructionIndex]?.line, l.diffId]),
      [[4, d(2)], [6, d(3)], [7, undefined]],
    );
    // The whole file in (global ARG included) maps the same way for a single-stage Dockerfile.
    const single = analyze('ARG V=1\nFROM alpine\nARG V\nRUN echo $V');
    const mapped = mapHistoryToInstructions([L('', 1), E('/bin/sh -c #(nop)  ARG V'), L('|1 V=1 /bin/sh -c echo $V', 2)], [d(1), d(2)], single.instructions);
    assert.deepEqual(mapped.map((l) => [l.instructionIndex, l.diffId]), [[2, undefined], [3, d(2)]]);
  });
});

void describe('assignHistoryLayers (empty_layer from sizes, keywords and layer counts)', () => {
  const input = (createdBy: string, size = 0) => ({ createdBy, size });

  it('sized entries are layers, metadata is not, and the count settles the rest', () => {
    const entries = [
      input('', 1_982_296),
      input('/bin/sh -c #(nop)  ENV A=b'),
      input('/bin/sh -c #(nop) WORKDIR /app'), // size 0, but a layer: only 3 layers remain unknown…
      input('/bin/sh -c #(nop) COPY file:x in ./ ', 5),
      input('|1 V=1 /bin/sh -c echo hi > /f', 3),
      input('/bin/sh -c #(nop)  CMD ["sh"]'),
    ];
    assert.deepEqual(assignHistoryLayers(entries, 4), {
      emptyLayer: [false, true, false, false, false, true],
      guessed: [],
      consistent: true,
    });
    // …and with three diff_ids the WORKDIR step must have been empty.
    assert.deepEqual(assignHistoryLayers(entries, 3).emptyLayer, [false, true, true, false, false, true]);
  });

  it('guesses when the count leaves a choice, preferring WORKDIR over a legacy RUN', () => {
    const entries = [input('', 10), input('/bin/sh -c #(nop) WORKDIR /app'), input('/bin/sh -c true')];
    const result = assignHistoryLayers(entries, 2);
    assert.deepEqual(result.emptyLayer, [false, false, true]);
    assert.deepEqual(result.guessed, [1, 2]);
  });

  it('BuildKit steps of size 0 are likelier layers than legacy RUNs', () => {
    const entries = [input('', 10), input('/bin/sh -c true'), input('RUN /bin/sh -c mkdir /data # buildkit')];
    assert.deepEqual(assignHistoryLayers(entries, 2).emptyLayer, [false, true, false]);
  });

  it('anchors (layers up to an entry, from intermediate images) settle what the count cannot', () => {
    const entries = [input('', 10), input('/bin/sh -c #(nop) WORKDIR /app'), input('/bin/sh -c true'), input('/bin/sh -c mkdir /data'), input('/bin/sh -c true')];
    // Without anchors: 2 of 4 size-0 steps are layers, which ones is a guess.
    assert.equal(assignHistoryLayers(entries, 3).guessed.length, 4);
    // Pinning one point is not always enough: entry 2 made an image of 2 layers, but was it
    // entry 1 or entry 2 that added the second? And which of entries 3 and 4 added the third?
    assert.deepEqual(assignHistoryLayers(entries, 3, new Map([[2, 2]])).guessed, [1, 2, 3, 4]);
    assert.deepEqual(assignHistoryLayers(entries, 3, new Map([[2, 2], [3, 3]])).guessed, [1, 2]);
    // The images made by entries 1, 2 and 3 have 2, 2 and 3 layers.
    const result = assignHistoryLayers(entries, 3, new Map([[1, 2], [2, 2], [3, 3]]));
    assert.deepEqual(result, { emptyLayer: [false, false, true, false, true], guessed: [], consistent: true });
  });

  it('ignores anchors that contradict each other or the bounds', () => {
    const entries = [input('', 10), input('/bin/sh -c mkdir /a'), input('/bin/sh -c true')];
    const result = assignHistoryLayers(entries, 2, new Map([[1, 5], [0, 1], [-1, 3]]));
    assert.equal(result.consistent, true);
    assert.equal(result.emptyLayer[0], false);
  });

  it('reports a history that cannot fit the layer count', () => {
    const result = assignHistoryLayers([input('', 10), input('/bin/sh -c make', 20)], 1);
    assert.equal(result.consistent, false);
    assert.deepEqual(result.emptyLayer, [false, false]);
    assert.equal(assignHistoryLayers([], 0).consistent, true);
  });
});
