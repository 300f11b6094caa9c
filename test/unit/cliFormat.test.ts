// CLI figures (format.ts) and `main(argv, io)` run in-process: exit codes, usage errors and
// the one-line error contract (never a stack trace).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatBytes, formatDuration, shortHex } from '../../server/src/core/format';
import { main, mainHelp } from '../../server/src/cli/main';
import type { CommandIO } from '../../server/src/cli/io';

void describe('formatBytes', () => {
  void it('prints bytes below 1000 as B', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1), '1 B');
    assert.equal(formatBytes(999), '999 B');
  });

  void it('uses decimal units with one decimal below 100', () => {
    assert.equal(formatBytes(1000), '1.0 kB');
    assert.equal(formatBytes(1500), '1.5 kB');
    assert.equal(formatBytes(1024), '1.0 kB');
    assert.equal(formatBytes(99_900), '99.9 kB');
    assert.equal(formatBytes(1_234_567), '1.2 MB');
    assert.equal(formatBytes(29_700_000), '29.7 MB');
    assert.equal(formatBytes(5_000_000_000), '5.0 GB');
    assert.equal(formatBytes(2_500_000_000_000), '2.5 TB');
  });

  void it('drops the decimal from 100 up', () => {
    assert.equal(formatBytes(100_000), '100 kB');
    assert.equal(formatBytes(123_456_789), '123 MB');
    assert.equal(formatBytes(999_000_000), '999 MB');
  });

  void it('stops at TB', () => {
    assert.equal(formatBytes(1e15), '1000 TB');
    assert.equal(formatBytes(12_345e12), '12345 TB');
  });

  void it('never prints a value that rounds up to the next unit', () => {
    assert.equal(formatBytes(999_999), '1.0 MB');
    assert.equal(formatBytes(99_950), '100 kB');
  });
});

void describe('formatDuration', () => {
  void it('prints milliseconds below a second', () => {
    assert.equal(formatDuration(0), '0 ms');
    assert.equal(formatDuration(12.4), '12 ms');
    assert.equal(formatDuration(999), '999 ms');
  });

  void it('prints seconds with one decimal below a minute', () => {
    assert.equal(formatDuration(1000), '1.0 s');
    assert.equal(formatDuration(1250), '1.3 s');
    assert.equal(formatDuration(42_000), '42.0 s');
    assert.equal(formatDuration(59_900), '59.9 s');
  });

  void it('prints minutes and whole seconds from a minute', () => {
    assert.equal(formatDuration(60_000), '1 min 0 s');
    assert.equal(formatDuration(61_400), '1 min 1 s');
    assert.equal(formatDuration(125_000), '2 min 5 s');
    assert.equal(formatDuration(3_600_000), '60 min 0 s');
  });

  void it('never prints 60 seconds', () => {
    assert.equal(formatDuration(119_600), '2 min 0 s');
    assert.equal(formatDuration(59_960), '1 min 0 s');
  });
});

void describe('shortHex', () => {
  const hex = '4f8e2b1c9d0a3e5f7b6c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c';

  void it('takes the first 12 hex digits after the algorithm', () => {
    assert.equal(shortHex(`sha256:${hex}`), '4f8e2b1c9d0a');
    assert.equal(shortHex(`sha512:${'ab'.repeat(64)}`), 'abababababab');
  });

  void it('works on bare hex and on short input', () => {
    assert.equal(shortHex(hex), '4f8e2b1c9d0a');
    assert.equal(shortHex('sha256:abc'), 'abc');
    assert.equal(shortHex(''), '');
  });
});

interface FakeIO extends CommandIO {
  out: string[];
  err: string[];
  raw: string[];
}

let configDir = '';

function fakeIO(): FakeIO {
  const out: string[] = [];
  const err: string[] = [];
  const raw: string[] = [];
  return {
    out,
    err,
    raw,
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    stderrRaw: (text) => raw.push(text),
    stderrIsTTY: false,
    // An empty Docker config: nothing here may read the user's credentials.
    env: { DOCKER_CONFIG: configDir, HOME: configDir, PATH: '' },
  };
}

async function run(...argv: string[]): Promise<{ code: number; io: FakeIO }> {
  const io = fakeIO();
  const code = await main(argv, io);
  return { code, io };
}

function assertNoStack(io: FakeIO): void {
  for (const line of [...io.out, ...io.err, ...io.raw]) {
    assert.ok(!line.includes('    at '), `stack trace printed: ${line}`);
  }
}

