/** What a command may touch of the process: injected so commands run in-process in tests. */
export interface CommandIO {
  /** Writes one line (a newline is added). */
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Writes without a newline: the live progress line. */
  stderrRaw: (text: string) => void;
  /** Whether stderr is a terminal (live progress) or a log (one line per event). */
  stderrIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}
