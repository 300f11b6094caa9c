// COPY/ADD layer estimates from a build context's scan, memoised per context snapshot.
import { estimateCopy } from '../analysis/copyEstimate';
import type { LayerEstimate } from '../analysis/documentView';
import type { Instruction } from '../analysis/types';
import type { ContextScanner } from '../context/contextScanner';

/**
 * COPY estimates per build context, memoised until the context changes: `COPY . .` over 50k
 * files takes tens of milliseconds, and every lens, hint and hover request needs it.
 */
const estimateCache = new WeakMap<ContextScanner, { version: number; byKey: Map<string, LayerEstimate> }>();

export function estimateFor(instruction: Instruction, scanner: ContextScanner | undefined): LayerEstimate {
  const unknown: LayerEstimate = { bytes: null, compressedBytes: null, basis: 'unknown' };
  if (!instruction.copy || instruction.copy.from !== undefined || !scanner) return unknown;
  if (instruction.copy.sources.some((s) => s.startsWith('<<') || /^[a-z]+:\/\//i.test(s))) return unknown;
  let cache = estimateCache.get(scanner);
  if (!cache || cache.version !== scanner.snapshotVersion) {
    cache = { version: scanner.snapshotVersion, byKey: new Map() };
    estimateCache.set(scanner, cache);
  }
  const key = JSON.stringify([instruction.keyword, instruction.copy.sources, instruction.copy.destination]);
  let result = cache.byKey.get(key);
  if (!result) {
    const estimate = estimateCopy(scanner.snapshot(), instruction.copy.sources, { destination: instruction.copy.destination, add: instruction.keyword === 'ADD' });
    result = estimate.basis === 'unknown' ? unknown : { bytes: estimate.bytes, compressedBytes: estimate.compressedBytes, basis: 'context' };
    cache.byKey.set(key, result);
  }
  return result;
}