void describe('main', () => {
  before(() => {
    configDir = mkdtempSync(join(tmpdir(), 'layerlift-cli-test-'));
  });
  after(() => {
    rmSync(configDir, { recursive: true, force: true });
  });

  void it('--help exits 0 and lists inspect and copy', async () => {
    for (const flag of ['--help', '-h']) {
      const { code, io } = await run(flag);
      assert.equal(code, 0, flag);
      assert.deepEqual(io.err, []);
      assert.equal(io.out.length, 1);
      const help = io.out[0] ?? '';
      assert.equal(help, mainHelp);
      assert.match(help, /^Usage: layerlift COMMAND/);
      assert.match(help, /^ {2}inspect +show an image in a registry/m);
      assert.match(help, /^ {2}copy +copy an image between or within registries/m);
    }
  });

  void it('no arguments prints the help and exits 2', async () => {
    const { code, io } = await run();
    assert.equal(code, 2);
    assert.deepEqual(io.out, [mainHelp]);
  });

  void it('--version prints the version', async () => {
    const { code, io } = await run('--version');
    assert.equal(code, 0);
    assert.deepEqual(io.out, ['0.1.0']);
  });

  void it('help COMMAND prints that command\'s help', async () => {
    const copy = await run('help', 'copy');
    assert.equal(copy.code, 0);
    assert.match(copy.io.out[0] ?? '', /^Usage: layerlift copy SRC DST/);
    const unknown = await run('help', 'nope');
    assert.equal(unknown.code, 0);
    assert.deepEqual(unknown.io.out, [mainHelp]);
  });

  void it('an unknown command exits 2 with one error line (plus the --help pointer) on stderr', async () => {
    const { code, io } = await run('frobnicate', 'x');
    assert.equal(code, 2);
    assert.deepEqual(io.out, []);
    assert.deepEqual(io.err, ['layerlift: unknown command "frobnicate"', 'Run "layerlift --help" for usage.']);
    for (const line of io.err) assert.ok(!line.includes('\n'));
  });

  void it('inspect with no or two references exits 2', async () => {
    const none = await run('inspect');
    assert.equal(none.code, 2);
    assert.deepEqual(none.io.err, ['layerlift: inspect takes one image reference, got 0', 'Run "layerlift inspect --help" for usage.']);
    const two = await run('inspect', 'alpine', 'busybox');
    assert.equal(two.code, 2);
    assert.equal(two.io.err[0], 'layerlift: inspect takes one image reference, got 2');
    assert.deepEqual(two.io.out, []);
  });

  void it('inspect with an invalid reference exits 1 with one line and no stack trace', async () => {
    const { code, io } = await run('inspect', 'bad ref!');
    assert.equal(code, 1);
    assert.deepEqual(io.out, []);
    assert.equal(io.err.length, 1, `stderr: ${JSON.stringify(io.err)}`);
    const line = io.err[0] ?? '';
    assert.ok(line.startsWith('layerlift: invalid image reference'), line);
    assert.ok(line.includes('"bad ref!"'), line);
    assert.ok(!line.includes('\n'), line);
    assert.ok(!line.includes('internal error'), line);
    assertNoStack(io);
  });

  void it('inspect --help exits 0 and shows the inspect usage', async () => {
    const { code, io } = await run('inspect', '--help');
    assert.equal(code, 0);
    assert.match(io.out[0] ?? '', /^Usage: layerlift inspect REF/);
    assert.match(io.out[0] ?? '', /--platform/);
  });

  void it('inspect --bogus exits 2 naming the option', async () => {
    const { code, io } = await run('inspect', '--bogus', 'x');
    assert.equal(code, 2);
    assert.deepEqual(io.out, []);
    assert.equal(io.err.length, 2);
    assert.ok((io.err[0] ?? '').startsWith('layerlift: inspect: '), io.err[0]);
    assert.match(io.err[0] ?? '', /--bogus/);
    assert.equal(io.err[1], 'Run "layerlift inspect --help" for usage.');
    assertNoStack(io);
  });

  void it('copy --help exits 0 and mentions --all', async () => {
    const { code, io } = await run('copy', '--help');
    assert.equal(code, 0);
    assert.deepEqual(io.err, []);
    assert.match(io.out[0] ?? '', /^Usage: layerlift copy SRC DST/);
    assert.match(io.out[0] ?? '', /--all/);
    assert.match(io.out[0] ?? '', /--concurrency N/);
  });

  void it('copy --concurrency 0 exits 2', async () => {
    const { code, io } = await run('copy', '--concurrency', '0', 'a', 'b');
    assert.equal(code, 2);
    assert.deepEqual(io.out, []);
    assert.deepEqual(io.err, ['layerlift: --concurrency must be a whole number above 0, got "0"', 'Run "layerlift copy --help" for usage.']);
  });

  void it('copy rejects other bad numbers too', async () => {
    for (const args of [
      ['--concurrency', '1.5', 'a', 'b'],
      ['--concurrency', 'many', 'a', 'b'],
      ['--chunk-size=0', 'a', 'b'],
    ]) {
      const { code, io } = await run('copy', ...args);
      assert.equal(code, 2, args.join(' '));
      assert.match(io.err[0] ?? '', /must be a whole number above 0/);
    }
  });

  void it('copy needs exactly SRC and DST', async () => {
    const one = await run('copy', 'a');
    assert.equal(one.code, 2);
    assert.equal(one.io.err[0], 'layerlift: copy takes SRC and DST, got 1 argument(s)');
    const three = await run('copy', 'a', 'b', 'c');
    assert.equal(three.code, 2);
  });

  void it('copy with an invalid source exits 1 with one line', async () => {
    const { code, io } = await run('copy', 'UPPER/Case:tag', 'b');
    assert.equal(code, 1);
    assert.equal(io.err.length, 1);
    assert.ok((io.err[0] ?? '').startsWith('layerlift: invalid image reference'), io.err[0]);
    assertNoStack(io);
  });
});
