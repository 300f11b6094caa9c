// BuildKit's .dockerignore walk, proven by fsutil's own walker cases (tonistiigi/fsutil
// filter_test.go: TestWalkerExclude, TestFSWalkNested, TestFilteredOpen, TestFilteredOpenInvert,
// TestWalkerPermissionDenied, TestInvalidExcludePatterns) and the NewFilterFS rule
// (onlyPrefixExcludeExceptions, patternWithoutTrailingGlob). Each tree is written to a temporary
// directory and walked by the real ContextScanner; the paths it keeps must be the lines fsutil's
// test expects (`dir foo`, `file foo/bar2`: an excluded directory appears only as the parent of
// something sent, as fsutil's Walk calls fn for it lazily). The legacy builder's answers for the
// same trees are checked against a real engine in test/integration/contextEstimate.test.ts.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IgnoreMatcher, onlyPrefixExcludeExceptions, parseDockerignore, patternWithoutTrailingGlob, type IgnoreRules } from '../../server/src/analysis/dockerignore';
import { builderKindFor, ignoreRulesFor, needsBuildxProbe } from '../../server/src/analysis/builderChoice';
import { ContextScanner } from '../../server/src/context/contextScanner';

interface WalkCase {
  name: string;
  /** fsutil's changeStream: `ADD path dir|file`. */
  tree: string[];
  excludes: string[];
  /** What fsutil's bufWalk prints (BuildKit); for the legacy builder when it differs. */
  expected: string[];
  legacy?: string[];
}

const CASES: WalkCase[] = [
  {
    name: 'TestWalkerExclude: foo*, !foo/bar2',
    tree: ['ADD bar file', 'ADD foo dir', 'ADD foo2 file', 'ADD foo/bar2 file'],
    excludes: ['foo*', '!foo/bar2'],
    expected: ['file bar', 'dir foo', 'file foo/bar2'],
  },
  {
    name: 'TestFSWalkNested: foo, !foo/bar',
    tree: ['ADD foo dir', 'ADD foo/bar file'],
    excludes: ['foo', '!foo/bar'],
    expected: ['dir foo', 'file foo/bar'],
  },
  {
    name: 'TestFilteredOpen: bar',
    tree: ['ADD foo file', 'ADD bar file'],
    excludes: ['bar'],
    expected: ['file foo'],
  },
  {
    name: 'TestFilteredOpenInvert: foo, !foo/bar, foo/bar/baz, !foo/bar/baz/x',
    tree: ['ADD foo dir', 'ADD foo/bar dir', 'ADD foo/bar/baz dir', 'ADD foo/bar/baz/x file', 'ADD foo/bar/baz/y file'],
    excludes: ['foo', '!foo/bar', 'foo/bar/baz', '!foo/bar/baz/x'],
    expected: ['dir foo', 'dir foo/bar', 'dir foo/bar/baz', 'file foo/bar/baz/x'],
  },
  {
    // fsutil makes foo/bar unreadable (as non-root) to prove it is never entered; here it is an
    // empty directory, so only what is sent is compared.
    name: 'TestWalkerPermissionDenied: **/bar',
    tree: ['ADD foo dir', 'ADD foo/bar dir'],
    excludes: ['**/bar'],
    expected: ['dir foo'],
  },
  {
    name: 'TestWalkerPermissionDenied: **/bar, !foo/bar/baz',
    tree: ['ADD foo dir', 'ADD foo/bar dir'],
    excludes: ['**/bar', '!foo/bar/baz'],
    expected: ['dir foo'],
  },
  {
    name: 'TestWalkerPermissionDenied: **/bar, !foo/bar (foo/bar is sent)',
    tree: ['ADD foo dir', 'ADD foo/bar dir'],
    excludes: ['**/bar', '!foo/bar'],
    expected: ['dir foo', 'dir foo/bar'],
  },
  {
    name: 'issue 14: big, !**/keep.txt',
    tree: ['ADD big dir', 'ADD big/junk file', 'ADD big/keep.txt file', 'ADD big/x dir', 'ADD big/x/keep.txt file', 'ADD keep.txt file'],
    excludes: ['big', '!**/keep.txt'],
    expected: ['dir big', 'file big/keep.txt', 'dir big/x', 'file big/x/keep.txt', 'file keep.txt'],
    legacy: ['file keep.txt'],
  },
  {
    name: 'issue 14: **/node_modules, !**/node_modules/keep',
    tree: ['ADD x dir', 'ADD x/node_modules dir', 'ADD x/node_modules/keep file', 'ADD x/node_modules/pad dir', 'ADD x/node_modules/pad/index.js file', 'ADD x/a.js file'],
    excludes: ['**/node_modules', '!**/node_modules/keep'],
    expected: ['dir x', 'file x/a.js', 'dir x/node_modules', 'file x/node_modules/keep'],
    legacy: ['dir x', 'file x/a.js'],
  },
  {
    // A trailing /** or /* is trimmed before the wildcard test: still prefix-only, so the
    // walker skips what no exception starts with, like the legacy builder.
    name: 'trailing glob trimmed: a, b, !a/keep/**',
    tree: ['ADD a dir', 'ADD a/keep dir', 'ADD a/keep/k file', 'ADD a/other file', 'ADD b dir', 'ADD b/keep dir', 'ADD b/keep/k file'],
    excludes: ['a', 'b', '!a/keep/**'],
    expected: ['dir a', 'dir a/keep', 'file a/keep/k'],
  },
];

