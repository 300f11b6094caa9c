// ARCHITECTURE.md's import rules, checked: the core stays pure, the client stays thin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

function importsOf(dir: string): { file: string; from: string }[] {
  return readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.ts'))
    .flatMap((file) => [...readFileSync(join(root, dir, file), 'utf8').matchAll(/^import\s[^;]*?from '([^']+)';/gm)].map((m) => ({ file: `${dir}/${file}`, from: m[1] ?? '' })));
}

test('server/src/core imports no I/O, no LSP, no network and no other layer', () => {
  const forbidden = /^(node:)?(fs|fs\/promises|net|http|https|child_process|dgram|tls)$|^undici$|^vscode|^\.\.\//;
  const offending = importsOf('server/src/core').filter((i) => forbidden.test(i.from));
  assert.deepEqual(offending, []);
});

test('server/src/analysis imports no I/O, no LSP and no network', () => {
  const forbidden = /^(node:)?(fs|fs\/promises|net|http|https|child_process|dgram|tls)$|^undici$|^vscode|\/(registry|remote|context|engine|lsp|cli|copy)\//;
  const offending = importsOf('server/src/analysis').filter((i) => forbidden.test(i.from));
  assert.deepEqual(offending, []);
});

test('the VS Code client does not import the server (but its protocol names), undici or the file system', () => {
  const forbidden = /server\/src|^undici$|^(node:)?(fs|fs\/promises|net|http|https|child_process)$/;
  const offending = importsOf('client/src').filter((i) => forbidden.test(i.from) && i.from !== '../../server/src/lsp/protocol');
  assert.deepEqual(offending, []);
});

test('the protocol module the client shares imports nothing', () => {
  assert.deepEqual(importsOf('server/src/lsp').filter((i) => i.file === 'server/src/lsp/protocol.ts'), []);
  assert.doesNotMatch(readFileSync(join(root, 'server/src/lsp/protocol.ts'), 'utf8'), /\brequire\(|^import\b/m);
});

test('the .vsix allowlist ships every bundle esbuild makes', () => {
  const build = readFileSync(join(root, 'scripts', 'build.mjs'), 'utf8');
  const bundles = [...build.matchAll(/entryPoints: \{ (\w+):/g)].map((m) => m[1]);
  assert.ok(bundles.length >= 4, `bundles found: ${bundles.join(', ')}`);
  const allow = readFileSync(join(root, '.vscodeignore'), 'utf8');
  for (const name of bundles) assert.ok(allow.includes(`!dist/${name}.js`), `.vscodeignore must allow dist/${name}.js`);
});
