// FROM resolution checked against the real thing: for each Dockerfile below, analyzeDockerfile
// (linux/amd64, same --build-arg and --target) and a real `docker build` on the test bed's private
// dockerd must agree on the base image of the target stage, or both must refuse the Dockerfile.
//
// How we know which base docker used: every base is the busybox rootfs plus one layer holding
// /marker, whose content is the base's fully qualified name; the built image's layers start with
// exactly one base's layers (the longest such prefix wins, busybox alone is a base too), and
// `docker run … cat /marker` must print that same name. No network: every base exists locally
// under the names the Dockerfiles use; the pinned-digest base is pushed to a loopback registry
// (so that it has a RepoDigest) and the registry is stopped before any test builds, so a FROM
// …@sha256: can only have been served by the engine's own image store, never pulled.
//
// The bed's dockerd is 20.10 with the legacy builder (DOCKER_BUILDKIT=0), while the analysis
// follows BuildKit. Where the two builders differ, the last describe block pins the legacy
// builder's behaviour and what the analysis says instead (BuildKit's). Heredocs (and `${V-d}`,
// `${V:?}` and the other BuildKit-only expansions) cannot be built by the legacy builder at all:
// they are covered by the pure unit tests only (test/unit/analyzeDockerfile.test.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { analyzeDockerfile } from '../../server/src/analysis/analyzeDockerfile';
import type { DockerfileAnalysis } from '../../server/src/analysis/types';
import { formatReference } from '../../server/src/core/reference';
import { docker, importBusyboxImage, inspectImage, startDockerEngine, type DockerEngine } from '../bed/dockerEngine';
import { makeTempDir } from '../bed/process';
import { startRegistry, type Registry } from '../bed/registry';

const AMD64 = { os: 'linux', architecture: 'amd64' };
const BUSYBOX = 'layerlift/busybox:latest';

/** Values known only once the bed runs: the pinned base's repository and digest. */
interface Env {
  /** "127.0.0.1:PORT/pinned/base" */
  pinned: string;
  /** "127.0.0.1:PORT" */
  registry: string;
  /** "sha256:…", the manifest digest the push gave it. */
  digest: string;
}
type Dynamic<T> = T | ((env: Env) => T);

/** Local bases: the name a Dockerfile uses (docker tag) and its fully qualified form, its marker. */
const BASES: [tag: string, qualified: string][] = [
  ['alpine:3.19', 'docker.io/library/alpine:3.19'],
  ['alpine:3.20', 'docker.io/library/alpine:3.20'],
  ['alpine:latest', 'docker.io/library/alpine:latest'],
  ['alpine:3.19-slim', 'docker.io/library/alpine:3.19-slim'],
  ['localhost:5000/team/base:1.2', 'localhost:5000/team/base:1.2'],
  ['localhost:5000/team/base:2.2', 'localhost:5000/team/base:2.2'],
  ['myreg.example:5000/x/y:z', 'myreg.example:5000/x/y:z'],
  ['someuser/tool:1', 'docker.io/someuser/tool:1'],
  // A Hub image that shares its name with a stage defined later in a Dockerfile.
  ['base:latest', 'docker.io/library/base:latest'],
];

/** Files of the build context the Dockerfiles COPY. */
const CONTEXT_FILES: Record<string, string> = {
  hello: 'hello',
  'tag-3.19': '3.19',
  'tag-3.20': '3.20',
  'tag-latest': 'latest',
};

let work: { path: string; remove: () => Promise<void> };
let engine: DockerEngine;
let registry: Registry;
let context: string;
const env: Env = { pinned: '', registry: '', digest: '' };
/** Every local base: its marker (fully qualified name) and its layers' diff_ids. */
const bases: { marker: string; layers: string[] }[] = [];
/** Fully qualified reference (as formatReference prints it) → the marker of the local base. */
const markerOf = new Map<string, string>();

function resolve<T>(value: Dynamic<T>): T {
  return typeof value === 'function' ? (value as (env: Env) => T)(env) : value;
}

async function layersOf(image: string): Promise<string[]> {
  const inspected = (await inspectImage(engine, image)) as { RootFS?: { Layers?: string[] } };
  return inspected.RootFS?.Layers ?? [];
}

