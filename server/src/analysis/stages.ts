// FROM lines as BuildKit resolves them (dockerfile2llb convert.go toDispatchState,
// buildDispatchStates, buildMetaArgs, defaultArgs; instructions/parse.go parseFrom): the global
// scope (automatic platform ARGs, then the ARGs before the first FROM with --build-arg
// overrides), the image word and --platform expanded in it, and the base: an earlier stage,
// scratch, or an image reference.
import { parseReference, InvalidReferenceError } from '../core/reference';
import { formatPlatform, parsePlatform, InvalidPlatformError } from '../core/platform';
import { expandWord, type ExpansionResult } from './argExpansion';
import { truncate } from './lexChars';
import { formatPlatformShort, type AnalysisContext, type StageDraft } from './analysisContext';
import { documentOffset, type LogicalInstruction } from './dockerfileParser';
import { flagValues } from './stageInstructions';

export interface GlobalScope {
  /** What FROM lines expand with. */
  env: Map<string, string>;
  /** ARGs declared before the first FROM: 0-based line, and whether they got a value. */
  declared: Map<string, { line: number; hasValue: boolean }>;
  /** ARGs declared inside stages (first line seen), for hints. */
  stageLocal: Map<string, number>;
}

const VALID_STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

/** convert.go defaultArgs: the automatic platform ARGs, each overridable by --build-arg. */
function predefinedArgs(ctx: AnalysisContext, targetStage: string): Map<string, string> {
  const bp = ctx.buildPlatform;
  const tp = ctx.targetPlatform;
  const env = new Map<string, string>([
    ['BUILDPLATFORM', formatPlatformShort(bp)],
    ['BUILDOS', bp.os],
    ['BUILDOSVERSION', bp['os.version'] ?? ''],
    ['BUILDARCH', bp.architecture],
    ['BUILDVARIANT', bp.variant ?? ''],
    ['TARGETPLATFORM', formatPlatform(tp)],
    ['TARGETOS', tp.os],
    ['TARGETOSVERSION', tp['os.version'] ?? ''],
    ['TARGETARCH', tp.architecture],
    ['TARGETVARIANT', tp.variant ?? ''],
    ['TARGETSTAGE', targetStage],
  ]);
  for (const key of env.keys()) {
    const override = ctx.buildArgs.get(key);
    if (override !== undefined) env.set(key, override);
  }
  return env;
}

/** convert.go buildMetaArgs over the ARG instructions before the first FROM. */
export function globalScope(ctx: AnalysisContext, metaArgs: LogicalInstruction[], targetStage: string): GlobalScope {
  const env = predefinedArgs(ctx, targetStage);
  const declared = new Map<string, { line: number; hasValue: boolean }>();
  for (const instruction of metaArgs) {
    const pairs = instruction.parsed.pairs ?? [];
    const line = ctx.position(instruction.start).line;
    for (const pair of pairs) {
      if (pair.key === '') continue; // reported with the other argument checks
      let value = ctx.buildArgs.get(pair.key);
      if (value === undefined && pair.value !== undefined) {
        const expanded = expandWord(pair.value, env, { escape: ctx.escape });
        if (expanded.error !== undefined) ctx.fail(instruction, expanded.error);
        value = expanded.value;
      }
      if (value !== undefined) env.set(pair.key, value);
      declared.set(pair.key, { line, hasValue: value !== undefined || declared.get(pair.key)?.hasValue === true });
    }
  }
  return { env, declared, stageLocal: new Map() };
}

/** Why the variables of an expansion came out empty, for the error message. */
function variableHints(result: ExpansionResult, scope: GlobalScope, ctx: AnalysisContext): string[] {
  const hints: string[] = [];
  const names = [...result.unmatched, ...[...result.matched].filter((n) => scope.env.get(n) === '')];
  for (const name of new Set(names)) {
    const declared = scope.declared.get(name);
    const local = scope.stageLocal.get(name);
    if (scope.env.get(name) === '') hints.push(`ARG ${name} is empty`);
    else if (declared !== undefined) hints.push(`ARG ${name} has no value; pass --build-arg ${name}=...`);
    else if (local !== undefined) {
      hints.push(`ARG ${name} is declared inside a stage (line ${local + 1}); FROM only sees ARGs declared before the first FROM`);
    } else if (ctx.buildArgs.has(name)) hints.push(`--build-arg ${name} is ignored until ARG ${name} is declared before the first FROM`);
    else hints.push(`${name} is not declared; add ARG ${name} before the first FROM`);
  }
  return hints;
}

/** `"x:${T}" expands to "x:",` or just `"x:1"` when nothing was expanded. */
function quoteExpansion(text: string, value: string, comma = false): string {
  if (text === value) return JSON.stringify(truncate(text));
  return `${JSON.stringify(truncate(text))} expands to ${JSON.stringify(truncate(value))}${comma ? ',' : ''}`;
}

