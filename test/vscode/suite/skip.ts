// Mocha's this.skip() takes no reason: the reason rides on the test object (index.ts and the
// suite are separate bundles, so a module-level map would not be shared), for the log and the
// node:test wrapper.
import type { Context, Runnable } from 'mocha';

export type WithSkipReason = Runnable & { layerliftSkipReason?: string };

export function skipBecause(context: Context, reason: string): never {
  const test: WithSkipReason | undefined = context.test;
  if (test) test.layerliftSkipReason = reason;
  console.log(`  skipped "${test?.fullTitle() ?? ''}": ${reason}`);
  context.skip();
}