before(async () => {
  work = await makeTempDir('from-resolution');
  engine = await startDockerEngine();
  registry = await startRegistry({ auth: 'none' });
  await importBusyboxImage(engine, BUSYBOX);
  env.registry = registry.host;
  env.pinned = `${registry.host}/pinned/base`;
  const specs = [...BASES, [`${env.pinned}:1`, `${env.pinned}:1`] as [string, string]];
  // Independent builds: in parallel, they take about as long as two sequential ones.
  await Promise.all(
    specs.map(async ([tag, qualified], index) => {
      const dir = join(work.path, `base-${index}`);
      await mkdir(dir);
      await writeFile(join(dir, 'marker'), qualified);
      await writeFile(join(dir, 'Dockerfile'), `FROM ${BUSYBOX}\nCOPY marker /marker\n`);
      await docker(engine, ['build', '-q', '-t', tag, dir]);
    }),
  );
  await docker(engine, ['push', `${env.pinned}:1`]);
  const pinned = (await inspectImage(engine, `${env.pinned}:1`)) as { RepoDigests?: string[] };
  const repoDigest = (pinned.RepoDigests ?? []).find((d) => d.startsWith(`${env.pinned}@`));
  assert.ok(repoDigest !== undefined, `the push gave ${env.pinned}:1 no RepoDigest: ${JSON.stringify(pinned.RepoDigests)}`);
  env.digest = repoDigest.slice(env.pinned.length + 1);
  // From here on nothing can be pulled (no network, no registry): FROM …@digest must be local.
  await registry.stop();

  for (const [tag, qualified] of specs) {
    bases.push({ marker: qualified, layers: await layersOf(tag) });
    markerOf.set(qualified, qualified);
  }
  bases.push({ marker: `docker.io/${BUSYBOX}`, layers: await layersOf(BUSYBOX) });
  markerOf.set(`docker.io/${BUSYBOX}`, `docker.io/${BUSYBOX}`);
  // The pinned base under its digest forms.
  markerOf.set(`${env.pinned}@${env.digest}`, `${env.pinned}:1`);
  markerOf.set(`${env.pinned}:1@${env.digest}`, `${env.pinned}:1`);
  markerOf.set('scratch', 'scratch');

  context = join(work.path, 'context');
  await mkdir(context);
  for (const [name, content] of Object.entries(CONTEXT_FILES)) await writeFile(join(context, name), content);
});

after(async () => {
  await registry?.stop();
  await engine?.stop();
  await work?.remove();
});

let dockerfiles = 0;

/** `docker build` (legacy builder) of a Dockerfile on the shared context: the image ID, or why it failed. */
async function dockerBuild(
  dockerfile: string,
  options: { buildArgs?: Record<string, string>; target?: string },
): Promise<{ imageId?: string; output: string }> {
  const file = join(context, `Dockerfile.${++dockerfiles}`);
  await writeFile(file, dockerfile);
  const args = ['build', '-q', '-f', file];
  for (const [key, value] of Object.entries(options.buildArgs ?? {})) args.push('--build-arg', `${key}=${value}`);
  if (options.target !== undefined) args.push('--target', options.target);
  args.push(context);
  try {
    const { stdout, stderr } = await docker(engine, args);
    const imageId = stdout.trim().split('\n').pop() ?? '';
    assert.match(imageId, /^sha256:[0-9a-f]{64}$/, `docker build -q printed no image ID:\n${stdout}\n${stderr}`);
    return { imageId, output: stdout + stderr };
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    return { output: error instanceof Error ? error.message : String(error) };
  }
}

/** The marker of the base whose layers the built image starts with (the longest such base). */
async function builtOn(imageId: string): Promise<string> {
  const layers = await layersOf(imageId);
  let best: { marker: string; layers: string[] } | undefined;
  for (const base of bases) {
    const isPrefix = base.layers.length <= layers.length && base.layers.every((layer, i) => layers[i] === layer);
    if (isPrefix && (best === undefined || base.layers.length > best.layers.length)) best = base;
  }
  return best?.marker ?? 'scratch';
}

