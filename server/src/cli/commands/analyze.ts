// `layerlift analyze DOCKERFILE`: what the editor shows, as a table or JSON — the resolved bases,
// every layer with its estimated size, and (with --image) what a push would upload. The context
// is read under the .dockerignore walk rules of the builder `docker build` would use here
// (chooseBuilder: DOCKER_BUILDKIT, buildx), and the JSON says which.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { formatPlatform, parsePlatform } from '../../core/platform';
import { formatReference, parseReference } from '../../core/reference';
import { formatBytes } from '../../core/format';
import { analyzeDockerfile } from '../../analysis/analyzeDockerfile';
import { buildDocumentView, type DocumentView, type LayerEstimate } from '../../analysis/documentView';
import { estimateCopy } from '../../analysis/copyEstimate';
import type { DockerfileAnalysis, Instruction, ResolvedBase } from '../../analysis/types';
import { ContextScanner } from '../../context/contextScanner';
import { ignoreRulesFor, type BuilderKind } from '../../analysis/builderChoice';
import type { IgnoreRules } from '../../analysis/dockerignore';
import { chooseBuilder } from '../../push/builder';
import { RegistryState } from '../../remote/registryState';
import { makeClient, parseBuildArgs, parseCommandArgs, registryFlags, registryFlagsHelp } from '../options';
import { UsageError } from '../usageError';
import type { CommandIO } from '../io';

export const analyzeHelp = `Usage: layerlift analyze DOCKERFILE [--context DIR] [--build-arg K=V]... [--target STAGE]
                        [--platform OS/ARCH] [--image REF] [--offline] [--json]

Resolves every FROM as docker build would (ARGs, stages, platforms), lists the instructions
that create layers with their estimated sizes (COPY/ADD from the build context, .dockerignore
applied as the builder docker would use applies it: BuildKit's rules, or the legacy builder's
with DOCKER_BUILDKIT=0 or without buildx), and with --image shows which base layers the target
registry already holds and what a push would send.

Options:
  --context DIR                    build context (default: the Dockerfile's folder)
  --build-arg K=V                  a build argument (repeatable)
  --target STAGE                   the stage to build (default: the last)
  --platform OS/ARCH[/VARIANT]     the platform to build for (default: this machine's)
  --image REF                      the target image a push would go to
  --offline                        do not ask any registry
${registryFlagsHelp}`;

export async function runAnalyze(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('analyze', args, {
    ...registryFlags,
    context: { type: 'string' },
    'build-arg': { type: 'string', multiple: true },
    target: { type: 'string' },
    platform: { type: 'string' },
    image: { type: 'string' },
    offline: { type: 'boolean' },
  });
  if (values.help) {
    io.stdout(analyzeHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`analyze takes one Dockerfile, got ${positionals.length}`, 'analyze');
  const file = resolve(positionals[0] as string);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${positionals[0]}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'analyze');
  }
  const buildArgs = parseBuildArgs(values['build-arg'], 'analyze');
  const platform = values.platform ? parsePlatform(values.platform) : undefined;
  const target = values.image ? parseReference(values.image) : undefined;
  const analysis = analyzeDockerfile(text, { buildArgs, target: values.target, platform });

  const builder = await chooseBuilder(io.env);
  const contextRoot = resolve(values.context ?? dirname(file));
  const scanner = new ContextScanner(contextRoot, { ignoreRules: ignoreRulesFor(builder) });
  await scanner.scan();
  const context: ContextInfo = { path: contextRoot, builder, dockerignoreRules: scanner.ignoreRules() };
  const estimate = (instruction: Instruction): LayerEstimate => {
    if (!instruction.copy || instruction.copy.from !== undefined || instruction.copy.sources.some((s) => s.startsWith('<<'))) return { bytes: null, compressedBytes: null, basis: 'unknown' };
    const e = estimateCopy(scanner.snapshot(), instruction.copy.sources, { destination: instruction.copy.destination, add: instruction.keyword === 'ADD' });
    return e.basis === 'unknown' ? { bytes: null, compressedBytes: null, basis: 'unknown' } : { bytes: e.bytes, compressedBytes: e.compressedBytes, basis: 'context' };
  };
  const client = makeClient(values['insecure-registry'], io.env);
  try {
    const state = new RegistryState(client);
    const facts = {
      baseImage: values.offline ? () => ({ state: 'unknown' as const }) : state.baseImage.bind(state),
      blobPresent: values.offline ? () => ({ state: 'unknown' as const }) : state.blobPresent.bind(state),
      isUnreachable: (registry: string) => state.unreachable.has(registry),
      estimate,
    };
    // Two rounds: the first learns the base layers, the second asks the target about them.
    let view = buildDocumentView(analysis, facts, { target });
    await state.settled();
    view = buildDocumentView(analysis, facts, { target });
    await state.settled();
    view = buildDocumentView(analysis, facts, { target });
    io.stdout(values.json ? JSON.stringify(analysisJson(analysis, view, context), null, 2) : renderAnalysis(analysis, view));
    return analysis.errors.length > 0 ? 1 : 0;
  } finally {
    await client.close();
  }
}

