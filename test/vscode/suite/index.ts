// The extensionTestsPath entry: the extension host require()s this file and awaits run(). A
// resolved run() makes the test host exit 0, a rejected one exit 1 (code-server passes that on
// to the page's codeAutomationExit, desktop VS Code to runTests).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';
import { bedFacts } from './facts';
import type { WithSkipReason } from './skip';

export interface TestResult {
  title: string;
  state: 'passed' | 'failed' | 'skipped';
  ms?: number;
  error?: string;
  reason?: string;
}

export function run(): Promise<void> {
  const grep = process.env.LAYERLIFT_VSCODE_GREP;
  const mocha = new Mocha({ ui: 'bdd', color: false, reporter: 'spec', timeout: 90_000, ...(grep ? { grep } : {}) });
  mocha.addFile(join(__dirname, 'extension.suite.js'));
  const results: TestResult[] = [];
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const passed = results.filter((r) => r.state === 'passed').length;
      const skipped = results.filter((r) => r.state === 'skipped').length;
      // The closing line CI reads (alone on a line).
      console.log(`vscode: ${passed} passed, ${failures} failed, ${skipped} skipped`);
      const file = bedFacts().results;
      if (file) writeFileSync(file, JSON.stringify(results, null, 2));
      if (failures > 0) reject(new Error(`${failures} of the extension's tests failed`));
      else resolve();
    });
    runner.on('pass', (test) => results.push({ title: test.fullTitle(), state: 'passed', ms: test.duration }));
    // The message with assert's diff, bounded: it becomes the node:test failure's text.
    runner.on('fail', (test, error: Error) => results.push({ title: test.fullTitle(), state: 'failed', error: error.message.slice(0, 1500) }));
    runner.on('pending', (test) => results.push({ title: test.fullTitle(), state: 'skipped', reason: (test as WithSkipReason).layerliftSkipReason ?? 'skipped' }));
  });
}