/** The contents of files in an image, read by a container without network. */
async function readFiles(imageId: string, paths: string[]): Promise<string[]> {
  const script = 'for f; do cat "$f"; echo; done';
  const { stdout } = await docker(engine, ['run', '--rm', '--network', 'none', imageId, 'sh', '-c', script, 'sh', ...paths]);
  return stdout.split('\n').slice(0, paths.length);
}

function analyze(dockerfile: string, options: { buildArgs?: Record<string, string>; target?: string }): DockerfileAnalysis {
  return analyzeDockerfile(dockerfile, { ...options, platform: AMD64, buildPlatform: AMD64 });
}

/** The base the analysis resolved for the target stage, following FROM <stage> to its image. */
function resolvedBase(analysis: DockerfileAnalysis): string {
  let index = analysis.targetStage;
  for (let hops = 0; hops <= analysis.stages.length; hops++) {
    const stage = analysis.stages[index];
    const base = stage?.base;
    if (stage === undefined || base === undefined) return `unresolved (${stage?.error ?? `no stage ${index}`})`;
    if (base.kind === 'scratch') return 'scratch';
    if (base.kind === 'image') return formatReference(base.ref);
    index = base.index;
  }
  return 'unresolved (a cycle of stages)';
}

function copiesOf(analysis: DockerfileAnalysis): { sources: string[]; from?: string; fromStage?: number }[] {
  return analysis.instructions.flatMap((i) => {
    if (i.copy === undefined) return [];
    const { sources, from, fromStage } = i.copy;
    return [{ sources, ...(from !== undefined ? { from } : {}), ...(fromStage !== undefined ? { fromStage } : {}) }];
  });
}

interface BuildCase {
  name: string;
  dockerfile: Dynamic<string>;
  buildArgs?: Dynamic<Record<string, string>>;
  target?: string;
  /** The target stage's base, fully qualified: what the analysis must resolve and docker must use. */
  base: Dynamic<string>;
  /** Further checks of the analysis and of the built image. */
  check?: (analysis: DockerfileAnalysis, imageId: string) => Promise<void>;
  /** Set while the analysis disagrees with docker build: the test still runs, reported as TODO. */
  todo?: string;
}

const lines = (...text: string[]): string => `${text.join('\n')}\n`;

const NESTED = lines(
  'ARG REGISTRY=localhost:5000',
  'ARG REPO=${REGISTRY}/team/base',
  'ARG MAJOR=1',
  'ARG VERSION=${MAJOR}.2',
  'FROM ${REPO}:${VERSION}',
  'COPY hello /hello',
);
const FLAVORS = lines('ARG FLAVOR=dev', 'FROM alpine:3.19 AS dev', 'FROM alpine:3.20 AS prod', 'FROM ${FLAVOR}', 'COPY hello /hello');
const STAGE_ARGS = lines(
  'ARG TAG=3.19',
  'FROM alpine:${TAG} AS one',
  '# a stage-local default: it must not leak into the next FROM',
  'ARG TAG=3.20',
  'COPY tag-${TAG} /tag',
  'FROM alpine:${TAG}',
  '# the global ARG re-declared: the stage gets its value',
  'ARG TAG',
  'COPY --from=one /tag /one-tag',
  'COPY tag-${TAG} /tag',
);
const TARGETS = lines(
  'FROM alpine:3.19 AS dev',
  'COPY hello /hello',
  'FROM alpine:3.20 AS prod',
  'COPY --from=dev /hello /hello',
  'FROM prod AS test',
  '# never built with --target dev or prod: the source does not exist',
  'COPY does-not-exist /x',
);

