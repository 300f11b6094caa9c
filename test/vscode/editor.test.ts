// The extension's own tests, run inside a real VS Code (code-server + headless Chromium) by
// test/vscode/launcher.ts; each in-editor test is reported here under its own name, so a failure
// in CI says which one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeServerMissing, repoRoot } from './codeServer';
import type { TestResult } from './suite/index';
import { artifactsDir } from './uiDriver';

test('Layerlift inside code-server', { timeout: 20 * 60_000 }, async (t) => {
  const missing = codeServerMissing();
  assert.equal(missing, undefined, missing);
  const dir = mkdtempSync(join(tmpdir(), 'll-editor-test-'));
  try {
    const resultsFile = join(dir, 'results.json');
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/vscode/launcher.ts'), '--results', resultsFile], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    mkdirSync(artifactsDir, { recursive: true });
    writeFileSync(join(artifactsDir, 'launcher.log'), output);
    let results: TestResult[] = [];
    try {
      results = JSON.parse(readFileSync(resultsFile, 'utf8')) as TestResult[];
    } catch {
      // no results: the harness failed before or while running the suite (said below)
    }
    for (const result of results) {
      await t.test(result.title, (st) => {
        if (result.state === 'skipped') st.skip(result.reason);
        else if (result.state === 'failed') throw new Error(result.error);
      });
    }
    const tail = output.trim().split('\n').slice(-25).join('\n');
    assert.ok(results.length > 0, `the suite reported no results (exit ${code}):\n${tail}`);
    assert.equal(code, 0, `the extension tests exited with ${code} (log: test-artifacts/vscode/launcher.log):\n${tail}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
