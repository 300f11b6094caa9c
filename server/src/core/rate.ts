// A bandwidth as curl's --limit-rate writes it (pure: shared by the CLI and the settings).

/**
 * `RATE` as curl's --limit-rate writes it: a number of bytes per second, optionally with a
 * K, M or G suffix (powers of 1024), e.g. `500k`, `1M`, `1.5M`, `250000`. Undefined when invalid.
 */
export function parseRate(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg])?(?:i?b)?(?:\/s)?\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase()] ?? 1;
  const rate = Math.floor(Number(match[1]) * unit);
  return Number.isFinite(rate) && rate >= 1024 ? rate : undefined;
}
