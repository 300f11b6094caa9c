// analyzeDockerfile against real-world Dockerfiles, with what `docker build` (BuildKit's
// Dockerfile frontend: parser.go, instructions/parse.go, dockerfile2llb/convert.go) makes of
// them: bases, ARG scopes, heredocs, escapes, COPY sources, the target's stages, and errors.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDockerfile } from '../../server/src/analysis/analyzeDockerfile';
import type { AnalyzeOptions, DockerfileAnalysis, Instruction } from '../../server/src/analysis/types';
import { formatReference } from '../../server/src/core/reference';
import { formatPlatform } from '../../server/src/core/platform';
import { randomText } from '../lsp/mutate';

const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64' };
const DIGEST = `sha256:${'a1'.repeat(32)}`;

/** Deterministic platforms: the test must not depend on the machine running it. */
function analyze(text: string, options: AnalyzeOptions = {}): DockerfileAnalysis {
  return analyzeDockerfile(text, { platform: AMD64, buildPlatform: AMD64, ...options });
}

/** "docker.io/library/alpine:3.19", "stage 0", "scratch" or "error". */
function bases(result: DockerfileAnalysis): string[] {
  return result.stages.map((stage) => {
    const base = stage.base;
    if (base === undefined) return 'error';
    if (base.kind === 'image') return formatReference(base.ref);
    return base.kind === 'stage' ? `stage ${base.index}` : 'scratch';
  });
}

function copies(result: DockerfileAnalysis): Instruction['copy'][] {
  return result.instructions.filter((i) => i.copy !== undefined).map((i) => i.copy);
}

interface Case {
  name: string;
  dockerfile: string;
  options?: AnalyzeOptions;
  bases?: string[];
  names?: (string | undefined)[];
  target?: number;
  needed?: number[];
  /** Each error message in order (by line); none when omitted. */
  errors?: RegExp[];
  copies?: Instruction['copy'][];
  keywords?: string[];
  platforms?: string[];
  check?: (result: DockerfileAnalysis) => void;
}