const cases: BuildCase[] = [
  {
    name: 'nested global ARGs build the whole reference (registry with a port)',
    dockerfile: NESTED,
    base: 'localhost:5000/team/base:1.2',
  },
  {
    name: 'nested global ARGs: --build-arg of an inner ARG flows into the ARGs built from it',
    dockerfile: NESTED,
    buildArgs: { MAJOR: '2' },
    base: 'localhost:5000/team/base:2.2',
  },
  {
    name: 'nested global ARGs: --build-arg of the outer ARG replaces its default expression',
    dockerfile: NESTED,
    buildArgs: { VERSION: '2.2', MAJOR: '9' },
    base: 'localhost:5000/team/base:2.2',
  },
  {
    name: 'a global ARG re-declared from its own value; quotes in ARG values',
    dockerfile: lines('ARG V="3"', "ARG V=${V}'.19'", 'FROM alpine:$V'),
    base: 'docker.io/library/alpine:3.19',
  },
  {
    name: '${V:-default} without a value',
    dockerfile: lines('ARG TAG', 'FROM alpine:${TAG:-3.19}'),
    base: 'docker.io/library/alpine:3.19',
  },
  {
    name: '${V:-default} with --build-arg',
    dockerfile: lines('ARG TAG', 'FROM alpine:${TAG:-3.19}'),
    buildArgs: { TAG: '3.20' },
    base: 'docker.io/library/alpine:3.20',
  },
  {
    name: '${V:-default} with an empty --build-arg takes the default',
    dockerfile: lines('ARG TAG=3.20', 'FROM alpine:${TAG:-3.19}'),
    buildArgs: { TAG: '' },
    base: 'docker.io/library/alpine:3.19',
  },
  {
    name: '${V:+alternative} with a value',
    dockerfile: lines('ARG SLIM=yes', 'FROM alpine:3.19${SLIM:+-slim}'),
    base: 'docker.io/library/alpine:3.19-slim',
  },
  {
    name: '${V:+alternative} with an empty --build-arg',
    dockerfile: lines('ARG SLIM=yes', 'FROM alpine:3.19${SLIM:+-slim}'),
    buildArgs: { SLIM: '' },
    base: 'docker.io/library/alpine:3.19',
  },
  {
    name: 'a global ARG without default gets the whole image from --build-arg (registry with a port)',
    dockerfile: lines('ARG IMAGE', 'FROM ${IMAGE}'),
    buildArgs: { IMAGE: 'myreg.example:5000/x/y:z' },
    base: 'myreg.example:5000/x/y:z',
  },
  {
    name: 'Docker Hub names: a user repository, and index.docker.io',
    dockerfile: lines('FROM someuser/tool:1 AS tool', 'FROM index.docker.io/library/alpine:3.20', 'COPY --from=tool /marker /tool'),
    base: 'docker.io/library/alpine:3.20',
    check: async (_analysis, imageId) => {
      assert.deepEqual(await readFiles(imageId, ['/tool']), ['docker.io/someuser/tool:1']);
    },
  },
  {
    name: 'a stage-local ARG does not leak into a later FROM; a re-declared global ARG gets the global value',
    dockerfile: STAGE_ARGS,
    base: 'docker.io/library/alpine:3.19',
    check: async (analysis, imageId) => {
      assert.deepEqual(copiesOf(analysis), [
        { sources: ['tag-3.20'] },
        { sources: ['/tag'], from: 'one', fromStage: 0 },
        { sources: ['tag-3.19'] },
      ]);
      assert.deepEqual(await readFiles(imageId, ['/one-tag', '/tag']), ['3.20', '3.19']);
    },
  },
  {
    name: 'stage-local and global ARGs with --build-arg: it overrides both, FROM sees it through the global one',
    dockerfile: STAGE_ARGS,
    buildArgs: { TAG: 'latest' },
    base: 'docker.io/library/alpine:latest',
    check: async (analysis, imageId) => {
      assert.deepEqual(copiesOf(analysis).map((c) => c.sources), [['tag-latest'], ['/tag'], ['tag-latest']]);
      assert.deepEqual(await readFiles(imageId, ['/one-tag', '/tag']), ['latest', 'latest']);
    },
  },
  {
    name: '--build-arg of an ARG declared only inside a stage is not seen by FROM',
    dockerfile: lines('FROM alpine:3.19 AS a', 'ARG TAG=3.20', 'FROM alpine:${TAG:-latest}'),
    buildArgs: { TAG: '3.20' },
    base: 'docker.io/library/alpine:latest',
  },
  {
    name: 'FROM <stage> chains to the first stage\'s image; line continuations in FROM',
    dockerfile: lines(
      'FROM localhost:5000/team/base:2.2 AS base',
      'COPY hello /hello',
      'FROM \\',
      '  base \\',
      '  AS app',
      'COPY tag-3.19 /tag',
      'FROM app',
    ),
    base: 'localhost:5000/team/base:2.2',
  },
  {
    name: 'FROM ${ARG} naming a stage, default',
    dockerfile: FLAVORS,
    base: 'docker.io/library/alpine:3.19',
  },
  {
    name: 'FROM ${ARG} naming a stage, --build-arg picks the other stage',
    dockerfile: FLAVORS,
    buildArgs: { FLAVOR: 'prod' },
    base: 'docker.io/library/alpine:3.20',
  },
  {
    name: 'COPY --from a stage by name, by index, and from an image',
    dockerfile: lines(
      'FROM myreg.example:5000/x/y:z AS build',
      'COPY hello /hello',
      'FROM alpine:3.19',
      'COPY --from=build /marker /from-build',
      'COPY --from=0 /hello /from-index',
      'COPY --from=alpine:3.20 /marker /from-image',
    ),
    base: 'docker.io/library/alpine:3.19',
    check: async (analysis, imageId) => {
      assert.deepEqual(copiesOf(analysis), [
        { sources: ['hello'] },
        { sources: ['/marker'], from: 'build', fromStage: 0 },
        { sources: ['/hello'], from: '0', fromStage: 0 },
        { sources: ['/marker'], from: 'alpine:3.20' },
      ]);
      assert.deepEqual(analysis.neededStages, [0, 1]);
      assert.deepEqual(await readFiles(imageId, ['/from-build', '/from-index', '/from-image']), [
        'myreg.example:5000/x/y:z',
        'hello',
        'docker.io/library/alpine:3.20',
      ]);
    },
  },
  {
    name: '--target a middle stage: later stages are not built',
    dockerfile: TARGETS,
    target: 'prod',
    base: 'docker.io/library/alpine:3.20',
    check: async (analysis, imageId) => {
      assert.equal(analysis.targetStage, 1);
      assert.deepEqual(analysis.neededStages, [0, 1]);
      assert.deepEqual(await readFiles(imageId, ['/hello']), ['hello']);
    },
  },
  {
    name: '--target matches stage names case-insensitively',
    dockerfile: TARGETS,
    target: 'DEV',
    base: 'docker.io/library/alpine:3.19',
    check: (analysis) => {
      assert.equal(analysis.targetStage, 0);
      return Promise.resolve();
    },
  },
  {
    name: 'pinned digest (registry with a port), served from the local image store',
    dockerfile: (e) => lines(`FROM ${e.pinned}@${e.digest}`, 'COPY hello /hello'),
    base: (e) => `${e.pinned}@${e.digest}`,
  },
  {
    name: 'pinned digest with a tag, both from nested ARGs',
    dockerfile: (e) => lines(`ARG REGISTRY=${e.registry}`, 'ARG IMAGE=${REGISTRY}/pinned/base', `ARG DIGEST=${e.digest}`, 'FROM ${IMAGE}:1@${DIGEST}'),
    base: (e) => `${e.pinned}:1@${e.digest}`,
  },
  {
    name: 'pinned digest from --build-arg',
    dockerfile: (e) => lines('ARG DIGEST', `FROM ${e.pinned}@\${DIGEST}`),
    buildArgs: (e) => ({ DIGEST: e.digest }),
    base: (e) => `${e.pinned}@${e.digest}`,
  },
  {
    name: 'escape directive: backtick continuations, a trailing backslash is just a character',
    dockerfile: lines(
      '# escape=`',
      'ARG REGISTRY=myreg.example:5000',
      'ARG WINDOWS_DIR=C:\\',
      'FROM ${REGISTRY}/x/y:z `',
      '  AS build',
      'FROM build',
    ),
    base: 'myreg.example:5000/x/y:z',
  },
  {
    name: 'escape directive in upper case with spaces; a continuation inside the image word',
    dockerfile: lines('#  ESCAPE = `', 'ARG TAG=3.19', 'FROM alpine:`', '${TAG}-slim'),
    base: 'docker.io/library/alpine:3.19-slim',
  },
  {
    name: 'FROM scratch',
    dockerfile: lines('FROM alpine:3.19 AS files', 'FROM scratch', 'COPY --from=files /marker /marker'),
    base: 'scratch',
  },
  {
    name: 'FROM a name that only a later stage has is the image of that name, not the stage',
    dockerfile: lines('FROM base AS app', 'COPY hello /hello', 'FROM alpine:3.19 AS base'),
    target: 'app',
    base: 'docker.io/library/base:latest',
  },
];

