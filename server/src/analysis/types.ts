// The data the Dockerfile analysis produces and the language server, the CLI and the push
// planner consume. Plain data only: every producer is a pure function (see ARCHITECTURE.md).
import type { Platform } from '../core/mediaTypes';
import type { ImageReference } from '../core/reference';

/** 0-based line and character, as LSP positions. */
export interface Range {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

export interface AnalysisError {
  /** 0-based line (the CLI prints it 1-based). */
  line: number;
  range: Range;
  message: string;
}

export type ResolvedBase =
  /** `ref` is fully qualified (registry, repository, tag and/or digest); `text` is the expanded FROM word. */
  | { kind: 'image'; ref: ImageReference; text: string }
  /** An earlier stage, by index. */
  | { kind: 'stage'; index: number }
  | { kind: 'scratch' };

export interface Stage {
  index: number;
  /** As written; stage names match case-insensitively, as Docker does. */
  name?: string;
  /** 0-based line of the FROM instruction. */
  line: number;
  /** Range of the FROM instruction (all its lines). */
  range: Range;
  /** Range of the image word of the FROM (where a lens or hover anchors). */
  imageRange: Range;
  /** The image word as written, before expansion. */
  imageText: string;
  /** Undefined when the FROM could not be resolved; then `error` says why. */
  base?: ResolvedBase;
  /** The platform the stage builds for (`--platform` expanded, else the target platform). */
  platform: Platform;
  error?: string;
}

export interface Instruction {
  /** Index in the whole Dockerfile, from 0. */
  index: number;
  /** Index of the stage it belongs to; -1 for the ARGs (and misplaced instructions) before the first FROM. */
  stage: number;
  /** Upper-case keyword: FROM, RUN, COPY... */
  keyword: string;
  /** 0-based first and last line (continuations and heredocs included). */
  line: number;
  endLine: number;
  range: Range;
  /**
   * Flags as written (`--from=build` gives { from: ['build'] }; `--link` without a value gives
   * { link: [''] }), values ARG-expanded where Docker expands them: FROM --platform (global ARGs),
   * COPY/ADD --chown, --chmod, --checksum, --exclude and RUN --mount (the stage's ARG and ENV).
   * COPY --from and --mount from= are never expanded (Docker refuses variables there).
   */
  flags: Record<string, string[]>;
  /** Arguments after the flags, as Docker splits them (JSON form or shell words), unexpanded. */
  args: string[];
  /** Whether this instruction adds a filesystem layer (RUN, COPY, ADD) or only metadata. */
  createsLayer: boolean;
  /**
   * For COPY/ADD: the source paths (not the destination), ARG/ENV-expanded like the destination;
   * an inline heredoc source is kept as written ("<<EOF"). `from` set when --from names a stage
   * or image; `fromStage` when it resolves to a stage (by name, case-insensitively, or index).
   */
  copy?: { sources: string[]; destination: string; from?: string; fromStage?: number };
}

export interface DockerfileAnalysis {
  stages: Stage[];
  instructions: Instruction[];
  /** The stage built: `--target` when given, else the last one. */
  targetStage: number;
  /** Stages the target needs (FROM stage references, COPY --from, RUN --mount from=), target included, ascending. */
  neededStages: number[];
  errors: AnalysisError[];
  /** The escape character in force (`\` or a backtick from the directive). */
  escape: string;
}

export interface AnalyzeOptions {
  /** --build-arg values; they override ARG defaults (only for declared ARGs, as Docker). */
  buildArgs?: Record<string, string>;
  /** --target: a stage name (case-insensitive) or index. */
  target?: string;
  /** The platform built for (TARGETPLATFORM); default: the host's linux platform. */
  platform?: Platform;
  /** The platform building (BUILDPLATFORM); default: the host's linux platform. */
  buildPlatform?: Platform;
}
