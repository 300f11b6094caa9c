// `npm run test:electron`: the same in-editor suite in desktop VS Code, which @vscode/test-electron
// downloads (into .vscode-test/) and starts with this repository as the development extension.
// For machines that can download VS Code; the UI checks need the page and are skipped here.
// LAYERLIFT_VSCODE_EXECUTABLE=/path/to/code uses an installed VS Code instead of a download.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTests } from '@vscode/test-electron';
import { startVscodeBed, type VscodeBed } from './bed';
import { buildSuite, suiteEntry } from './buildSuite';
import { repoRoot } from './codeServer';
import { FACTS_ENV } from './suite/facts';

const cacheDir = join(repoRoot, '.vscode-test');

/** Why VS Code cannot be had or started here, or undefined. Checked first so an offline machine
 *  fails in seconds with a reason, not after the downloader's retries. */
async function cannotRun(executable: string | undefined): Promise<string | undefined> {
  if (process.platform === 'linux' && !process.env.DISPLAY) return 'no DISPLAY for VS Code\'s window — run it under a virtual display: xvfb-run -a npm run test:electron';
  if (executable) return existsSync(executable) ? undefined : `LAYERLIFT_VSCODE_EXECUTABLE=${executable} does not exist`;
  const cached = existsSync(cacheDir) && readdirSync(cacheDir).some((name) => name.startsWith('vscode-'));
  if (cached) return undefined;
  try {
    await fetch('https://update.code.visualstudio.com/api/releases/stable', { signal: AbortSignal.timeout(5000) });
    return undefined;
  } catch (error) {
    const why = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    return `cannot download VS Code (${why}) — set LAYERLIFT_VSCODE_EXECUTABLE to an installed VS Code, or run the same suite in code-server: npm run test:vscode`;
  }
}

async function main(): Promise<number> {
  const executable = process.env.LAYERLIFT_VSCODE_EXECUTABLE;
  const problem = await cannotRun(executable);
  if (problem) {
    console.error(`test:electron: ${problem}`);
    return 1;
  }
  await buildSuite();
  const dir = mkdtempSync('/tmp/ll-electron-');
  let bed: VscodeBed | undefined;
  try {
    bed = await startVscodeBed(join(dir, 'bed'));
    mkdirSync(join(dir, 'user-data', 'User'), { recursive: true });
    writeFileSync(join(dir, 'user-data', 'User', 'settings.json'), JSON.stringify({ 'update.mode': 'none', 'telemetry.telemetryLevel': 'off', 'git.enabled': false, 'chat.disableAIFeatures': true }));
    const code = await runTests({
      ...(executable ? { vscodeExecutablePath: executable } : { cachePath: cacheDir }),
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: suiteEntry,
      // The extension host (and the language server it forks) get the bed's credentials and facts.
      extensionTestsEnv: { ...bed.env, [FACTS_ENV]: JSON.stringify(bed.facts) },
      launchArgs: [bed.facts.workspace, '--disable-extensions', '--disable-workspace-trust', '--user-data-dir', join(dir, 'user-data'), '--extensions-dir', join(dir, 'extensions')],
    });
    return code;
  } catch (error) {
    // runTests rejects when the tests fail (exit 1) as well as when VS Code cannot start.
    console.error(`test:electron: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await bed?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().then((code) => process.exit(code));
