// What a person sees in the workbench, read through the page: code lens text, a hover, a progress
// notification (and its Cancel button), a view, the command palette. Each check saves a
// screenshot. Used by the launcher (at the suite's request) and by the .vsix test.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchChromium, repoRoot, workbenchUrl, type CodeServer } from './codeServer';

export const artifactsDir = join(repoRoot, 'test-artifacts', 'vscode');

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const path = join(artifactsDir, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const texts = async (locator: Locator): Promise<string[]> => (await locator.allInnerTexts()).map((t) => t.replace(/\u00a0/g, ' '));

/** The code lenses the editor renders, once one matches `expect`. */
export async function codeLensTexts(page: Page, expect: RegExp, name: string, timeoutMs = 30_000): Promise<{ texts: string[]; screenshot: string }> {
  const found = await until(`a code lens matching ${String(expect)}`, timeoutMs, async () => {
    const all = await texts(page.locator('.monaco-editor .codelens-decoration'));
    return all.some((t) => expect.test(t)) ? all : undefined;
  });
  return { texts: found, screenshot: await screenshot(page, name) };
}

/** Moves the mouse over `word` on the editor line that starts with `lineStart`; the hover's text. */
export async function hoverText(page: Page, lineStart: string, word: string, expect: RegExp, name: string): Promise<{ text: string; screenshot: string }> {
  const line = page.locator('.monaco-editor .view-lines .view-line').filter({ hasText: lineStart }).first();
  const text = await until(`a hover matching ${String(expect)}`, 30_000, async () => {
    // The innermost token span holding the word (inlay hints and lenses are separate nodes).
    const token = line.locator('span').filter({ hasText: word }).last();
    const box = await token.boundingBox();
    if (!box) return undefined;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForTimeout(700); // the editor's hover delay is 300 ms
    const shown = await texts(page.locator('.monaco-hover:visible'));
    const match = shown.find((t) => expect.test(t));
    if (!match) await page.mouse.move(0, 0); // leave and come back: it may have said "checking"
    return match;
  });
  const shot = await screenshot(page, name);
  await page.mouse.move(0, 0); // else the hover stays up in every later screenshot
  await page.keyboard.press('Escape');
  return { text, screenshot: shot };
}

/** Waits for a progress notification whose text matches `title`, screenshots it and, with
 *  `cancel`, presses its Cancel button once `beforeCancel` resolved. In test runs
 *  (enable-smoke-test-driver) the workbench shows no toasts at all: a notification then lives in
 *  the notification center, and the status bar carries its progress — a click there opens the
 *  center, as a user would when a toast is hidden. */
export async function progress(page: Page, title: RegExp, name: string, options: { cancel?: boolean; beforeCancel?: () => Promise<void> } = {}): Promise<{ where: 'toast' | 'notification center'; text: string; screenshot: string; cancelled: boolean; after: string[] }> {
  const toast = page.locator('.notification-toast').filter({ hasText: title }).first();
  const status = page.locator('.statusbar-item').filter({ hasText: title }).first();
  const listed = page.locator('.notifications-center .notification-list-item').filter({ hasText: title }).first();
  const center = page.locator('.notifications-center');
  const bell = page.locator('[id="status.notifications"]').first();
  let centerOpened = false;
  const where = await until(`a progress matching ${String(title)}`, 60_000, async () => {
    if (await toast.isVisible()) return 'toast' as const;
    if (await listed.isVisible()) return 'notification center' as const;
    if (await status.isVisible()) {
      await status.click();
      centerOpened = true;
      return undefined;
    }
    // A notification's progress may have no titled status bar entry: open the center from the bell.
    if (!(await center.isVisible().catch(() => false)) && (await bell.isVisible().catch(() => false))) {
      await bell.click();
      centerOpened = true;
    }
    return undefined;
  });
  const shown = where === 'toast' ? toast : listed;
  const cancel = shown.getByRole('button', { name: 'Cancel' });
  const cancellable = (await cancel.count()) > 0;
  if (options.cancel && cancellable) await options.beforeCancel?.();
  const text = (await shown.innerText()).replace(/\u00a0/g, ' ').trim();
  const shot = await screenshot(page, name);
  if (!options.cancel || !cancellable) {
    if (centerOpened) await page.keyboard.press('Escape');
    return { where, text, screenshot: shot, cancelled: false, after: [] };
  }
  await shown.hover(); // a hovered toast is never auto-hidden
  await cancel.click();
  await shown.waitFor({ state: 'hidden', timeout: 30_000 });
  await page.waitForTimeout(1000); // the command's own answer (a notification) follows
  const after = await notifications(page);
  await screenshot(page, `${name}-cancelled`);
  if (where === 'notification center' || centerOpened) await page.keyboard.press('Escape'); // close the center
  return { where, text, screenshot: shot, cancelled: true, after };
}

/** The texts of the notifications: toasts and the notification center's list. */
export async function notifications(page: Page): Promise<string[]> {
  return texts(page.locator('.notification-list-item .notification-list-item-message'));
}

/** The pane of a view (its header's title), expanded; its body text. */
export async function viewText(page: Page, title: string, expect: RegExp, name: string): Promise<{ text: string; screenshot: string }> {
  const pane = page.locator('.pane').filter({ has: page.locator('.pane-header', { hasText: title }) }).first();
  await pane.waitFor({ state: 'visible', timeout: 30_000 });
  const text = await until(`the "${title}" view to show ${String(expect)}`, 30_000, async () => {
    const body = (await pane.locator('.pane-body').innerText()).replace(/\u00a0/g, ' ');
    return expect.test(body) ? body : undefined;
  });
  return { text, screenshot: await screenshot(page, name) };
}

/**
 * The Layer Insight webview's text (webviews are nested iframes: every frame is tried), once it
 * matches `expect`; then, with `open`, clicks the first layer whose text holds it (or, with `keys`,
 * presses those keys from the first layer; `wait:RE` waits for the focused layer's files to match
 * RE) and waits for the opened file list to match `expectFiles`.
 */
export async function webviewText(page: Page, expect: RegExp, name: string, open?: string, expectFiles?: RegExp, keys?: string[]): Promise<{ text: string; files: string; screenshot: string }> {
  const found = await until(`the layer panel to show ${String(expect)}`, 60_000, async () => {
    for (const frame of page.frames()) {
      const tree = frame.locator('#layers');
      if ((await tree.count()) === 0) continue;
      const text = `${await frame.locator('body').innerText()}`.replace(/\u00a0/g, ' ');
      if (expect.test(text)) return { frame, text };
    }
    return undefined;
  });
  let files = '';
  if (keys !== undefined) {
    // Keyboard only: focus the first layer, then the keys as a user presses them.
    await found.frame.locator('.layer').first().click({ position: { x: 2, y: 2 } });
    await found.frame.locator('.layer').first().locator('.files').waitFor({ state: 'attached', timeout: 5_000 }).catch(() => undefined);
    // The click opened the first layer: close it, then keys go to whichever layer has focus.
    for (const key of ['ArrowLeft', ...keys]) {
      // `wait:RE`: as a user reads before the next key, until the focused layer's files match RE.
      if (key.startsWith('wait:')) {
        const shown = new RegExp(key.slice('wait:'.length));
        await until(`the focused layer to show ${String(shown)}`, 30_000, async () => (shown.test(await found.frame.locator('.layer.focused .files').first().innerText().catch(() => '')) ? true : undefined));
        continue;
      }
      await found.frame.locator('.layer.focused').first().press(key);
    }
    files = await until(`the opened layer's files to show ${String(expectFiles)}`, 30_000, async () => {
      const text = (await found.frame.locator('.files').first().innerText()).replace(/\u00a0/g, ' ');
      return !expectFiles || expectFiles.test(text) ? text : undefined;
    });
  } else if (open !== undefined) {
    await found.frame.locator('.layer', { hasText: open }).first().locator('.instruction').click();
    files = await until(`the ${open} layer's files to show ${String(expectFiles)}`, 30_000, async () => {
      const text = (await found.frame.locator('.files').first().innerText()).replace(/\u00a0/g, ' ');
      return !expectFiles || expectFiles.test(text) ? text : undefined;
    });
  }
  return { text: found.text, files, screenshot: await screenshot(page, name) };
}

/** F1, type `filter`: the command palette's entries. */
export async function paletteEntries(page: Page, filter: string, name: string, expectCount: number): Promise<{ entries: string[]; screenshot: string }> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(`>${filter}`);
  const entries = await until(`${expectCount} palette entries for "${filter}"`, 15_000, async () => {
    const rows = await Promise.all((await page.locator('.quick-input-widget .monaco-list-row').all()).map(async (row) => (await row.getAttribute('aria-label')) ?? ''));
    return rows.length >= expectCount ? rows : undefined;
  });
  const shot = await screenshot(page, name);
  await page.keyboard.press('Escape');
  return { entries, screenshot: shot };
}

/** Ctrl+P, the file's name, Enter: opens it in the editor. */
export async function quickOpen(page: Page, fileName: string): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(fileName);
  await page.locator('.quick-input-widget .monaco-list-row').filter({ hasText: fileName }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  await page.locator('.monaco-editor .view-lines').first().waitFor({ state: 'visible', timeout: 15_000 });
}

/** Chromium on the workbench of `folder`, with its Dockerfile open: how a person starts. */
export async function openDockerfileInWorkbench(server: CodeServer, dir: string, folder: string): Promise<{ browser: Browser; page: Page }> {
  const browser = await launchChromium(dir);
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(workbenchUrl(server, folder));
  await quickOpen(page, 'Dockerfile');
  return { browser, page };
}