interface RefusedCase {
  name: string;
  dockerfile: string;
  buildArgs?: Record<string, string>;
  target?: string;
  /** What docker build says. */
  docker: RegExp;
  /** 0-based line of our error (docker's "line N", when it gives one, must be this + 1). */
  line: number;
  /** What our error says. */
  error: RegExp;
}

const refused: RefusedCase[] = [
  {
    name: 'FROM ${EMPTY}',
    dockerfile: lines('ARG EMPTY', 'FROM ${EMPTY}'),
    docker: /base name \(\$\{EMPTY\}\) should not be blank/,
    line: 1,
    error: /"\$\{EMPTY\}" expands to ""/,
  },
  {
    name: 'FROM an ARG declared only inside a stage, even with --build-arg',
    dockerfile: lines('FROM alpine:3.19 AS a', 'ARG IMAGE=alpine:3.20', 'FROM ${IMAGE}'),
    buildArgs: { IMAGE: 'alpine:3.20' },
    docker: /base name \(\$\{IMAGE\}\) should not be blank/,
    line: 2,
    error: /ARG IMAGE is declared inside a stage \(line 2\)/,
  },
  {
    name: 'an expansion that is not a valid reference',
    dockerfile: lines('ARG TAG=3.19', 'FROM alpine:3.19 AS build', 'FROM alpine:${TAG}:x'),
    docker: /invalid reference format/,
    line: 2,
    error: /expands to "alpine:3\.19:x", which is not a valid image reference/,
  },
  {
    name: 'an upper-case repository from an ARG',
    dockerfile: lines('ARG NAME=Alpine', 'FROM ${NAME}:3.19'),
    docker: /invalid reference format: repository name must be lowercase/,
    line: 1,
    error: /must be lowercase/,
  },
  {
    name: 'an escape directive after an instruction is a comment, so the backtick continues nothing',
    dockerfile: lines('FROM alpine:3.19 AS a', '# escape=`', 'FROM alpine:3.20 `', '  AS b'),
    docker: /line 3: FROM requires either one or three arguments/,
    line: 2,
    error: /FROM requires either one or three arguments/,
  },
  {
    name: 'an invalid stage name',
    dockerfile: lines('FROM alpine:3.19 AS 1bad'),
    docker: /line 1: invalid name for build stage: "1bad"/,
    line: 0,
    error: /invalid name for build stage/,
  },
  {
    name: '--target naming no stage',
    dockerfile: lines('FROM alpine:3.19 AS dev', 'FROM alpine:3.20 AS prod'),
    target: 'nope',
    docker: /failed to reach build target nope/,
    line: 0,
    error: /--target "nope": no such stage/,
  },
];

