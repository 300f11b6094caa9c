// Runs the extension's tests inside a real VS Code: code-server with this repository as the
// development extension, driven by headless Chromium. Starts the test bed (registry, fault proxy,
// dockerd), compiles the suite, opens the workbench with the test payload, relays the extension
// host's console, serves the suite's UI checks, and stops everything by PID.
// Usage: node --import tsx test/vscode/launcher.ts [--results FILE] [--timeout SECONDS] [--grep RE]
// Exit: 0 passed, 1 a test failed, 2 harness error or timeout. KEEP_TMP=1 keeps the logs,
// VERBOSE=1 shows the workbench's own console too.
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { format, parseArgs } from 'node:util';
import type { Browser, ConsoleMessage } from 'playwright-core';
import { startVscodeBed, type VscodeBed } from './bed';
import { buildSuite, suiteEntry } from './buildSuite';
import { codeServerMissing, launchChromium, remoteUri, repoRoot, startCodeServer, workbenchUrl, type CodeServer } from './codeServer';
import { startDriverServer, type DriverServer } from './driverServer';
import { FACTS_ENV } from './suite/facts';

const args = parseArgs({ options: { results: { type: 'string' }, timeout: { type: 'string', default: '900' }, grep: { type: 'string' } } }).values;

// Workbench log lines that say nothing about the tests (offline gallery, web worker host, …).
const NOISE = /^(Resolving connection token|Resolved connection token|Creating a socket|\[reconnection-grace-time\]|\[Service Worker\]|\[AgentHost|\[AccountPolicyGate\]|\[ChatModelSelection\]|Updating additional builtin extensions cache|The web worker extension host is started|An iframe which has both|Failed to load resource|Failed: getaddrinfo ENOTFOUND|Canceled|Ignoring the error while validating workspace folder|$)/;

/** Extension-host console calls arrive as console.log('%c INFO', 'color: …', fmt, ...args). */
async function consoleText(message: ConsoleMessage): Promise<string> {
  try {
    let values = await Promise.all(message.args().map((handle) => handle.jsonValue() as Promise<unknown>));
    if (typeof values[0] === 'string' && values[0].startsWith('%c')) values = values.slice(2);
    if (values.length > 0 && values.every((v) => v === null || typeof v !== 'object')) return format(...values);
  } catch {
    // the page navigated or closed meanwhile
  }
  return message.text().replace(/^%c\s*\w+ color: #\w+ ?/, '');
}

// Ends the run: the extension host's exit, a timeout, a signal.
let settle: ((outcome: { code: number; why?: string }) => void) | undefined;

async function run(dir: string): Promise<number> {
  const started = Date.now();
  let bed: VscodeBed | undefined;
  let driver: DriverServer | undefined;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  try {
    await buildSuite();
    bed = await startVscodeBed(join(dir, 'bed'));
    driver = await startDriverServer(bed.proxy);
    const results = join(dir, 'results.json');
    const facts = { ...bed.facts, driver: driver.url, results };
    const env = { ...bed.env, [FACTS_ENV]: JSON.stringify(facts), ...(args.grep ? { LAYERLIFT_VSCODE_GREP: args.grep } : {}) };
    // No minimap: the screenshots double as the README's pictures.
    server = await startCodeServer({ dir: join(dir, 'cs'), testDriver: true, env, userSettings: { 'editor.minimap.enabled': false } });
    console.log(`test bed and code-server ready in ${((Date.now() - started) / 1000).toFixed(1)} s (registry ${bed.facts.registry}, proxy ${bed.facts.host}, engine ${bed.facts.dockerHost ?? `none: ${bed.facts.noEngine ?? ''}`})`);

    const payload: [string, string][] = [
      ['extensionDevelopmentPath', remoteUri(server, repoRoot)],
      ['extensionTestsPath', remoteUri(server, suiteEntry)],
    ];
    browser = await launchChromium(dir);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    driver.attach(page);
    const done = new Promise<{ code: number; why?: string }>((resolve) => (settle = resolve));
    // The workbench calls this when the extension host that ran the tests exits: 0 if run()
    // resolved, 1 if it rejected. Exposed before the first navigation.
    await page.exposeFunction('codeAutomationExit', (code: unknown) => settle?.({ code: typeof code === 'number' ? code : 2 }));
    let chain = Promise.resolve(); // console messages are handled in order
    page.on('console', (message) => {
      chain = chain.then(async () => {
        const text = await consoleText(message);
        if (/No extension host found that can launch the test runner/.test(text)) settle?.({ code: 2, why: text });
        if (process.env.VERBOSE || !NOISE.test(text)) console.log(text);
      });
    });
    await page.goto(workbenchUrl(server, bed.facts.workspace, payload));
    const timer = setTimeout(() => settle?.({ code: 2, why: `timed out after ${args.timeout} s` }), Number(args.timeout) * 1000);
    const outcome = await done;
    clearTimeout(timer);
    await chain;
    if (outcome.why) console.error(`vscode tests: ${outcome.why}`);
    if (args.results && existsSync(results)) copyFileSync(results, args.results);
    console.error(`vscode tests: extension host exited with ${outcome.code} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return outcome.code;
  } catch (error) {
    console.error(`vscode tests: ${error instanceof Error ? error.message : String(error)}`);
    if (server) console.error(server.log().split('\n').slice(-20).join('\n'));
    return 2;
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    await driver?.stop();
    await bed?.stop();
  }
}

async function main(): Promise<void> {
  const missing = codeServerMissing();
  if (missing) {
    console.error(`vscode tests: ${missing}`);
    process.exit(2);
  }
  // Short: unix sockets (code-server's, dockerd's) live under it.
  const dir = mkdtempSync('/tmp/ll-vscode-');
  let code = 2;
  const cleanup = () => {
    if (process.env.KEEP_TMP) console.error(`vscode tests: logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
  // Before the page is open a signal ends the process (and bed/process.ts's exit hook kills the
  // daemons); after that it ends the run, which tears everything down.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (settle ? settle({ code: 2, why: signal }) : process.exit(2)));
  try {
    code = await run(dir);
  } finally {
    cleanup();
  }
  // Playwright and undici keep timers alive: end explicitly.
  process.exit(code);
}

void main();