const cases: Case[] = [
  {
    name: 'a single official image gets docker.io/library and :latest',
    dockerfile: 'FROM alpine\nRUN apk add --no-cache curl\n',
    bases: ['docker.io/library/alpine:latest'],
    target: 0,
    needed: [0],
  },
  {
    name: 'pinned digest with tag',
    dockerfile: `FROM alpine:3.19@${DIGEST}\n`,
    bases: [`docker.io/library/alpine:3.19@${DIGEST}`],
    check: (r) => {
      const base = r.stages[0]?.base;
      assert.equal(base?.kind === 'image' ? base.text : '', `alpine:3.19@${DIGEST}`);
    },
  },
  {
    name: 'digest only, on another registry',
    dockerfile: `FROM ghcr.io/org/team/app@${DIGEST}\n`,
    bases: [`ghcr.io/org/team/app@${DIGEST}`],
  },
  {
    name: 'registry ports and localhost',
    dockerfile: 'FROM localhost:5000/x:1\nFROM registry.example.com:8443/team/app:2.0 AS b\nFROM localhost/only\nFROM [::1]:5000/v6:tag\n',
    bases: ['localhost:5000/x:1', 'registry.example.com:8443/team/app:2.0', 'localhost/only:latest', '[::1]:5000/v6:tag'],
  },
  {
    name: 'nested global ARGs build the whole reference',
    dockerfile: [
      'ARG REGISTRY=ghcr.io',
      'ARG ORG=acme',
      'ARG IMAGE=${REGISTRY}/${ORG}/base',
      'ARG TAG=1.2',
      'ARG REF=${IMAGE}:${TAG}',
      'FROM ${REF}',
    ].join('\n'),
    bases: ['ghcr.io/acme/base:1.2'],
  },
  {
    name: '${V:-default} without and with --build-arg',
    dockerfile: 'ARG VARIANT\nFROM python:${VARIANT:-3.12}-slim\n',
    bases: ['docker.io/library/python:3.12-slim'],
  },
  {
    name: '${V:-default} with --build-arg',
    dockerfile: 'ARG VARIANT\nFROM python:${VARIANT:-3.12}-slim\n',
    options: { buildArgs: { VARIANT: '3.11' } },
    bases: ['docker.io/library/python:3.11-slim'],
  },
  {
    name: '${V:+alt} unset, empty and set',
    dockerfile: 'ARG DEBIAN\nARG EMPTY=\nARG SET=1\nFROM node:20${DEBIAN:+-bookworm}\nFROM node:20${EMPTY:+-bookworm}\nFROM node:20${EMPTY+-bookworm}\nFROM node:20${SET:+-bookworm}\n',
    bases: ['docker.io/library/node:20', 'docker.io/library/node:20', 'docker.io/library/node:20-bookworm', 'docker.io/library/node:20-bookworm'],
  },
  {
    name: '--build-arg overrides a declared global ARG (the value is not expanded)',
    dockerfile: 'ARG TAG=3.18\nARG FULL=alpine:${TAG}\nFROM $FULL\n',
    options: { buildArgs: { TAG: '3.20' } },
    bases: ['docker.io/library/alpine:3.20'],
  },
  {
    name: '--build-arg for an undeclared ARG is ignored',
    dockerfile: 'FROM alpine:${TAG:-3.18}\n',
    options: { buildArgs: { TAG: '3.20' } },
    bases: ['docker.io/library/alpine:3.18'],
  },
  {
    name: 'a later global ARG default sees the earlier overridden one',
    dockerfile: 'ARG A=1\nARG B=${A}-x\nFROM img:$B\n',
    options: { buildArgs: { A: '9' } },
    bases: ['docker.io/library/img:9-x'],
  },
  {
    name: 'stage-local ARGs never leak into later FROMs',
    dockerfile: 'FROM alpine AS a\nARG IMG=busybox\nFROM ${IMG:-debian}\n',
    bases: ['docker.io/library/alpine:latest', 'docker.io/library/debian:latest'],
  },
  {
    name: 'a FROM using a stage-local ARG says where it is declared',
    dockerfile: 'FROM alpine AS a\nARG IMG=busybox\nFROM ${IMG}\n',
    bases: ['docker.io/library/alpine:latest', 'error'],
    errors: [/^FROM on line 3: "\$\{IMG\}" expands to "" \(ARG IMG is declared inside a stage \(line 2\); FROM only sees ARGs declared before the first FROM\)$/],
  },
  {
    name: 'a global ARG re-declared in a stage takes the global value',
    dockerfile: 'ARG VERSION=1.2.3\nFROM alpine\nARG VERSION\nCOPY app-${VERSION}.tar.gz /opt/\n',
    copies: [{ sources: ['app-1.2.3.tar.gz'], destination: '/opt/' }],
  },
  {
    name: 'a global ARG not re-declared is empty inside the stage',
    dockerfile: 'ARG VERSION=1.2.3\nFROM alpine\nCOPY app-${VERSION}.tar.gz /opt/\n',
    copies: [{ sources: ['app-.tar.gz'], destination: '/opt/' }],
  },
  {
    name: '--build-arg reaches a re-declared ARG and a stage ARG with a default',
    dockerfile: 'ARG VERSION=1\nFROM alpine\nARG VERSION\nARG MODE=debug\nCOPY ${MODE}/app-${VERSION} /opt/\n',
    options: { buildArgs: { VERSION: '2', MODE: 'release' } },
    copies: [{ sources: ['release/app-2'], destination: '/opt/' }],
  },
  {
    name: 'stage ARG defaults use earlier ARGs and ENV of the stage',
    dockerfile: 'FROM alpine\nENV ROOT=/srv\nARG A=1\nARG B=${A}-x C=${B}.tgz\nCOPY $C ${ROOT}/${B}/\n',
    copies: [{ sources: ['1-x.tgz'], destination: '/srv/1-x/' }],
  },
  {
    name: 'ENV pairs see the environment before the instruction, not each other',
    dockerfile: 'FROM alpine\nENV A=1\nENV A=2 B=$A\nCOPY $A$B /x\n',
    copies: [{ sources: ['21'], destination: '/x' }],
  },
  {
    name: 'ENV in the legacy "ENV key value" form',
    dockerfile: 'FROM alpine\nENV APP_HOME /srv/my app\nCOPY . "$APP_HOME"\n',
    copies: [{ sources: ['.'], destination: '/srv/my app' }],
  },
  {
    name: 'a stage built FROM another continues its ENV and ARGs',
    dockerfile: 'FROM alpine AS base\nENV DIR=/opt\nARG V=7\nFROM base\nCOPY x-$V $DIR/\n',
    bases: ['docker.io/library/alpine:latest', 'stage 0'],
    copies: [{ sources: ['x-7'], destination: '/opt/' }],
    needed: [0, 1],
  },
  {
    name: 'TARGETARCH in FROM and BUILDPLATFORM for cross compilation',
    dockerfile: [
      'FROM --platform=$BUILDPLATFORM golang:1.22 AS build',
      'ARG TARGETOS TARGETARCH',
      'RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app',
      'COPY ${TARGETARCH}.conf /etc/',
      'FROM gcr.io/distroless/static:nonroot-${TARGETARCH}',
      'COPY --from=build /out/app /app',
    ].join('\n'),
    options: { platform: ARM64, buildPlatform: AMD64 },
    bases: ['docker.io/library/golang:1.22', 'gcr.io/distroless/static:nonroot-arm64'],
    platforms: ['linux/amd64', 'linux/arm64'],
    copies: [{ sources: ['arm64.conf'], destination: '/etc/' }, { sources: ['/out/app'], destination: '/app', from: 'build', fromStage: 0 }],
    needed: [0, 1],
  },
  {
    name: 'TARGETPLATFORM, TARGETVARIANT and --platform',
    dockerfile: 'FROM --platform=$TARGETPLATFORM alpine AS a\nFROM --platform=linux/arm64 base-${TARGETOS}-${TARGETARCH}${TARGETVARIANT}\n',
    options: { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    bases: ['docker.io/library/alpine:latest', 'docker.io/library/base-linux-armv7:latest'],
    platforms: ['linux/arm/v7', 'linux/arm64'],
  },
  {
    name: 'platform ARGs can be overridden by --build-arg',
    dockerfile: 'FROM img-${TARGETARCH}\n',
    options: { buildArgs: { TARGETARCH: 'riscv64' } },
    bases: ['docker.io/library/img-riscv64:latest'],
  },
  {
    name: 'a stage FROM a stage builds for that stage\'s platform',
    dockerfile: 'FROM --platform=linux/arm64 alpine AS a\nFROM a\n',
    bases: ['docker.io/library/alpine:latest', 'stage 0'],
    platforms: ['linux/arm64', 'linux/arm64'],
  },
  {
    name: 'escape directive with a backtick (Windows)',
    dockerfile: [
      '# escape=`',
      '',
      'FROM mcr.microsoft.com/windows/servercore:ltsc2022',
      'SHELL ["powershell", "-Command"]',
      'RUN Write-Host `',
      '    hello',
      'COPY app\\bin C:\\app\\',
      'WORKDIR C:\\app',
    ].join('\r\n'),
    bases: ['mcr.microsoft.com/windows/servercore:ltsc2022'],
    keywords: ['FROM', 'SHELL', 'RUN', 'COPY', 'WORKDIR'],
    copies: [{ sources: ['app\\bin'], destination: 'C:\\app\\' }],
    check: (r) => {
      assert.equal(r.escape, '`');
      const run = r.instructions[2];
      assert.deepEqual([run?.line, run?.endLine, run?.args], [4, 5, ['Write-Host     hello']]);
      assert.deepEqual(r.instructions[1]?.args, ['powershell', '-Command']);
    },
  },
  {
    name: 'the escape directive only counts before anything else',
    dockerfile: 'FROM alpine\n# escape=`\nRUN a `\nRUN b\n',
    keywords: ['FROM', 'RUN', 'RUN'],
    check: (r) => assert.equal(r.escape, '\\'),
  },
  {
    name: 'directives are case-insensitive and may follow syntax and check',
    dockerfile: '# syntax=docker/dockerfile:1\n#check=skip=all\n#ESCAPE = `\nFROM alpine\nRUN a `\n  b\n',
    keywords: ['FROM', 'RUN'],
    check: (r) => assert.equal(r.escape, '`'),
  },
  {
    name: 'an invalid or repeated escape directive is an error',
    dockerfile: '# escape=x\n# escape=\\\nFROM alpine\n',
    errors: [/^line 1: invalid escape token 'x' does not match ` or \\$/, /^line 2: only one escape parser directive can be used$/],
  },
  {
    name: 'heredoc bodies never become instructions',
    dockerfile: [
      'FROM alpine',
      'RUN <<EOF',
      'FROM evil',
      'RUN x',
      'EOF',
      'COPY <<EOF /etc/config',
      'FROM evil2 AS stage',
      'COPY --from=stage / /',
      'EOF',
      'RUN <<-EOT sh',
      '\tFROM tabbed',
      '\tEOT',
      'RUN cat <<\'A\' <<"B" > /both',
      'FROM a',
      'A',
      'RUN b',
      'B',
      'RUN 3<<FD cat /dev/fd/3',
      'FROM fd',
      'FD',
      'RUN << SPACED',
      'FROM spaced',
      'SPACED',
      'ONBUILD RUN <<EOF',
      'FROM onbuild',
      'EOF',
      'USER app',
    ].join('\n'),
    bases: ['docker.io/library/alpine:latest'],
    keywords: ['FROM', 'RUN', 'COPY', 'RUN', 'RUN', 'RUN', 'RUN', 'ONBUILD', 'USER'],
    copies: [{ sources: ['<<EOF'], destination: '/etc/config' }],
    check: (r) => {
      assert.deepEqual(r.instructions.map((i) => [i.line, i.endLine]), [[0, 0], [1, 4], [5, 8], [9, 11], [12, 16], [17, 19], [20, 22], [23, 25], [26, 26]]);
      assert.deepEqual(r.neededStages, [0]);
    },
  },
  {
    name: 'an unterminated heredoc swallows the rest of the file, as BuildKit reads it',
    dockerfile: 'FROM alpine\nRUN <<EOF\nFROM evil\nRUN x\n',
    keywords: ['FROM', 'RUN'],
    errors: [/^line 2: unterminated heredoc <<EOF/],
    check: (r) => assert.equal(r.instructions[1]?.endLine, 4),
  },
  {
    name: 'no heredoc in JSON form, quotes, other instructions, or for another terminator',
    dockerfile: 'FROM alpine\nRUN ["cat", "<<EOF"]\nFROM a\nRUN echo "<<EOF"\nFROM b\nLABEL x=<<EOF\nFROM c\nRUN <<EOF\n  EOF\nEOF\n',
    bases: ['docker.io/library/alpine:latest', 'docker.io/library/a:latest', 'docker.io/library/b:latest', 'docker.io/library/c:latest'],
    check: (r) => assert.deepEqual(r.instructions[r.instructions.length - 1]?.endLine, 9),
  },
  {
    name: 'COPY --from by name (case-insensitive) and by index',
    dockerfile: [
      'FROM golang:1.22 AS build',
      'RUN go build -o /app',
      'FROM alpine:3.19 AS certs',
      'RUN apk add ca-certificates',
      'FROM scratch',
      'COPY --from=build /app /app',
      'COPY --from=1 /etc/ssl/certs /etc/ssl/certs',
      'COPY --from=BUILD --chown=65534:65534 /etc/passwd /etc/passwd',
      'COPY --from=nginx:1.27 /etc/nginx/nginx.conf /etc/nginx/',
    ].join('\n'),
    bases: ['docker.io/library/golang:1.22', 'docker.io/library/alpine:3.19', 'scratch'],
    names: ['build', 'certs', undefined],
    needed: [0, 1, 2],
    copies: [
      { sources: ['/app'], destination: '/app', from: 'build', fromStage: 0 },
      { sources: ['/etc/ssl/certs'], destination: '/etc/ssl/certs', from: '1', fromStage: 1 },
      { sources: ['/etc/passwd'], destination: '/etc/passwd', from: 'BUILD', fromStage: 0 },
      { sources: ['/etc/nginx/nginx.conf'], destination: '/etc/nginx/', from: 'nginx:1.27' },
    ],
    check: (r) => assert.deepEqual(r.instructions[7]?.flags, { from: ['BUILD'], chown: ['65534:65534'] }),
  },
  {
    name: 'COPY --from problems: variables, bad index, later and own stage',
    dockerfile: 'ARG SRC=build\nFROM alpine AS build\nCOPY --from=$SRC /a /a\nCOPY --from=7 /a /a\nCOPY --from=build /b /b\nCOPY --from=later /c /c\nFROM alpine AS later\n',
    errors: [
      /^COPY on line 3: variable expansion is not supported for --from/,
      /^COPY on line 4: invalid stage index 7/,
      /^COPY on line 5: circular dependency detected on stage: build/,
      /^COPY on line 6: cannot copy from stage "later", it needs to be defined before current stage "build"$/,
    ],
  },
  {
    name: '--target and the transitive closure of FROM stage, COPY --from and RUN --mount from=',
    dockerfile: [
      'FROM node:20 AS deps',
      'RUN npm ci',
      'FROM deps AS build',
      'COPY --from=deps /a /b',
      'FROM build AS test',
      'FROM alpine AS tools',
      'FROM nginx AS prod',
      'COPY --from=build /dist /usr/share/nginx/html',
      'RUN --mount=type=bind,from=tools,source=/bin,target=/tools ls /tools',
      'RUN --mount=type=cache,target=/root/.cache true',
      'FROM alpine AS unused',
    ].join('\n'),
    options: { target: 'prod' },
    target: 4,
    needed: [0, 1, 3, 4],
    check: (r) => {
      assert.deepEqual(r.instructions[8]?.flags, { mount: ['type=bind,from=tools,source=/bin,target=/tools'] });
      assert.equal(analyze(r.instructions.map(() => '').join(''), {}).targetStage, -1);
    },
  },
  {
    name: '--target matches case-insensitively; an index is refused, as both builders refuse it',
    dockerfile: 'FROM node:20 AS deps\nFROM deps AS Test\nFROM alpine AS prod\n',
    options: { target: 'TEST' },
    target: 1,
    needed: [0, 1],
    check: (r) => {
      const text = 'FROM node:20 AS deps\nFROM deps AS Test\nFROM alpine AS prod\n';
      const byIndex = analyze(text, { target: '0' });
      assert.deepEqual([byIndex.targetStage, byIndex.errors.length, analyze(text).targetStage, analyze(text).neededStages], [2, 1, 2, [2]]);
      assert.equal(r.stages[1]?.name, 'Test');
    },
  },
  {
    name: 'an unknown --target is an error (and the last stage stays the target)',
    dockerfile: 'FROM alpine AS a\nFROM alpine AS b\n',
    options: { target: 'nope' },
    target: 1,
    errors: [/^--target "nope": no such stage \(stages: a, b\)$/],
  },
  {
    name: 'ONBUILD COPY --from in a base stage becomes a dependency of stages built on it',
    dockerfile: 'FROM alpine AS assets\nFROM alpine AS base\nONBUILD COPY --from=assets /a /a\nFROM base AS app\nFROM alpine AS other\n',
    options: { target: 'app' },
    needed: [0, 1, 2],
  },
  {
    name: 'unresolvable FROMs, with line numbers and reasons',
    dockerfile: 'ARG BASE\nFROM ${BASE}\nFROM alpine:${MISSING}\nFROM Alpine\nFROM ubuntu:22.04 AS ok\nFROM ${REQUIRED:?set-REQUIRED}\n',
    bases: ['error', 'error', 'error', 'docker.io/library/ubuntu:22.04', 'error'],
    errors: [
      /^FROM on line 2: "\$\{BASE\}" expands to "" \(ARG BASE has no value; pass --build-arg BASE=\.\.\.\)$/,
      /^FROM on line 3: "alpine:\$\{MISSING\}" expands to "alpine:", which is not a valid image reference: tag is empty \(MISSING is not declared; add ARG MISSING before the first FROM\)$/,
      /^FROM on line 4: "Alpine" is not a valid image reference: repository name "Alpine" must be lowercase$/,
      /^FROM on line 6: failed to process ".*": REQUIRED: set-REQUIRED$/,
    ],
    check: (r) => {
      assert.equal(r.stages[0]?.error, r.errors[0]?.message);
      assert.deepEqual(r.errors.map((e) => e.line), [1, 2, 3, 5]);
      assert.deepEqual(r.errors[1]?.range, { start: { line: 2, character: 5 }, end: { line: 2, character: 22 } });
    },
  },
  {
    name: 'FROM names a stage only by its lower-cased name, as BuildKit',
    dockerfile: 'FROM alpine AS Builder\nFROM builder\nFROM Builder\n',
    bases: ['docker.io/library/alpine:latest', 'stage 0', 'error'],
    errors: [/^FROM on line 3: "Builder" is not a valid image reference: .* Docker matches stage names in FROM in lower case only: FROM builder$/],
  },
  {
    name: 'FROM a name only a later stage has is the image of that name; FROM x AS x is the image x',
    dockerfile: 'FROM base AS app\nFROM alpine AS base\nFROM nginx AS nginx\n',
    bases: ['docker.io/library/base:latest', 'docker.io/library/alpine:latest', 'docker.io/library/nginx:latest'],
  },
  {
    name: 'FROM through an ARG can name a stage',
    dockerfile: 'ARG FLAVOR=slim\nFROM debian AS base-slim\nFROM debian AS base-full\nFROM base-${FLAVOR}\n',
    bases: ['docker.io/library/debian:latest', 'docker.io/library/debian:latest', 'stage 0'],
    needed: [0, 2],
  },
  {
    name: 'FROM argument count and stage names',
    dockerfile: 'FROM\nFROM alpine as\nFROM alpine AS 1bad\nFROM alpine AS ok-name_1.x\n',
    errors: [/^FROM on line 1: FROM requires an image/, /^FROM on line 2: FROM requires either one or three arguments/, /^FROM on line 3: invalid name for build stage: "1bad"/],
    bases: ['error', 'docker.io/library/alpine:latest', 'docker.io/library/alpine:latest', 'docker.io/library/alpine:latest'],
    names: [undefined, undefined, '1bad', 'ok-name_1.x'],
    check: (r) => assert.deepEqual(r.stages.map((s) => s.error !== undefined), [true, true, true, false]),
  },
  {
    name: 'an empty or invalid --platform is an error; the stage keeps the target platform',
    dockerfile: 'ARG P\nFROM --platform=$P alpine\nFROM --platform=linux/x/y/z alpine\n',
    errors: [/^FROM on line 2: --platform="\$P" expands to "" \(ARG P has no value/, /^FROM on line 3: --platform="linux\/x\/y\/z" is not a valid platform/],
    platforms: ['linux/amd64', 'linux/amd64'],
  },
  {
    name: 'instructions before the first FROM and unknown instructions',
    dockerfile: 'RUN echo hi\nFROM alpine\nFORM x\nRUN --mount echo\nCOPY onlyone\n',
    errors: [/^RUN on line 1: no build stage in current context/, /^FORM on line 3: unknown instruction: FORM$/, /^RUN on line 4: missing a value on flag: mount/, /^COPY on line 5: COPY requires at least two arguments/],
    keywords: ['RUN', 'FROM', 'FORM', 'RUN', 'COPY'],
    check: (r) => assert.deepEqual(r.instructions.map((i) => i.stage), [-1, 0, 0, 0, 0]),
  },
  {
    name: 'ARG, ENV and LABEL argument errors are reported once',
    dockerfile: 'ARG\nARG =x\nFROM alpine\nARG\nENV\nENV A\nLABEL =v\nENV a=b c\n',
    errors: [
      /^ARG on line 1: ARG requires at least one argument$/,
      /^ARG on line 2: ARG names can not be blank$/,
      /^ARG on line 4: ARG requires at least one argument$/,
      /^ENV on line 5: ENV requires at least one argument$/,
      /^ENV on line 6: ENV must have two arguments$/,
      /^LABEL on line 7: LABEL names can not be blank$/,
      /^ENV on line 8: Syntax error - can't find = in "c". Must be of the form: name=value$/,
    ],
  },
  {
    name: 'continuations, comments and empty lines inside them',
    dockerfile: 'FROM alpine\nRUN apk add \\\n  curl \\\n  # a comment\n\n  git\nEXPOSE 80\n',
    keywords: ['FROM', 'RUN', 'EXPOSE'],
    check: (r) => {
      const run = r.instructions[1];
      assert.deepEqual([run?.line, run?.endLine, run?.args], [1, 5, ['apk add   curl   git']]);
      assert.deepEqual(run?.range, { start: { line: 1, character: 0 }, end: { line: 5, character: 5 } });
    },
  },
  {
    name: 'an escaped escape at the end of a line does not continue it',
    dockerfile: 'FROM alpine\nRUN echo \\\\\nRUN two\n',
    keywords: ['FROM', 'RUN', 'RUN'],
  },
  {
    name: 'the image word may span a continuation; its range follows it',
    dockerfile: 'FROM \\\n  --platform=linux/arm64 \\\n  alp\\\nine:3.19 \\\n  AS base\n',
    bases: ['docker.io/library/alpine:3.19'],
    names: ['base'],
    platforms: ['linux/arm64'],
    check: (r) => {
      assert.equal(r.stages[0]?.imageText, 'alpine:3.19');
      assert.deepEqual(r.stages[0]?.imageRange, { start: { line: 2, character: 2 }, end: { line: 3, character: 8 } });
      assert.deepEqual([r.stages[0]?.line, r.instructions[0]?.endLine], [0, 4]);
    },
  },
  {
    name: 'instruction keywords in any case, flags, JSON and shell forms',
    dockerfile: [
      'from alpine as base',
      'copy --chown=${UID:-1000}:app --chmod=755 --link ["a b", "/x y/"]',
      'Add --checksum=sha256:abc https://example.com/f.tgz /tmp/',
      'Run ["/bin/sh", "-c", "echo hi"]',
      'CMD echo "$HOME"',
      'HEALTHCHECK --interval=5s CMD curl -f http://localhost/ || exit 1',
      'LABEL a=b "c d"="e f"',
      'EXPOSE 80/tcp 443',
      'ONBUILD RUN make',
    ].join('\n'),
    keywords: ['FROM', 'COPY', 'ADD', 'RUN', 'CMD', 'HEALTHCHECK', 'LABEL', 'EXPOSE', 'ONBUILD'],
    names: ['base'],
    copies: [{ sources: ['a b'], destination: '/x y/' }, { sources: ['https://example.com/f.tgz'], destination: '/tmp/' }],
    check: (r) => {
      const [, copy, add, run, cmd, health, label, expose, onbuild] = r.instructions;
      assert.deepEqual(copy?.flags, { chown: ['1000:app'], chmod: ['755'], link: [''] });
      assert.deepEqual(add?.flags, { checksum: ['sha256:abc'] });
      assert.deepEqual(run?.args, ['/bin/sh', '-c', 'echo hi']);
      assert.deepEqual(cmd?.args, ['echo "$HOME"']);
      assert.deepEqual([health?.flags, health?.args], [{ interval: ['5s'] }, ['CMD', 'curl -f http://localhost/ || exit 1']]);
      assert.deepEqual(label?.args, ['a', 'b', '"c d"', '"e f"']);
      assert.deepEqual(expose?.args, ['80/tcp', '443']);
      assert.deepEqual(onbuild?.args, ['RUN', 'make']);
      assert.deepEqual(r.instructions.map((i) => i.createsLayer), [false, true, true, true, false, false, false, false, false]);
    },
  },
  {
    name: 'RUN --mount values are expanded; from= is not',
    dockerfile: 'FROM alpine AS tools\nFROM alpine\nARG CACHE=/root/.cache\nRUN --mount=type=cache,target=${CACHE},id=x --mount=from=tools,target=/t true\nRUN --mount=from=$X,target=/y true\n',
    needed: [0, 1],
    errors: [/^RUN on line 5: 'from' doesn't support variable expansion, define alias stage instead$/],
    check: (r) => assert.deepEqual(r.instructions[3]?.flags, { mount: ['type=cache,target=/root/.cache,id=x', 'from=tools,target=/t'] }),
  },
  {
    name: 'COPY heredoc destination and source expansion errors',
    dockerfile: 'FROM alpine\nCOPY a <<EOF\nx\nEOF\nCOPY "a b" /c\nCOPY ${X:?need-X} /\n',
    errors: [/^COPY on line 2: COPY cannot accept a heredoc as a destination$/, /^COPY on line 5: failed to process "\\"a": unexpected end of statement while looking for matching double-quote$/, /^COPY on line 6: failed to process .*X: need-X$/],
  },
  {
    name: 'BOM and CRLF line endings',
    dockerfile: '\uFEFFFROM alpine:3.19\r\nRUN echo hi\r\n\r\nCOPY a b\r\n',
    keywords: ['FROM', 'RUN', 'COPY'],
    bases: ['docker.io/library/alpine:3.19'],
    check: (r) => assert.deepEqual(r.instructions.map((i) => i.line), [0, 1, 3]),
  },
  {
    name: 'no FROM at all',
    dockerfile: 'ARG A=1\n# just a comment\n',
    target: -1,
    needed: [],
    errors: [/^the Dockerfile has no FROM instruction/],
  },
  {
    name: 'an empty file',
    dockerfile: '',
    target: -1,
    needed: [],
    errors: [/^the Dockerfile has no instructions/],
    check: (r) => assert.deepEqual([r.stages, r.instructions, r.escape], [[], [], '\\']),
  },
  {
    name: 'a real-world multi-stage Node.js Dockerfile',
    dockerfile: [
      '# syntax=docker/dockerfile:1.7',
      'ARG NODE_VERSION=20.11.1',
      'ARG ALPINE_VERSION=3.19',
      '',
      'FROM node:${NODE_VERSION}-alpine${ALPINE_VERSION} AS base',
      'WORKDIR /usr/src/app',
      '',
      'FROM base AS deps',
      'RUN --mount=type=bind,source=package.json,target=package.json \\',
      '    --mount=type=bind,source=package-lock.json,target=package-lock.json \\',
      '    --mount=type=cache,target=/root/.npm \\',
      '    npm ci --omit=dev',
      '',
      'FROM deps AS build',
      'RUN --mount=type=cache,target=/root/.npm npm ci',
      'COPY . .',
      'RUN npm run build',
      '',
      'FROM base AS final',
      'ENV NODE_ENV=production',
      'USER node',
      'COPY package.json .',
      'COPY --from=deps /usr/src/app/node_modules ./node_modules',
      'COPY --from=build /usr/src/app/dist ./dist',
      'EXPOSE 3000',
      'CMD ["node", "dist/index.js"]',
    ].join('\n'),
    bases: ['docker.io/library/node:20.11.1-alpine3.19', 'stage 0', 'stage 1', 'stage 0'],
    names: ['base', 'deps', 'build', 'final'],
    target: 3,
    needed: [0, 1, 2, 3],
    check: (r) => {
      const deps = r.instructions.find((i) => i.line === 8);
      assert.equal(deps?.endLine, 11);
      assert.equal(deps?.flags.mount?.length, 3);
      assert.deepEqual(r.stages.map((s) => s.line), [4, 7, 13, 18]);
    },
  },
];

void describe('analyzeDockerfile: real-world Dockerfiles', () => {
  for (const c of cases) {
    void test(c.name, () => {
      const result = analyze(c.dockerfile, c.options);
      const errors = result.errors.map((e) => e.message);
      if (c.errors === undefined) assert.deepEqual(errors, []);
      else {
        assert.equal(errors.length, c.errors.length, `errors: ${JSON.stringify(errors, null, 2)}`);
        c.errors.forEach((re, i) => assert.match(errors[i] ?? '', re));
      }
      if (c.bases !== undefined) assert.deepEqual(bases(result), c.bases);
      if (c.names !== undefined) assert.deepEqual(result.stages.map((s) => s.name), c.names);
      if (c.target !== undefined) assert.equal(result.targetStage, c.target);
      if (c.needed !== undefined) assert.deepEqual(result.neededStages, c.needed);
      if (c.copies !== undefined) assert.deepEqual(copies(result), c.copies);
      if (c.keywords !== undefined) assert.deepEqual(result.instructions.map((i) => i.keyword), c.keywords);
      if (c.platforms !== undefined) assert.deepEqual(result.stages.map((s) => formatPlatform(s.platform)), c.platforms);
      c.check?.(result);
      // Invariants of every result.
      result.instructions.forEach((i, index) => {
        assert.equal(i.index, index);
        assert.ok(i.endLine >= i.line);
        assert.ok(i.stage >= -1 && i.stage < result.stages.length);
      });
      // No base means an error; an error may still come with a base (a bad --platform, say).
      for (const stage of result.stages) if (stage.base === undefined) assert.ok(stage.error !== undefined, `stage ${stage.index}`);
      assert.deepEqual(result.errors.map((e) => e.line), result.errors.map((e) => e.range.start.line));
    });
  }
});

void describe('analyzeDockerfile: defaults', () => {
  void test('without options the platforms are the host\'s linux platform', () => {
    const result = analyzeDockerfile('FROM img-${TARGETOS}-${BUILDOS}\n');
    assert.equal(formatReference((result.stages[0]?.base as { ref: Parameters<typeof formatReference>[0] }).ref), 'docker.io/library/img-linux-linux:latest');
    assert.equal(result.stages[0]?.platform.os, 'linux');
  });
});

/** Deterministic pseudo-random bytes. */

void describe('analyzeDockerfile: garbage in, a result out', () => {
  const inputs: [string, string][] = [
    ['binary garbage', randomText(200_000, 1)],
    ['UTF-16 garbage with lone surrogates', randomText(50_000, 2, 0x10000)],
    ['NUL bytes', 'FROM alpine\u0000\nRUN \u0000\u0000\n\u0000'],
    ['only continuations', '\\\n'.repeat(1000)],
    ['only heredoc openers', 'FROM a\nRUN <<A <<B <<C\n'],
    ['unbalanced quotes and braces', 'FROM "a\nCOPY \'x "y ${ ${{ /\nENV A="\nARG B=\'\nLABEL "x\n'],
    ['flags only', 'FROM --\nCOPY -- --from=\nRUN --mount=type=bind,"from\n'],
    ['JSON that is not strings', 'FROM a\nRUN [1, 2]\nCMD [null]\nCOPY [{}]\nSHELL []\n'],
    ['10k continuation lines', `FROM alpine\nRUN a \\\n${'  b \\\n'.repeat(10_000)}  c\n`],
    ['a megabyte line', `FROM alpine\nRUN ${'x'.repeat(1 << 20)}\n`],
    ['deep ${ nesting', `FROM ${'${a:-'.repeat(50_000)}x\n`],
  ];
  for (const [name, text] of inputs) {
    void test(`${name}: no exception, consistent result`, () => {
      const result = analyzeDockerfile(text);
      assert.ok(Array.isArray(result.stages) && Array.isArray(result.instructions) && Array.isArray(result.errors));
      for (const error of result.errors) assert.ok(!error.message.includes('internal error'), error.message);
      for (const instruction of result.instructions) assert.ok(instruction.endLine >= instruction.line);
    });
  }
  void test('random mutations of real Dockerfiles never throw', () => {
    const base = cases.map((c) => c.dockerfile).join('\n');
    let state = 7;
    for (let round = 0; round < 300; round++) {
      const chars = base.split('');
      for (let k = 0; k < 20; k++) {
        state = (state * 1103515245 + 12345) & 0x7fffffff;
        const at = state % chars.length;
        state = (state * 1103515245 + 12345) & 0x7fffffff;
        chars[at] = '\\`$\'"{}<>-=#\n \t:@/'.charAt(state % 20);
      }
      const result = analyzeDockerfile(chars.join(''), { target: 'build' });
      for (const error of result.errors) assert.ok(!error.message.includes('internal error'), error.message);
    }
  });
  void test('lines longer than BuildKit reads (64 KiB) are reported', () => {
    const result = analyzeDockerfile(`FROM alpine\nRUN ${'x'.repeat(70_000)}\n`);
    assert.deepEqual(result.errors.map((e) => e.message), ['line 2: the line is longer than 65535 bytes, the most docker build reads']);
  });
});