void describe('FROM resolution: analyzeDockerfile and docker build use the same base', () => {
  for (const c of cases) {
    void test(c.name, { ...(c.todo !== undefined ? { todo: c.todo } : {}) }, async () => {
      const dockerfile = resolve(c.dockerfile);
      const options = { buildArgs: c.buildArgs !== undefined ? resolve(c.buildArgs) : undefined, target: c.target };
      const expected = resolve(c.base);
      const marker = markerOf.get(expected);
      assert.ok(marker !== undefined, `the bed has no local base for ${expected}`);

      const built = await dockerBuild(dockerfile, options);
      assert.ok(built.imageId !== undefined, `docker build failed:\n${built.output}`);
      const used = await builtOn(built.imageId);
      assert.equal(used, marker, 'docker build used another base than the case expects');
      if (used !== 'scratch') assert.deepEqual(await readFiles(built.imageId, ['/marker']), [used]);

      const analysis = analyze(dockerfile, options);
      assert.deepEqual(analysis.errors.map((e) => `${e.line}: ${e.message}`), [], 'docker build succeeded, so the analysis must find no error');
      assert.equal(resolvedBase(analysis), expected);
      await c.check?.(analysis, built.imageId);
    });
  }
});

void describe('FROM resolution: Dockerfiles docker build refuses are errors on the right line', () => {
  for (const c of refused) {
    void test(c.name, async () => {
      const options = { buildArgs: c.buildArgs, target: c.target };
      const built = await dockerBuild(c.dockerfile, options);
      assert.equal(built.imageId, undefined, 'docker build succeeded');
      assert.match(built.output, c.docker);
      const dockerLine = /dockerfile parse error line (\d+)/.exec(built.output)?.[1];
      if (dockerLine !== undefined) assert.equal(Number(dockerLine) - 1, c.line, 'docker reports another line');

      const analysis = analyze(c.dockerfile, options);
      const onLine = analysis.errors.filter((e) => e.line === c.line);
      assert.ok(
        onLine.some((e) => c.error.test(e.message)),
        `no error matching ${String(c.error)} on line ${c.line}: ${JSON.stringify(analysis.errors.map((e) => `${e.line}: ${e.message}`))}`,
      );
    });
  }
});

