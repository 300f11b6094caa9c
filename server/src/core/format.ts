// Human-readable figures for the CLI (decimal units, as docker prints image sizes).

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  let text = value >= 99.95 ? value.toFixed(0) : value.toFixed(1);
  // 999 999 B rounds to "1000 kB": say "1.0 MB" instead.
  if (text === '1000' && unit < units.length - 1) {
    unit++;
    text = '1.0';
  }
  return `${text} ${units[unit] ?? 'TB'}`;
}

export function formatDuration(ms: number): string {
  if (ms < 999.5) return `${Math.round(ms)} ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

export function shortHex(digest: string): string {
  const hex = digest.slice(digest.indexOf(':') + 1);
  return hex.slice(0, 12);
}
