// Shared state of one analysis run: document positions, the escape token, the options, the
// errors found so far, and the logical instructions as the semantic passes annotate them.
import { formatPlatform, hostPlatform } from '../core/platform';
import type { Platform } from '../core/mediaTypes';
import type { AnalysisError, AnalyzeOptions, Instruction, Range, Stage } from './types';
import { documentOffset, type LogicalInstruction, type ParsedDockerfile } from './dockerfileParser';

export interface StageDraft extends Stage {
  /** The FROM instruction. */
  from: LogicalInstruction;
  /** The instructions after FROM, up to the next FROM. */
  body: LogicalInstruction[];
  /** Lower-cased name (BuildKit keys stages by it). */
  key?: string;
  /** Stages this one needs (FROM stage, COPY --from, RUN --mount from=), by index. */
  deps: Set<number>;
  /** ONBUILD triggers' stage dependencies, added to stages built FROM this one. */
  onbuildDeps: Set<number>;
  /** ENV and ARG values at the end of the stage (what a stage built FROM it starts with). */
  env: Map<string, string>;
}

export interface InstructionDetails {
  flags: Record<string, string[]>;
  copy?: NonNullable<Instruction['copy']>;
}

export class AnalysisContext {
  readonly errors: AnalysisError[] = [];
  /** Flags (expanded where Docker expands them) and COPY/ADD data, per instruction. */
  readonly details = new Map<LogicalInstruction, InstructionDetails>();
  readonly escape: string;
  readonly buildArgs: ReadonlyMap<string, string>;
  readonly targetPlatform: Platform;
  readonly buildPlatform: Platform;
  readonly stages: StageDraft[] = [];
  private readonly stagesByKey = new Map<string, number[]>();

  constructor(
    readonly doc: ParsedDockerfile,
    readonly options: AnalyzeOptions,
  ) {
    this.escape = doc.escape;
    this.buildArgs = new Map(Object.entries(options.buildArgs ?? {}).filter(([, v]) => typeof v === 'string'));
    this.targetPlatform = options.platform ?? hostPlatform();
    this.buildPlatform = options.buildPlatform ?? hostPlatform();
  }

  /** LSP position of a document offset. */
  position(offset: number): { line: number; character: number } {
    const starts = this.doc.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: offset - (starts[lo] ?? 0) };
  }

  range(start: number, end: number): Range {
    return { start: this.position(start), end: this.position(Math.max(start, end)) };
  }

  /** The document range of [start, end) in an instruction's joined text. */
  textRange(instruction: LogicalInstruction, start: number, end: number): Range {
    const from = documentOffset(instruction, start);
    const to = end > start ? documentOffset(instruction, end, true) : from;
    return this.range(from, to);
  }

  instructionRange(instruction: LogicalInstruction): Range {
    return this.range(instruction.start, instruction.end);
  }

  keyword(instruction: LogicalInstruction): string {
    return instruction.parsed.command.toUpperCase();
  }

  /** "RUN on line 4" (1-based, as people read line numbers). */
  where(instruction: LogicalInstruction): string {
    return `${this.keyword(instruction)} on line ${this.position(instruction.start).line + 1}`;
  }

  error(range: Range, message: string): void {
    this.errors.push({ line: range.start.line, range, message });
  }

  /** An error about an instruction: "<KEYWORD> on line N: <reason>". Returns the message. */
  fail(instruction: LogicalInstruction, reason: string, range: Range = this.instructionRange(instruction)): string {
    const message = `${this.where(instruction)}: ${reason}`;
    this.error(range, message);
    return message;
  }

  /** "build" or, for an unnamed stage, BuildKit's "stage-N". */
  stageLabel(index: number): string {
    return this.stages[index]?.name ?? `stage-${index}`;
  }

  /** Registers a stage's name (lower-cased, as BuildKit keys stages). */
  nameStage(stage: StageDraft, key: string): void {
    stage.key = key;
    const list = this.stagesByKey.get(key);
    if (list === undefined) this.stagesByKey.set(key, [stage.index]);
    else list.push(stage.index);
  }

  /** The stage BuildKit's findStateByName finds: the last one with that name, case-insensitively. */
  stageByName(name: string): StageDraft | undefined {
    const list = this.stagesByKey.get(name.toLowerCase());
    return list === undefined ? undefined : this.stages[list[list.length - 1] ?? -1];
  }

  /** The last stage before `index` whose key is exactly `key`, or the first one after it. */
  stageNear(key: string, index: number, side: 'before' | 'after'): StageDraft | undefined {
    const list = this.stagesByKey.get(key) ?? [];
    // Binary search: the first position whose stage index is >= index.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((list[mid] ?? 0) < index) lo = mid + 1;
      else hi = mid;
    }
    if (side === 'before') return lo > 0 ? this.stages[list[lo - 1] ?? -1] : undefined;
    while (lo < list.length && list[lo] === index) lo++;
    return lo < list.length ? this.stages[list[lo] ?? -1] : undefined;
  }
}

/** containerd platforms.Format: os/arch/variant, without OS version or features. */
export function formatPlatformShort(platform: Platform): string {
  return formatPlatform({ os: platform.os, architecture: platform.architecture, ...(platform.variant !== undefined ? { variant: platform.variant } : {}) });
}