/** fsutil's bufWalk lines from a scanner snapshot, in walk (lexical) order. */
function walkLines(snapshot: ReadonlyMap<string, { isDirectory: boolean }>): string[] {
  return [...snapshot]
    .filter(([path]) => path !== '.dockerignore')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, e]) => `${e.isDirectory ? 'dir' : 'file'} ${path}`);
}

void describe("BuildKit's context walk: fsutil's own cases, through the context scanner", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'll-fsutil-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  CASES.forEach((c, index) => {
    for (const rules of ['buildkit', 'legacy'] as IgnoreRules[]) {
      if (rules === 'legacy' && c.legacy === undefined) continue;
      void test(`${c.name} (${rules})`, async () => {
        const dir = join(root, `${index}-${rules}`);
        await mkdir(dir, { recursive: true });
        for (const line of c.tree) {
          const [, path, kind] = line.split(' ') as [string, string, string];
          if (kind === 'dir') await mkdir(join(dir, path), { recursive: true });
          else await writeFile(join(dir, path), `${path}\n`);
        }
        await writeFile(join(dir, '.dockerignore'), `${c.excludes.join('\n')}\n`);
        const scanner = new ContextScanner(dir, { ignoreRules: rules });
        const snapshot = await scanner.scan();
        assert.equal(scanner.ignoreRules(), rules);
        assert.deepEqual(walkLines(snapshot), rules === 'legacy' ? c.legacy : c.expected);
      });
    }
  });
});

void describe('incremental updates under BuildKit rules end where a fresh scan does', () => {
  void test('a keep file appears in a new directory below an excluded one (big + !**/keep.txt)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'll-fsutil-inc-'));
    try {
      await mkdir(join(dir, 'big'), { recursive: true });
      await writeFile(join(dir, 'big', 'junk'), 'junk\n');
      await writeFile(join(dir, '.dockerignore'), 'big\n!**/keep.txt\n');
      const scanner = new ContextScanner(dir, { ignoreRules: 'buildkit' });
      await scanner.scan();
      assert.deepEqual(walkLines(scanner.snapshot()), []);
      await mkdir(join(dir, 'big', 'z'), { recursive: true });
      await writeFile(join(dir, 'big', 'z', 'keep.txt'), 'kept\n');
      await writeFile(join(dir, 'big', 'z', 'other.txt'), 'excluded\n');
      await scanner.fileChanged('big/z'); // only the new directory is reported
      const fresh = await new ContextScanner(dir, { ignoreRules: 'buildkit' }).scan();
      assert.deepEqual(walkLines(scanner.snapshot()), walkLines(fresh));
      assert.deepEqual(walkLines(fresh), ['dir big', 'dir big/z', 'file big/z/keep.txt']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

void describe('fsutil NewFilterFS: when excluded directories may be skipped', () => {
  void test('TestInvalidExcludePatterns: `!` alone is refused', () => {
    const [pattern] = parseDockerignore('!\n');
    assert.match(pattern!.error ?? '', /illegal exclusion pattern/);
  });

  void test('patternWithoutTrailingGlob trims one /** and then one /*', () => {
    assert.equal(patternWithoutTrailingGlob('a/b/**'), 'a/b');
    assert.equal(patternWithoutTrailingGlob('a/b/*'), 'a/b');
    assert.equal(patternWithoutTrailingGlob('a/**/*'), 'a/**');
    assert.equal(patternWithoutTrailingGlob('a/*/**'), 'a');
    assert.equal(patternWithoutTrailingGlob('**'), '**');
    assert.equal(patternWithoutTrailingGlob('a*'), 'a*');
  });

  void test('onlyPrefixExcludeExceptions: any of *[]?^\\ left after the trim', () => {
    assert.equal(onlyPrefixExcludeExceptions([]), true);
    assert.equal(onlyPrefixExcludeExceptions(['big/keep', 'a/b/**', 'c/*']), true);
    for (const p of ['**/keep.txt', 'fo?', 'a[bc]', 'a^b', 'a\\b', 'a/**/*', '*.md']) assert.equal(onlyPrefixExcludeExceptions([p]), false, p);
  });

  void test('the patterns alone (MatchesOrParentMatches) agree with TestFilteredOpenInvert', () => {
    const m = new IgnoreMatcher(['foo', '!foo/bar', 'foo/bar/baz', '!foo/bar/baz/x']);
    assert.equal(m.match('foo/bar/baz/x').excluded, false);
    assert.equal(m.match('foo/bar/baz/y').excluded, true);
  });
});

void describe('the builder, decided as docker decides (shared with push/builder.ts)', () => {
  void test('DOCKER_BUILDKIT=0 legacy, =1 BuildKit, otherwise BuildKit where buildx is installed', () => {
    assert.equal(builderKindFor('0', true), 'legacy');
    assert.equal(builderKindFor('1', true), 'buildx');
    assert.equal(builderKindFor('1', false), 'buildkit');
    assert.equal(builderKindFor(undefined, true), 'buildx');
    assert.equal(builderKindFor(undefined, false), 'legacy');
    assert.equal(needsBuildxProbe('0'), false);
    assert.equal(needsBuildxProbe(undefined), true);
    assert.equal(ignoreRulesFor('buildx'), 'buildkit');
    assert.equal(ignoreRulesFor('buildkit'), 'buildkit');
    assert.equal(ignoreRulesFor('legacy'), 'legacy');
  });
});
