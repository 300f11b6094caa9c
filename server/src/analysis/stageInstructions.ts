// The instructions inside a stage, as BuildKit dispatches them (dockerfile2llb convert.go
// dispatch, dispatchArg, dispatchEnv, toCommand, detectRunMount; instructions commands.go
// Expand): ARG and ENV values in scope, COPY/ADD sources and destination expanded with them,
// --chown/--chmod/--mount expanded, and the stages COPY --from and RUN --mount from= need.
import { parseReference, InvalidReferenceError } from '../core/reference';
import { expandWord } from './argExpansion';
import { truncate } from './lexChars';
import type { AnalysisContext, StageDraft } from './analysisContext';
import { heredocFromWord, type LogicalInstruction } from './dockerfileParser';
import type { ParsedLine } from './instructionParser';
import type { GlobalScope } from './stages';

/** Not added to the environment of RUN (convert.go nonEnvArgs). */
const NON_ENV_ARGS = new Set(['BUILDKIT_SBOM_SCAN_CONTEXT', 'BUILDKIT_SBOM_SCAN_STAGE']);

/** `--from=build` gives { from: ['build'] }; a flag without `=` gives ['']. Values as written. */
export function flagValues(flags: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const flag of flags) {
    const body = flag.startsWith('--') ? flag.slice(2) : flag;
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    (out[name] ??= []).push(eq < 0 ? '' : body.slice(eq + 1));
  }
  return out;
}

/** Characters without which a word expands to itself. */
const EXPANDABLE = /[$'"\\`]/;

/** String flags BuildKit refuses without a value ("missing a value on flag: from"). */
const VALUED_FLAGS: Record<string, string[]> = {
  FROM: ['platform'],
  COPY: ['from', 'chown', 'chmod', 'exclude'],
  ADD: ['chown', 'chmod', 'checksum', 'exclude'],
  RUN: ['mount', 'network', 'security', 'device'],
};

export function checkFlags(ctx: AnalysisContext, instruction: LogicalInstruction): void {
  const keyword = ctx.keyword(instruction);
  const valued = VALUED_FLAGS[keyword];
  if (valued === undefined) return;
  for (const flag of instruction.parsed.flags) {
    const name = flag.startsWith('--') ? flag.slice(2) : flag;
    if (valued.includes(name)) ctx.fail(instruction, `missing a value on flag: ${name} (write --${name}=...)`);
  }
}

/** encoding/csv, one record: comma-separated fields, "quoted" fields with "" for a quote. */
function parseCsv(text: string): string[] | { error: string } {
  if (text === '') return { error: 'EOF' };
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text.charAt(i) === '"') {
      let field = '';
      i++;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close < 0) return { error: 'extraneous or missing " in quoted-field' };
        field += text.slice(i, close);
        i = close + 1;
        if (text.charAt(i) === '"') {
          field += '"';
          i++;
        } else break;
      }
      if (i < text.length && text.charAt(i) !== ',') return { error: 'extraneous or missing " in quoted-field' };
      fields.push(field);
    } else {
      const comma = text.indexOf(',', i);
      const end = comma < 0 ? text.length : comma;
      const field = text.slice(i, end);
      if (field.includes('"')) return { error: 'bare " in non-quoted-field' };
      fields.push(field);
      i = end;
    }
    if (i >= text.length) return fields;
    i++; // the comma
  }
}

/** Resolves a COPY --from / --mount from= value to a stage index, or reports why it cannot. */
function resolveSource(ctx: AnalysisContext, stage: StageDraft, instruction: LogicalInstruction, from: string, kind: 'copy' | 'mount', checkOrder: boolean): number | undefined {
  const label = kind === 'copy' ? `--from=${from}` : `--mount from=${from}`;
  let target: number | undefined;
  if (kind === 'copy' && /^[+-]?\d+$/.test(from) && Number.isSafeInteger(Number(from))) {
    // strconv.Atoi succeeds: a stage index.
    const index = Number(from);
    if (index < 0 || index >= ctx.stages.length) {
      ctx.fail(instruction, `invalid stage index ${index} in ${label} (the Dockerfile has ${ctx.stages.length} stage${ctx.stages.length === 1 ? '' : 's'})`);
      return undefined;
    }
    target = index;
  } else {
    target = ctx.stageByName(from)?.index;
  }
  if (target === undefined) {
    try {
      parseReference(from);
    } catch (error) {
      if (!(error instanceof InvalidReferenceError)) throw error;
      ctx.fail(instruction, `${label} names no stage and is not a valid image reference: ${error.reason}`);
    }
    return undefined;
  }
  if (!checkOrder) return target;
  if (target === stage.index) {
    ctx.fail(instruction, `circular dependency detected on stage: ${ctx.stageLabel(target)} (${label} is the current stage)`);
  } else if (target > stage.index) {
    const what = kind === 'copy' ? 'copy' : 'mount';
    ctx.fail(instruction, `cannot ${what} from stage ${JSON.stringify(ctx.stageLabel(target))}, it needs to be defined before current stage ${JSON.stringify(ctx.stageLabel(stage.index))}`);
  }
  return target;
}