function baseString(base: ResolvedBase | undefined): string | null {
  if (!base) return null;
  if (base.kind === 'scratch') return 'scratch';
  if (base.kind === 'stage') return `stage:${base.index}`;
  return formatReference(base.ref);
}

/** The build context as read: where, for which builder, under whose .dockerignore rules. */
export interface ContextInfo {
  path: string;
  builder: BuilderKind;
  dockerignoreRules: IgnoreRules;
}

export function analysisJson(analysis: DockerfileAnalysis, view: DocumentView, context?: ContextInfo) {
  return {
    stages: analysis.stages.map((s) => ({ index: s.index, name: s.name ?? null, line: s.line + 1, base: baseString(s.base), platform: formatPlatform(s.platform) })),
    target: analysis.targetStage,
    image: view.target ? formatReference(view.target.ref) : null,
    instructions: analysis.instructions.map((i) => {
      const layer = view.layers.find((l) => l.instruction.index === i.index);
      return { line: i.line + 1, stage: i.stage, instruction: i.keyword, layer: i.createsLayer, estimate: layer ? { bytes: layer.estimate.bytes, compressedBytes: layer.estimate.compressedBytes, basis: layer.estimate.basis } : null };
    }),
    bases: view.stages.filter((s) => s.base?.state === 'known').map((s) => ({ stage: s.stage.index, layers: s.base?.state === 'known' ? s.base.rows : [] })),
    totals: view.target ? view.totals : null,
    context: context ?? null,
    errors: analysis.errors.map((e) => ({ line: e.line + 1, message: e.message })),
  };
}

export function renderAnalysis(analysis: DockerfileAnalysis, view: DocumentView): string {
  const out: string[] = [];
  for (const stage of view.stages) {
    const s = stage.stage;
    const size = stage.base?.state === 'known' ? ` · ${stage.base.rows.length} layers · ${formatBytes(stage.base.compressedBytes)}` : stage.base?.state === 'error' ? ` · ${stage.base.message}` : '';
    out.push(`Stage ${s.index}${s.name ? ` (${s.name})` : ''}, line ${s.line + 1}: FROM ${baseString(s.base) ?? `<unresolved: ${s.error ?? '?'}>`} [${formatPlatform(s.platform)}]${size}${s.index === analysis.targetStage ? '  ← target' : ''}`);
    for (const layer of view.layers.filter((l) => l.instruction.stage === s.index)) {
      const e = layer.estimate;
      const figure = e.compressedBytes === null ? 'size after build' : `${formatBytes(e.bytes ?? 0)} (~${formatBytes(e.compressedBytes)} compressed, est.)`;
      out.push(`  line ${String(layer.instruction.line + 1).padStart(4)}  ${layer.instruction.keyword.padEnd(5)} ${figure}`);
    }
  }
  if (view.target) {
    const t = view.totals;
    out.push('', `A push to ${view.target.text} would upload ${formatBytes(t.uploadBytes)} of ${formatBytes(t.totalBytes)}${t.unknownLayers ? ` (+ ${t.unknownLayers} layer${t.unknownLayers === 1 ? '' : 's'} measured after a build)` : ''}.`);
  }
  for (const error of analysis.errors) out.push(`error: line ${error.line + 1}: ${error.message}`);
  return out.join('\n');
}
