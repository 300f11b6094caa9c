/** A mistake in how the CLI was called: printed as one line plus a pointer to --help. */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}
