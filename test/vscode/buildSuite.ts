// Compiles the in-editor suite to CommonJS for the extension host (which require()s the tests
// entry): out/vscode-tests/ (ignored by git), apart from the extension's own dist/ bundles.
import { join } from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from './codeServer';

export const suiteDir = join(repoRoot, 'out', 'vscode-tests');
/** The extensionTestsPath: a module whose run() the extension host awaits. */
export const suiteEntry = join(suiteDir, 'index.js');

export async function buildSuite(): Promise<void> {
  await build({
    // Two bundles: Mocha must have set up describe/it before the tests file is loaded. Not
    // *.test.ts: test/run.mjs would run that under node:test, outside any editor.
    entryPoints: { index: join(repoRoot, 'test/vscode/suite/index.ts'), 'extension.suite': join(repoRoot, 'test/vscode/suite/extension.suite.ts') },
    outdir: suiteDir,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    // vscode is the host's own module; mocha resolves from the repo's node_modules.
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });
}
