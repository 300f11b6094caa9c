// An untrusted workspace in the real VS Code (code-server with workspace trust on, the .vsix
// installed): Layerlift analyses the Dockerfile, says on the FROM line that the registry is not
// checked, and makes no registry request, no engine connection and runs no runner — even when
// Push Image is run from the palette. Judged from outside: the registry's proxy counts requests,
// DOCKER_HOST is a socket of this test's that counts connections, the runner would leave a file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startVscodeBed, type VscodeBed } from './bed';
import { codeServerMissing, installExtension, packageExtension, startCodeServer, type CodeServer } from './codeServer';
import { codeLensTexts, notifications, openDockerfileInWorkbench, screenshot } from './uiDriver';

let dir: string;
let bed: VscodeBed;
let server: CodeServer;
let browser: Browser;
let page: Page;
let engineSocket: Server;
let engineConnections = 0;
let marker: string;

before(async () => {
  const missing = codeServerMissing();
  assert.equal(missing, undefined, missing);
  dir = mkdtempSync('/tmp/ll-untrusted-');
  const extensions = join(dir, 'extensions');
  await installExtension(await packageExtension(), extensions, join(dir, 'install'));
  bed = await startVscodeBed(join(dir, 'bed'), { engine: false });
  const socketPath = join(dir, 'engine.sock');
  engineSocket = createServer((socket) => {
    engineConnections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => engineSocket.listen(socketPath, resolve));
  // A runner in the workspace's own settings: exactly what an untrusted folder must not get to run.
  marker = join(dir, 'runner-ran');
  mkdirSync(join(bed.facts.workspace, '.vscode'), { recursive: true });
  writeFileSync(
    join(bed.facts.workspace, '.vscode', 'settings.json'),
    JSON.stringify({ 'layerlift.images': [{ dockerfile: 'Dockerfile', image: bed.facts.target.ref }], 'layerlift.prepush.strategy': 'runner', 'layerlift.prepush.runner': `touch ${marker}` }),
  );
  server = await startCodeServer({
    dir: join(dir, 'cs'),
    extensionsDir: extensions,
    env: { ...bed.env, DOCKER_HOST: `unix://${socketPath}` },
    workspaceTrust: true,
    userSettings: { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.banner': 'always', 'editor.minimap.enabled': false },
  });
  bed.proxy.resetStats();
  ({ browser, page } = await openDockerfileInWorkbench(server, dir, bed.facts.workspace));
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
  await bed?.stop();
  await new Promise((resolve) => engineSocket?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Layerlift in an untrusted workspace (real VS Code)', { timeout: 10 * 60_000 }, () => {
  test('the FROM lens says the registry is not checked', async () => {
    const seen = await codeLensTexts(page, /registry not checked \(workspace not trusted\)/, 'untrusted-lens', 60_000);
    assert.ok(seen.texts.some((t) => t.startsWith(`${bed.facts.base.ref} · registry not checked (workspace not trusted)`)), seen.texts.join(' | '));
  });

  test('Push Image from the palette refuses; no registry request, no engine connection, no runner', async () => {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill('>Layerlift: Push Image');
    // Exactly "Push Image" (the fuzzy filter also offers "Pre-push Base Image").
    const row = page.locator('.quick-input-widget .monaco-list-row[aria-label^="Layerlift: Push Image"]').first();
    await row.waitFor({ timeout: 15_000 });
    await row.click();
    let texts: string[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !texts.some((t) => /not trusted/.test(t))) {
      // Test-driver-free runs show toasts; read them (and the center's list) until the answer is there.
      texts = [...(await notifications(page)), ...(await page.locator('.notification-toast').allInnerTexts())];
      await page.waitForTimeout(250);
    }
    await screenshot(page, 'untrusted-push-refused');
    assert.ok(texts.some((t) => /this workspace is not trusted/.test(t)), `notifications: ${JSON.stringify(texts)}`);
    await page.waitForTimeout(2000); // anything the server might still start in the background
    assert.equal(bed.proxy.stats().requests, 0, 'requests reached the registry');
    assert.equal(engineConnections, 0, 'the engine was contacted');
    assert.equal(existsSync(marker), false, 'the runner ran');
  });
});