// dockerd 20.10's legacy builder is not BuildKit, which the analysis follows (and which `docker
// build` uses by default since Docker 23). These pin where the two differ, so that a change of
// the bed's engine, or of the analysis, shows up here.
void describe('FROM resolution: where the legacy builder differs from BuildKit (the analysis follows BuildKit)', () => {
  void test('ARGs of one instruction: BuildKit expands them in order, the legacy builder all against the earlier ones', async () => {
    const dockerfile = lines('ARG MAJOR=3 TAG=${MAJOR}.19', 'FROM alpine:${TAG}');
    const built = await dockerBuild(dockerfile, {});
    // Legacy: TAG = ".19", so "alpine:.19".
    assert.match(built.output, /invalid reference format/);
    assert.equal(resolvedBase(analyze(dockerfile, {})), 'docker.io/library/alpine:3.19');
  });

  void test('FROM <Stage> in another case: the legacy builder matches it, BuildKit takes it as an (invalid) image name', async () => {
    const dockerfile = lines('FROM alpine:3.20 AS build', 'FROM Build');
    const built = await dockerBuild(dockerfile, {});
    assert.ok(built.imageId !== undefined, built.output);
    assert.equal(await builtOn(built.imageId), 'docker.io/library/alpine:3.20');
    const analysis = analyze(dockerfile, {});
    assert.equal(analysis.errors[0]?.line, 1);
    assert.match(analysis.errors[0]?.message ?? '', /must be lowercase; Docker matches stage names in FROM in lower case only: FROM build/);
  });

  void test('automatic platform ARGs (TARGETOS…) exist in BuildKit only', async () => {
    const dockerfile = lines('FROM alpine:3.19${TARGETOS:+-slim}');
    const built = await dockerBuild(dockerfile, {});
    assert.ok(built.imageId !== undefined, built.output);
    assert.equal(await builtOn(built.imageId), 'docker.io/library/alpine:3.19');
    assert.equal(resolvedBase(analyze(dockerfile, {})), 'docker.io/library/alpine:3.19-slim');
  });

  void test('${V-default} (no colon) exists in BuildKit only', async () => {
    const dockerfile = lines('ARG TAG', 'FROM alpine:${TAG-3.20}');
    const built = await dockerBuild(dockerfile, {});
    assert.match(built.output, /missing ':' in substitution/);
    assert.equal(resolvedBase(analyze(dockerfile, {})), 'docker.io/library/alpine:3.20');
  });

  void test('--target by index: both builders refuse it, and so does the analysis', async () => {
    const dockerfile = lines('FROM alpine:3.19 AS dev', 'FROM alpine:3.20 AS prod');
    const built = await dockerBuild(dockerfile, { target: '0' });
    assert.match(built.output, /failed to reach build target 0/);
    const analysis = analyze(dockerfile, { target: '0' });
    assert.match(analysis.errors[0]?.message ?? '', /^--target "0": no such stage/);
  });
});
