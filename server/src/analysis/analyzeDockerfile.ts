// A Dockerfile analysed the way BuildKit's Dockerfile frontend reads it (moby/buildkit
// frontend/dockerfile: parser, instructions, dockerfile2llb/convert.go): stages and their base
// images with ARG expansion, the instructions with their flags and COPY sources, the target and
// the stages it needs, and every problem that would make `docker build` fail. Pure: no I/O.
// Never throws and stays linear in the input, so it can run on every keystroke.
//
// Not known here, so not modelled: the ENV of base images (variables they define expand to ""
// in COPY paths), named build contexts (--build-context), and ONBUILD triggers of base images.
import type { AnalyzeOptions, DockerfileAnalysis, Instruction, Stage } from './types';
import { AnalysisContext, type StageDraft } from './analysisContext';
import { parseDockerfile, type LogicalInstruction } from './dockerfileParser';
import { checkFlags, flagValues, processStage } from './stageInstructions';
import { draftStage, globalScope, resolveFrom } from './stages';
import { truncate } from './lexChars';

const KNOWN_INSTRUCTIONS = new Set([
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL',
  'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
]);
const LAYER_INSTRUCTIONS = new Set(['RUN', 'COPY', 'ADD']);

export function analyzeDockerfile(text: string, options: AnalyzeOptions = {}): DockerfileAnalysis {
  try {
    return analyze(typeof text === 'string' ? text : '', options ?? {});
  } catch (error) {
    // A bug of ours, not a problem of the Dockerfile: still an answer, never an exception.
    const reason = error instanceof Error ? error.message : String(error);
    const range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
    return {
      stages: [],
      instructions: [],
      targetStage: -1,
      neededStages: [],
      errors: [{ line: 0, range, message: `internal error while analysing the Dockerfile: ${reason}` }],
      escape: '\\',
    };
  }
}

/** instructions/parse.go argument checks that make `docker build` fail. */
function checkArguments(ctx: AnalysisContext, instruction: LogicalInstruction): void {
  const parsed = instruction.parsed;
  const keyword = ctx.keyword(instruction);
  const count = parsed.args.length;
  const fail = (reason: string): void => void ctx.fail(instruction, reason);
  switch (keyword) {
    case 'ADD':
    case 'COPY':
      if (count < 2) fail(`${keyword} requires at least two arguments: ${keyword} [flags] <src>... <dest>`);
      break;
    case 'ARG':
    case 'ENV':
    case 'LABEL':
      if (parsed.error !== undefined) break;
      if (count === 0) fail(`${keyword} requires at least one argument`);
      else if ((parsed.pairs ?? []).some((pair) => pair.key === '')) fail(`${keyword} names can not be blank`);
      break;
    case 'EXPOSE':
    case 'VOLUME':
    case 'HEALTHCHECK':
    case 'ONBUILD':
      if (count === 0) fail(`${keyword} requires at least one argument`);
      break;
    case 'MAINTAINER':
    case 'USER':
    case 'WORKDIR':
    case 'STOPSIGNAL':
      if (count !== 1) fail(`${keyword} requires exactly one argument`);
      break;
    case 'SHELL':
      if (!parsed.json) fail('SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/sh", "-c"]');
      break;
    default:
      break;
  }
  if (keyword === 'ONBUILD' && parsed.child !== undefined) {
    const trigger = parsed.child.command.toUpperCase();
    if (trigger === 'ONBUILD') fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
    else if (trigger === 'FROM' || trigger === 'MAINTAINER') fail(`${trigger} isn't allowed as an ONBUILD trigger`);
  }
}

