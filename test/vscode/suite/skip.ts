// Mocha's this.skip() takes no reason: keep one per test, for the log and the node:test wrapper.
import type { Context } from 'mocha';

export const skipReasons = new Map<string, string>();

export function skipBecause(context: Context, reason: string): never {
  const title = context.test?.fullTitle() ?? '';
  skipReasons.set(title, reason);
  console.log(`  skipped "${title}": ${reason}`);
  context.skip();
}
