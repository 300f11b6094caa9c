// What the local Docker engine knows about the image built from a Dockerfile (its target tag):
// inspect + history, behind synchronous reads like RegistryState. Builds happen locally and
// often, so the TTL is short; an engine that is not running is remembered for a while and the
// UI simply shows estimates.
import { EventEmitter } from 'node:events';
import type { Fact } from '../analysis/documentView';
import type { DockerEngineClient, EngineImage, HistoryEntry } from '../engine/engineClient';

export interface BuiltImage {
  image: EngineImage;
  history: HistoryEntry[];
}

interface Entry {
  value?: BuiltImage | null;
  error?: { message: string; code: string };
  checkedAt: number;
  inFlight: boolean;
}

export class EngineState extends EventEmitter {
  private readonly images = new Map<string, Entry>();
  /** Bumped by invalidate(): a fetch that started before leaves its entry due for another. */
  private generation = 0;

  constructor(
    private readonly engine: DockerEngineClient,
    private readonly options: { ttlMs?: number; errorTtlMs?: number; now?: () => number } = {},
  ) {
    super();
  }

  /** The image tagged `reference` in the engine (value null: no such image, not built yet). */
  builtImage(reference: string): Fact<BuiltImage | null> {
    const now = (this.options.now ?? Date.now)();
    let entry = this.images.get(reference);
    if (!entry) {
      entry = { checkedAt: -Infinity, inFlight: false };
      this.images.set(reference, entry);
    }
    const ttl = entry.error ? (this.options.errorTtlMs ?? 60_000) : (this.options.ttlMs ?? 10_000);
    if (now - entry.checkedAt > ttl && !entry.inFlight) this.fetch(reference, entry);
    if (entry.value !== undefined) return { state: 'known', value: entry.value, checkedAt: entry.checkedAt, stale: now - entry.checkedAt > ttl };
    if (entry.error) return { state: 'error', ...entry.error, checkedAt: entry.checkedAt };
    return { state: 'unknown' };
  }

  invalidate(): void {
    for (const entry of this.images.values()) entry.checkedAt = -Infinity;
    this.generation++;
  }

  private fetch(reference: string, entry: Entry): void {
    entry.inFlight = true;
    const generation = this.generation;
    void (async () => {
      try {
        const image = await this.engine.imageInspect(reference);
        const before = entry.value;
        entry.value = image ? { image, history: await this.engine.imageHistory(image.id) } : null;
        entry.error = undefined;
        if (before?.image.id !== entry.value?.image.id) this.emit('changed');
      } catch (error) {
        const hadError = entry.error !== undefined;
        entry.error = { code: (error as { code?: string }).code ?? 'ERROR', message: error instanceof Error ? error.message : String(error) };
        if (!hadError) this.emit('changed');
      } finally {
        entry.checkedAt = generation === this.generation ? (this.options.now ?? Date.now)() : -Infinity;
        entry.inFlight = false;
      }
    })();
  }
}
