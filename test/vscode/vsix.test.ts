// The packaged extension as a user gets it: `npm run package`, then
// `code-server --install-extension layerlift.vsix` into a fresh extensions dir, and the editor
// opened in Chromium on the sample project. Checked only through the page, as a person sees it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { shortHex } from '../../server/src/core/format';
import { startVscodeBed, type VscodeBed } from './bed';
import { codeServerMissing, installExtension, packageExtension, repoRoot, startCodeServer, type CodeServer } from './codeServer';
import { expectedLens } from './suite/facts';
import { escapeRegExp } from './suite/helpers';
import { codeLensTexts, hoverText, openDockerfileInWorkbench, paletteEntries } from './uiDriver';

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { contributes: { commands: { command: string; title: string; category?: string }[]; menus?: { commandPalette?: { command: string; when?: string }[] } } };
let dir: string;
let bed: VscodeBed;
let server: CodeServer;
let browser: Browser;
let page: Page;

before(async () => {
  const missing = codeServerMissing();
  assert.equal(missing, undefined, missing);
  dir = mkdtempSync('/tmp/ll-vsix-');
  const vsix = await packageExtension();
  const extensions = join(dir, 'extensions');
  await installExtension(vsix, extensions, join(dir, 'install'));
  bed = await startVscodeBed(join(dir, 'bed'), { engine: false });
  server = await startCodeServer({ dir: join(dir, 'cs'), extensionsDir: extensions, env: bed.env, userSettings: { 'editor.minimap.enabled': false } });
  ({ browser, page } = await openDockerfileInWorkbench(server, dir, bed.facts.workspace));
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
  await bed?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Layerlift installed from its .vsix into a fresh code-server', { timeout: 10 * 60_000 }, () => {
  test('the FROM line shows the base size and what the registry holds', async () => {
    const expected = expectedLens(bed.facts);
    const seen = await codeLensTexts(page, new RegExp(escapeRegExp(expected)), 'vsix-lens', 60_000);
    assert.ok(seen.texts.some((t) => t.includes(expected)), seen.texts.join(' | '));
  });

  test('hovering the base image shows the layer table', async () => {
    const seen = await hoverText(page, 'FROM', 'app-base', /Layer[\s\S]*Compressed/, 'vsix-hover');
    for (const digest of bed.facts.base.digests) assert.ok(seen.text.includes(shortHex(digest)), `the hover lists ${shortHex(digest)}: ${seen.text}`);
    assert.ok(seen.text.includes(`${bed.facts.host}/${bed.facts.target.repository}`), seen.text);
  });

  test('F1 "Layerlift" lists the Layerlift commands', async () => {
    // Those the manifest keeps out of the palette (`"when": "false"`) are not expected there.
    const hidden = new Set((manifest.contributes.menus?.commandPalette ?? []).filter((m) => m.when === 'false').map((m) => m.command));
    const expected = manifest.contributes.commands.filter((c) => c.category === 'Layerlift' && !hidden.has(c.command)).map((c) => `Layerlift: ${c.title}`);
    const seen = await paletteEntries(page, 'Layerlift', 'vsix-palette', expected.length);
    const missing = expected.filter((label) => !seen.entries.some((entry) => entry.startsWith(label)));
    assert.deepEqual(missing, [], `palette shows: ${seen.entries.join(' | ')}`);
  });
});