/** The stages a COPY or RUN line needs (toCommand, detectRunMount). */
function sourcesOf(ctx: AnalysisContext, stage: StageDraft, instruction: LogicalInstruction, parsed: ParsedLine, mountFields?: (string[] | { error: string })[]): number[] {
  const keyword = parsed.command.toUpperCase();
  // An ONBUILD trigger runs in the stages built FROM this one: no ordering against this stage.
  const checkOrder = parsed === instruction.parsed;
  const flags = flagValues(parsed.flags);
  const found: number[] = [];
  if (keyword === 'COPY') {
    const values = flags.from ?? [];
    const from = values[values.length - 1];
    if (from !== undefined && from !== '') {
      const probe = expandWord(from, new Map(), { escape: ctx.escape });
      if (probe.error !== undefined || probe.value !== from) {
        ctx.fail(instruction, 'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround');
      } else {
        const index = resolveSource(ctx, stage, instruction, from, 'copy', checkOrder);
        if (index !== undefined) found.push(index);
      }
    }
  } else if (keyword === 'RUN') {
    for (const fields of mountFields ?? (flags.mount ?? []).map(parseCsv)) {
      if (!Array.isArray(fields)) continue; // reported when the mount is expanded
      for (const field of fields) {
        const eq = field.indexOf('=');
        if (eq < 0 || field.slice(0, eq).toLowerCase() !== 'from') continue;
        const from = field.slice(eq + 1);
        if (/\$./.test(from)) ctx.fail(instruction, "'from' doesn't support variable expansion, define alias stage instead");
        else if (from !== '') {
          const index = resolveSource(ctx, stage, instruction, from, 'mount', checkOrder);
          if (index !== undefined) found.push(index);
        }
      }
    }
  }
  return found;
}

/** Runs the stage's instructions: scope, expansions, dependencies. */
export function processStage(ctx: AnalysisContext, stage: StageDraft, scope: GlobalScope): void {
  const env = stage.env;
  let failed: LogicalInstruction | undefined;
  /** Expands in the stage's scope; like BuildKit, only the first failure of an instruction counts. */
  const expand = (instruction: LogicalInstruction, word: string): string => {
    const result = expandWord(word, env, { escape: ctx.escape });
    if (result.error === undefined) return result.value;
    if (failed !== instruction) ctx.fail(instruction, result.error);
    failed = instruction;
    return word;
  };
  for (const instruction of stage.body) {
    const parsed = instruction.parsed;
    const keyword = ctx.keyword(instruction);
    const details = ctx.details.get(instruction) ?? { flags: flagValues(parsed.flags) };
    ctx.details.set(instruction, details);
    switch (keyword) {
      case 'ARG':
        for (const pair of parsed.pairs ?? []) {
          if (pair.key === '') continue; // reported with the other parse problems
          // dispatchArg: --build-arg wins; a bare `ARG NAME` takes the global value.
          let value = ctx.buildArgs.get(pair.key);
          if (value === undefined && pair.value === undefined) value = scope.env.get(pair.key);
          else if (value === undefined && pair.value !== undefined) value = expand(instruction, pair.value);
          if (value !== undefined && !NON_ENV_ARGS.has(pair.key)) env.set(pair.key, value);
        }
        break;
      case 'ENV': {
        // All pairs are expanded with the environment before the instruction, then applied.
        const pairs = (parsed.pairs ?? []).map((pair) => [expand(instruction, pair.key), expand(instruction, pair.value ?? '')] as const);
        for (const [key, value] of pairs) if (key !== '') env.set(key, value);
        break;
      }
      case 'COPY':
      case 'ADD': {
        for (const name of ['chown', 'chmod', 'checksum', 'exclude']) {
          const values = details.flags[name];
          if (values !== undefined) details.flags[name] = values.map((v) => expand(instruction, v));
        }
        const args = parsed.args;
        if (args.length < 2) break; // reported with the other parse problems
        const destination = args[args.length - 1] ?? '';
        if (heredocFromWord(destination) !== undefined) {
          ctx.fail(instruction, `${keyword} cannot accept a heredoc as a destination`);
        }
        const sources = args.slice(0, -1).map((source) => {
          const heredoc = source.includes('<<') ? heredocFromWord(source) : undefined;
          if (heredoc === undefined) return expand(instruction, source);
          return source.replace(/^\d+/, ''); // inline content: "<<EOF"
        });
        const copy: NonNullable<typeof details.copy> = { sources, destination: expand(instruction, destination) };
        const fromValues = details.flags.from;
        const from = keyword === 'COPY' ? fromValues?.[fromValues.length - 1] : undefined;
        if (from !== undefined && from !== '') copy.from = from;
        const [fromStage] = sourcesOf(ctx, stage, instruction, parsed);
        if (fromStage !== undefined) {
          copy.fromStage = fromStage;
          stage.deps.add(fromStage);
        }
        details.copy = copy;
        break;
      }
      case 'RUN': {
        const mounts = details.flags.mount ?? [];
        const mountFields = mounts.map(parseCsv);
        if (mounts.length > 0) {
          details.flags.mount = mounts.map((mount, k) => {
            const fields = mountFields[k] ?? [];
            if (mount === '') return mount; // "missing a value on flag: mount", reported already
            if (!Array.isArray(fields)) {
              ctx.fail(instruction, `failed to parse csv mounts: ${fields.error} in --mount=${truncate(mount)}`);
              return mount;
            }
            if (!EXPANDABLE.test(mount)) return mount;
            return fields.map((field) => {
              const eq = field.indexOf('=');
              return eq < 0 ? field : `${field.slice(0, eq + 1)}${expand(instruction, field.slice(eq + 1))}`;
            }).join(',');
          });
        }
        for (const index of sourcesOf(ctx, stage, instruction, parsed, mountFields)) stage.deps.add(index);
        break;
      }
      case 'ONBUILD':
        // The trigger runs in stages built FROM this one; its sources become their dependencies.
        if (parsed.child !== undefined) {
          for (const index of sourcesOf(ctx, stage, instruction, parsed.child)) stage.onbuildDeps.add(index);
        }
        break;
      default:
        break;
    }
  }
}