/** A stage for a FROM line: its name and image word; base and platform come with resolveFrom. */
export function draftStage(ctx: AnalysisContext, from: LogicalInstruction, index: number): StageDraft {
  const words = from.parsed.words ?? [];
  const keywordEnd = documentOffset(from, from.parsed.commandStart + from.parsed.command.length, true);
  const stage: StageDraft = {
    index,
    line: ctx.position(from.start).line,
    range: ctx.instructionRange(from),
    imageRange: ctx.range(keywordEnd, keywordEnd),
    imageText: '',
    platform: ctx.targetPlatform,
    from,
    body: [],
    deps: new Set(),
    onbuildDeps: new Set(),
    env: new Map(),
  };
  const image = words[0];
  if (image !== undefined) {
    stage.imageText = image.text;
    stage.imageRange = ctx.textRange(from, image.start, image.end);
  }
  const nameWord = words[2];
  if (words.length === 3 && words[1]?.text.toLowerCase() === 'as' && nameWord !== undefined) {
    stage.name = nameWord.text;
    const key = nameWord.text.toLowerCase();
    ctx.nameStage(stage, key);
    if (!VALID_STAGE_NAME.test(key)) {
      stage.error = ctx.fail(from, `invalid name for build stage: ${JSON.stringify(truncate(nameWord.text))}, name can't start with a number or contain symbols`, ctx.textRange(from, nameWord.start, nameWord.end));
    }
  } else if (words.length !== 1) {
    stage.error = ctx.fail(from, words.length === 0 ? 'FROM requires an image: FROM [--platform=...] image [AS name]' : 'FROM requires either one or three arguments: FROM [--platform=...] image [AS name]');
  }
  return stage;
}

/** Expands the FROM line in the global scope and resolves the stage's base and platform. */
export function resolveFrom(ctx: AnalysisContext, stage: StageDraft, scope: GlobalScope): void {
  const from = stage.from;
  const fail = (reason: string, range = stage.imageRange): void => {
    const message = ctx.fail(from, reason, range);
    stage.error ??= message;
  };
  const details = { flags: flagValues(from.parsed.flags) };
  ctx.details.set(from, details);
  const image = (from.parsed.words ?? []).length > 0 ? stage.imageText : undefined;

  // The platform: --platform expanded in the global scope, else the target platform.
  let platform = ctx.targetPlatform;
  const platformFlag = details.flags.platform;
  const platformText = platformFlag?.[platformFlag.length - 1];
  if (platformText !== undefined) {
    const expanded = expandWord(platformText, scope.env, { escape: ctx.escape });
    if (expanded.error === undefined) details.flags.platform = [expanded.value];
    const hints = variableHints(expanded, scope, ctx);
    const suffix = hints.length > 0 ? ` (${hints.join('; ')})` : '';
    if (expanded.error !== undefined) fail(`--platform: ${expanded.error}`, ctx.instructionRange(from));
    else if (expanded.value === '') fail(`--platform=${quoteExpansion(platformText, '')}${suffix}`, ctx.instructionRange(from));
    else {
      try {
        platform = parsePlatform(expanded.value);
      } catch (error) {
        if (!(error instanceof InvalidPlatformError)) throw error;
        fail(`--platform=${quoteExpansion(platformText, expanded.value, true)} ${platformText === expanded.value ? 'is not' : 'which is not'} a valid platform: ${error.reason}${suffix}`, ctx.instructionRange(from));
      }
    }
  }
  stage.platform = platform;
  if (image === undefined) return;

  const expanded = expandWord(image, scope.env, { escape: ctx.escape });
  const hints = variableHints(expanded, scope, ctx);
  const suffix = hints.length > 0 ? ` (${hints.join('; ')})` : '';
  if (expanded.error !== undefined) return fail(expanded.error);
  const value = expanded.value;
  if (value === '') return fail(`${quoteExpansion(image, value)}${suffix}`);

  // convert.go addState: an earlier stage whose (lower-cased) name is exactly the expanded word.
  const earlier = ctx.stageNear(value, stage.index, 'before');
  if (earlier !== undefined) {
    stage.base = { kind: 'stage', index: earlier.index };
    stage.deps.add(earlier.index);
    stage.platform = earlier.platform; // dispatchState.init: the stage continues the earlier one
    return;
  }
  if (value === 'scratch') {
    stage.base = { kind: 'scratch' };
    return;
  }
  // A stage defined later is not a candidate (BuildKit only knows the stages before it): the
  // word is an image reference, which `docker build` pulls, so this is no error of the Dockerfile.
  try {
    stage.base = { kind: 'image', ref: parseReference(value), text: value };
  } catch (error) {
    if (!(error instanceof InvalidReferenceError)) throw error;
    const sameName = ctx.stageNear(value.toLowerCase(), stage.index, 'before');
    const stageHint = sameName !== undefined ? `; Docker matches stage names in FROM in lower case only: FROM ${sameName.key ?? ''}` : '';
    fail(`${quoteExpansion(image, value, true)} ${image === value ? 'is not' : 'which is not'} a valid image reference: ${error.reason}${suffix}${stageHint}`);
  }
}
