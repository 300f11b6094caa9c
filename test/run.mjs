// Runs the test suites with node's test runner (TypeScript through tsx).
// Usage: node test/run.mjs [unit|integration|bed|vscode ...]   (default: all suites)
// vscode: the extension inside a real VS Code (code-server; scripts/setup-code-server.sh)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const all = ['unit', 'bed', 'integration', 'vscode'];
const suites = process.argv.slice(2).length > 0 ? process.argv.slice(2) : all;

function findTests(dir) {
  let found = [];
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of entries.sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found = found.concat(findTests(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const files = suites.flatMap((suite) => findTests(join('test', suite)));
if (files.length === 0) {
  console.error(`no test files found in ${suites.join(', ')}`);
  process.exit(1);
}
// Integration tests start registries and engines of their own: one file at a time keeps a
// 2-core machine responsive and the timings honest.
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