function analyze(text: string, options: AnalyzeOptions): DockerfileAnalysis {
  const doc = parseDockerfile(text);
  const ctx = new AnalysisContext(doc, options);
  for (const problem of doc.problems) ctx.error(ctx.range(problem.start, problem.end), problem.message);

  // Instructions to stages: ARGs before the first FROM are the global scope.
  const metaArgs: LogicalInstruction[] = [];
  const stageOf = new Map<LogicalInstruction, number>();
  for (const instruction of doc.instructions) {
    const keyword = ctx.keyword(instruction);
    if (!KNOWN_INSTRUCTIONS.has(keyword)) {
      ctx.fail(instruction, `unknown instruction: ${truncate(instruction.parsed.command, 40)}`);
    } else if (instruction.parsed.error !== undefined) {
      ctx.fail(instruction, instruction.parsed.error);
    } else {
      checkFlags(ctx, instruction);
      checkArguments(ctx, instruction);
    }
    if (keyword === 'FROM') {
      ctx.stages.push(draftStage(ctx, instruction, ctx.stages.length));
    } else {
      const current = ctx.stages[ctx.stages.length - 1];
      if (current !== undefined) current.body.push(instruction);
      else if (keyword === 'ARG') metaArgs.push(instruction);
      else if (KNOWN_INSTRUCTIONS.has(keyword)) ctx.fail(instruction, 'no build stage in current context: only ARG may come before the first FROM');
    }
    stageOf.set(instruction, ctx.stages.length - 1);
  }
  const lastStage = ctx.stages.length - 1;
  if (lastStage < 0) {
    const range = ctx.range(0, 0);
    ctx.error(range, doc.instructions.length === 0 ? 'the Dockerfile has no instructions; it needs at least a FROM' : 'the Dockerfile has no FROM instruction, so no stage to build');
  }

  // --target: a stage name (case-insensitive, as BuildKit). Both builders refuse an index.
  let targetStage = lastStage;
  let targetName = ctx.stages[lastStage]?.name ?? '';
  const wanted = options.target;
  if (wanted !== undefined && wanted !== '' && lastStage >= 0) {
    const byName = ctx.stageByName(wanted);
    if (byName !== undefined) {
      targetStage = byName.index;
      targetName = wanted;
    } else {
      const names = ctx.stages.flatMap((s) => (s.name !== undefined ? [s.name] : []));
      const known = names.length > 0 ? `stages: ${names.join(', ')}` : 'no stage has a name';
      ctx.error(ctx.range(0, 0), `--target ${JSON.stringify(truncate(wanted))}: no such stage (${known})`);
    }
  }

  const scope = globalScope(ctx, metaArgs, targetName);
  // Stage-local ARG names, so a FROM using one can say where it is declared.
  for (const stage of ctx.stages) {
    for (const instruction of stage.body) {
      if (ctx.keyword(instruction) !== 'ARG') continue;
      for (const pair of instruction.parsed.pairs ?? []) {
        if (!scope.stageLocal.has(pair.key)) scope.stageLocal.set(pair.key, ctx.position(instruction.start).line);
      }
    }
  }
  for (const stage of ctx.stages) {
    resolveFrom(ctx, stage, scope);
    if (stage.base?.kind === 'stage') {
      const base = ctx.stages[stage.base.index];
      if (base !== undefined) {
        stage.env = new Map(base.env);
        for (const dep of base.onbuildDeps) stage.deps.add(dep);
      }
    }
    processStage(ctx, stage, scope);
  }

  const instructions: Instruction[] = doc.instructions.map((li, index) => {
    const keyword = ctx.keyword(li);
    const range = ctx.instructionRange(li);
    const details = ctx.details.get(li);
    const instruction: Instruction = {
      index,
      stage: stageOf.get(li) ?? -1,
      keyword,
      line: range.start.line,
      endLine: Math.max(range.start.line, li.endLine),
      range,
      flags: details?.flags ?? flagValues(li.parsed.flags),
      args: li.parsed.args,
      createsLayer: LAYER_INSTRUCTIONS.has(keyword),
    };
    if (details?.copy !== undefined) instruction.copy = details.copy;
    return instruction;
  });

  ctx.errors.sort((a, b) => a.line - b.line);
  return {
    stages: ctx.stages.map(publicStage),
    instructions,
    targetStage,
    neededStages: neededStages(ctx.stages, targetStage),
    errors: ctx.errors,
    escape: ctx.escape,
  };
}

/** The target and, transitively, every stage it needs; ascending. */
function neededStages(stages: StageDraft[], target: number): number[] {
  if (target < 0) return [];
  const seen = new Set<number>([target]);
  const queue = [target];
  while (queue.length > 0) {
    const stage = stages[queue.pop() ?? 0];
    for (const dep of stage?.deps ?? []) {
      if (!seen.has(dep)) {
        seen.add(dep);
        queue.push(dep);
      }
    }
  }
  return [...seen].sort((a, b) => a - b);
}

function publicStage(draft: StageDraft): Stage {
  const stage: Stage = {
    index: draft.index,
    line: draft.line,
    range: draft.range,
    imageRange: draft.imageRange,
    imageText: draft.imageText,
    platform: draft.platform,
  };
  if (draft.name !== undefined) stage.name = draft.name;
  if (draft.base !== undefined) stage.base = draft.base;
  if (draft.error !== undefined) stage.error = draft.error;
  return stage;
}
