// Fuzzing the language server over stdio: mutated real Dockerfiles, binary garbage, megabyte
// lines, deep continuations, each followed by lens, inlay-hint and hover requests. The server
// must never crash or hang; latencies are reported. (`npm run fuzz:lsp` runs 10,000 cases.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeTempDir } from '../bed/process';
import { startLspClient, type TestLspClient } from '../lsp/lspClient';
import { loadCorpus, mutate, prng } from '../lsp/mutate';

const cases = Number(process.env.LAYERLIFT_FUZZ_CASES ?? 300);
let work: { path: string; remove: () => Promise<void> };
let lsp: TestLspClient;

before(async () => {
  work = await makeTempDir('lsp-fuzz');
  await writeFile(join(work.path, 'app.txt'), 'x');
  // A target on a port nothing listens on: registry errors are part of what is fuzzed.
  lsp = await startLspClient({ rootPath: work.path, settings: { images: [{ dockerfile: 'Dockerfile', image: '127.0.0.1:9/team/app:1' }], mirrors: { 'docker.io/library/*': '127.0.0.1:9/hub/*' } } });
});
after(async () => {
  await lsp?.stop();
  await work?.remove();
});

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer in ${ms} ms`)), ms))]);
}

test(`${cases} mutated Dockerfiles: no crash, no hang`, async () => {
  const corpus = loadCorpus();
  const random = prng(20261123);
  const uri = pathToFileURL(join(work.path, 'Dockerfile')).toString();
  await lsp.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'dockerfile', version: 0, text: corpus[0] } });
  const latencies: number[] = [];
  for (let i = 1; i <= cases; i++) {
    const text = mutate(corpus, random);
    await lsp.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version: i }, contentChanges: [{ text }] });
    const lines = text.split('\n').length;
    const line = Math.floor(random() * lines);
    for (const [method, params] of [
      ['textDocument/codeLens', { textDocument: { uri } }],
      ['textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: lines, character: 0 } } }],
      ['textDocument/hover', { textDocument: { uri }, position: { line, character: Math.floor(random() * 20) } }],
    ] as const) {
      const started = performance.now();
      await within(lsp.connection.sendRequest(method, params), 5000, `case ${i} ${method}`);
      latencies.push(performance.now() - started);
    }
  }
  assert.equal(lsp.process.exitCode, null, 'the server is still running');
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  const over = latencies.filter((l) => l > 100).length;
  console.log(`fuzz: ${cases} cases, ${latencies.length} requests; median ${p(0.5).toFixed(1)} ms, p99 ${p(0.99).toFixed(1)} ms, max ${p(1).toFixed(1)} ms; ${over} over 100 ms`);
  assert.ok(latencies.length === cases * 3);
});
