// .dockerignore semantics: moby/patternmatcher's own test vectors (TestMatches, the
// filepath.Match-derived matchTests, TestCompile behaviour, ignorefile's TestReadAll), Go's
// filepath.Match table, Docker documentation examples, and the walker's directory rules under
// both builders (fsutil's own walker cases: dockerignoreBuildkit.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BadPatternError,
  IgnoreMatcher,
  compileFilepathMatch,
  containsWildcards,
  filepathMatch,
  goClean,
  goRegexpToJs,
  goTrimSpace,
  parseDockerignore,
  readDockerignoreLines,
  type MatchState,
} from '../../server/src/analysis/dockerignore';

/** patternmatcher.MatchesOrParentMatches: no parent state, parents tested from the path. */
function matchesOrParentMatches(patterns: string[], path: string): boolean {
  return new IgnoreMatcher(patterns).match(path).excluded;
}

/** patternmatcher.MatchesUsingParentResults, walking the parents down first (as the test does). */
function matchesUsingParentResults(patterns: string[], path: string): boolean {
  const matcher = new IgnoreMatcher(patterns);
  const parent = path.split('/').slice(0, -1);
  let state: MatchState | undefined;
  // Go: filepath.Dir(text) split on '/', every prefix in turn (skipped when Dir is ".").
  for (let i = 1; i <= parent.length; i++) state = matcher.match(parent.slice(0, i).join('/'), state).state;
  return matcher.match(path, state).excluded;
}

/** patternmatcher.MatchesExact: a parent state saying "nothing matched" disables parent checks. */
function matchesExact(patterns: string[], path: string): boolean {
  const matcher = new IgnoreMatcher(patterns);
  return matcher.match(path, new Array<boolean>(matcher.patterns.length).fill(false)).excluded;
}

type Pass = 'exact' | 'inexact' | 'fail';

// moby/patternmatcher TestMatches (Unix additions included).
const MOBY_MATCHES: [string, string, Pass][] = [
  ['**', 'file', 'exact'],
  ['**', 'file/', 'exact'],
  ['**/', 'file', 'exact'],
  ['**/', 'file/', 'exact'],
  ['**', '/', 'exact'],
  ['**/', '/', 'exact'],
  ['**', 'dir/file', 'exact'],
  ['**/', 'dir/file', 'exact'],
  ['**', 'dir/file/', 'exact'],
  ['**/', 'dir/file/', 'exact'],
  ['**/**', 'dir/file', 'exact'],
  ['**/**', 'dir/file/', 'exact'],
  ['dir/**', 'dir/file', 'exact'],
  ['dir/**', 'dir/file/', 'exact'],
  ['dir/**', 'dir/dir2/file', 'exact'],
  ['dir/**', 'dir/dir2/file/', 'exact'],
  ['**/dir', 'dir', 'exact'],
  ['**/dir', 'dir/file', 'inexact'],
  ['**/dir2/*', 'dir/dir2/file', 'exact'],
  ['**/dir2/*', 'dir/dir2/file/', 'inexact'],
  ['**/dir2/**', 'dir/dir2/dir3/file', 'exact'],
  ['**/dir2/**', 'dir/dir2/dir3/file/', 'exact'],
  ['**file', 'file', 'exact'],
  ['**file', 'dir/file', 'exact'],
  ['**/file', 'dir/file', 'exact'],
  ['**file', 'dir/dir/file', 'exact'],
  ['**/file', 'dir/dir/file', 'exact'],
  ['**/file*', 'dir/dir/file', 'exact'],
  ['**/file*', 'dir/dir/file.txt', 'exact'],
  ['**/file*txt', 'dir/dir/file.txt', 'exact'],
  ['**/file*.txt', 'dir/dir/file.txt', 'exact'],
  ['**/file*.txt*', 'dir/dir/file.txt', 'exact'],
  ['**/**/*.txt', 'dir/dir/file.txt', 'exact'],
  ['**/**/*.txt2', 'dir/dir/file.txt', 'fail'],
  ['**/*.txt', 'file.txt', 'exact'],
  ['**/**/*.txt', 'file.txt', 'exact'],
  ['a**/*.txt', 'a/file.txt', 'exact'],
  ['a**/*.txt', 'a/dir/file.txt', 'exact'],
  ['a**/*.txt', 'a/dir/dir/file.txt', 'exact'],
  ['a/*.txt', 'a/dir/file.txt', 'fail'],
  ['a/*.txt', 'a/file.txt', 'exact'],
  ['a/*.txt**', 'a/file.txt', 'exact'],
  ['a[b-d]e', 'ae', 'fail'],
  ['a[b-d]e', 'ace', 'exact'],
  ['a[b-d]e', 'aae', 'fail'],
  ['a[^b-d]e', 'aze', 'exact'],
  ['.*', '.foo', 'exact'],
  ['.*', 'foo', 'fail'],
  ['abc.def', 'abcdef', 'fail'],
  ['abc.def', 'abc.def', 'exact'],
  ['abc.def', 'abcZdef', 'fail'],
  ['abc?def', 'abcZdef', 'exact'],
  ['abc?def', 'abcdef', 'fail'],
  ['**/foo/bar', 'foo/bar', 'exact'],
  ['**/foo/bar', 'dir/foo/bar', 'exact'],
  ['**/foo/bar', 'dir/dir2/foo/bar', 'exact'],
  ['abc/**', 'abc', 'fail'],
  ['abc/**', 'abc/def', 'exact'],
  ['abc/**', 'abc/def/ghi', 'exact'],
  ['**/.foo', '.foo', 'exact'],
  ['**/.foo', 'bar.foo', 'fail'],
  ['a(b)c/def', 'a(b)c/def', 'exact'],
  ['a(b)c/def', 'a(b)c/xyz', 'fail'],
  ['a.|)$(}+{bc', 'a.|)$(}+{bc', 'exact'],
  ['dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'exact'],
  ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'exact'],
  ['a\\\\', 'a\\', 'exact'],
  ['a\\*b', 'a*b', 'exact'],
];

const MOBY_MULTI: [string[], string, Pass][] = [
  [['**', '!util/docker/web'], 'util/docker/web/foo', 'fail'],
  [['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo', 'exact'],
  [['**', '!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'fail'],
  [['**', '!dist/*.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'fail'],
];

// moby/patternmatcher matchTests (from Go's filepath Match tests), run through Matches(), which
// also tests parent directories. `null` = New() refuses the pattern (ErrBadPattern).
const MOBY_MATCH_TESTS: [string, string, boolean | null][] = [
  ['abc', 'abc', true],
  ['*', 'abc', true],
  ['*c', 'abc', true],
  ['a*', 'a', true],
  ['a*', 'abc', true],
  ['a*', 'ab/c', true],
  ['a*/b', 'abc/b', true],
  ['a*/b', 'a/c/b', false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true],
  ['a*b?c*x', 'abxbbxdbxebxczzy', false],
  ['ab[c]', 'abc', true],
  ['ab[b-d]', 'abc', true],
  ['ab[e-g]', 'abc', false],
  ['ab[^c]', 'abc', false],
  ['ab[^b-d]', 'abc', false],
  ['ab[^e-g]', 'abc', true],
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'ab', false],
  ['a?b', 'a☺b', true],
  ['a[^a]b', 'a☺b', true],
  ['a???b', 'a☺b', false],
  ['a[^a][^a][^a]b', 'a☺b', false],
  ['[a-ζ]*', 'α', true],
  ['*[a-ζ]', 'A', false],
  ['a?b', 'a/b', false],
  ['a*b', 'a/b', false],
  ['[\\]a]', ']', true],
  ['[\\-]', '-', true],
  ['[x\\-]', 'x', true],
  ['[x\\-]', '-', true],
  ['[x\\-]', 'z', false],
  ['[\\-x]', 'x', true],
  ['[\\-x]', '-', true],
  ['[\\-x]', 'a', false],
  ['[]a]', ']', null],
  ['[-]', '-', null],
  ['[x-]', 'x', null],
  ['[x-]', '-', null],
  ['[x-]', 'z', null],
  ['[-x]', 'x', null],
  ['[-x]', '-', null],
  ['[-x]', 'a', null],
  ['\\', 'a', null],
  ['[a-b-c]', 'a', null],
  ['[', 'a', null],
  ['[^', 'a', null],
  ['[^bc', 'a', null],
  ['a[', 'a', null],
  ['a[', 'ab', null],
  ['*x', 'xxx', true],
];

void describe('patternmatcher test vectors', () => {
  void test('TestMatches: MatchesOrParentMatches, MatchesUsingParentResults, MatchesExact', () => {
    for (const [pattern, text, pass] of MOBY_MATCHES) {
      const label = `pattern=${JSON.stringify(pattern)} text=${JSON.stringify(text)}`;
      assert.equal(matchesOrParentMatches([pattern], text), pass !== 'fail', `MatchesOrParentMatches ${label}`);
      assert.equal(matchesUsingParentResults([pattern], text), pass !== 'fail', `MatchesUsingParentResults ${label}`);
      assert.equal(matchesExact([pattern], text), pass === 'exact', `MatchesExact ${label}`);
    }
    for (const [patterns, text, pass] of MOBY_MULTI) {
      const label = `patterns=${JSON.stringify(patterns)} text=${JSON.stringify(text)}`;
      assert.equal(matchesOrParentMatches(patterns, text), pass !== 'fail', label);
      assert.equal(matchesUsingParentResults(patterns, text), pass !== 'fail', label);
    }
  });

  void test('matchTests (Go filepath.Match table through patternmatcher)', () => {
    for (const [pattern, text, want] of MOBY_MATCH_TESTS) {
      const matcher = new IgnoreMatcher([pattern]);
      const label = `pattern=${JSON.stringify(pattern)} text=${JSON.stringify(text)}`;
      if (want === null) {
        assert.equal(matcher.errors.length, 1, `expected ErrBadPattern for ${label}`);
        assert.equal(matcher.match(text).excluded, false);
      } else {
        assert.equal(matcher.errors.length, 0, label);
        assert.equal(matcher.match(goClean(text)).excluded, want, label);
      }
    }
  });

  void test('pattern kinds behave as compiled by patternmatcher (suffix, prefix, regexp)', () => {
    // "**file" compiles to a suffix match: it matches any path ending in "file", even "xfile".
    assert.equal(matchesExact(['**file'], 'dir/xfile'), true);
    // "**/dir" is a suffix match on "/dir" or the path "dir" itself.
    assert.equal(matchesExact(['**/dir'], 'adir'), false);
    assert.equal(matchesExact(['**/dir'], 'a/dir'), true);
    // "dir/**" is a prefix match on "dir/": never the directory itself.
    assert.equal(matchesExact(['dir/**'], 'dir'), false);
    assert.equal(matchesExact(['dir/**'], 'dir/'), true);
    // Characters that mean something to a regexp but not to filepath.Match are literal.
    assert.equal(matchesExact(['a+b*'], 'a+bc'), true);
    assert.equal(matchesExact(['a+b*'], 'aab'), false);
    assert.equal(matchesExact(['{a,b}*'], '{a,b}x'), true);
    assert.equal(matchesExact(['{a,b}*'], 'a'), false);
    // '^' is not escaped: in a regexp pattern it anchors, so nothing matches.
    assert.equal(matchesExact(['a^b*'], 'a^bc'), false);
    assert.equal(matchesExact(['a^b'], 'a^b'), true); // exact match, no regexp involved
    // '[!...]' is not negation for patternmatcher (Go regexp reads '!' literally).
    assert.equal(matchesExact(['[!a]'], '!'), true);
    assert.equal(matchesExact(['[!a]'], 'b'), false);
    // '?' matches one character, not a byte.
    assert.equal(matchesExact(['?'], 'é'), true);
    assert.equal(matchesExact(['??'], 'é'), false);
  });

  void test('patterns that pass filepath.Match but not regexp.Compile are errors', () => {
    // moby/moby#52203
    const matcher = new IgnoreMatcher(['[Local-Only]/']);
    assert.equal(matcher.errors.length, 1);
    assert.equal(matcher.match('x').excluded, false);
  });
});

void describe('reading a .dockerignore', () => {
  void test('ignorefile TestReadAll', () => {
    const content = 'test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ';
    assert.deepEqual(
      readDockerignoreLines(content).map((l) => l.text),
      ['test1', 'test2', 'a/file/here', 'lastfile', '!inverted/abs/path', '!', '!'],
    );
    const parsed = parseDockerignore(content);
    assert.deepEqual(
      parsed.map((p) => [p.pattern, p.exception, p.line, p.error !== undefined]),
      [
        ['test1', false, 0, false],
        ['test2', false, 1, false],
        ['a/file/here', false, 2, false],
        ['lastfile', false, 4, false],
        ['inverted/abs/path', true, 6, false],
        ['', true, 7, true],
        ['', true, 8, true],
      ],
    );
  });

  void test('comments, whitespace, BOM, CRLF, cleaning', () => {
    const text = '\uFEFF*.log\r\n#comment\r\n  # not a comment\n\t./x/../y/ \n!  /foo//bar/\n/\n!/\n a b \n\u00a0z\u00a0\n\uFEFFbom\n';
    const parsed = parseDockerignore(text);
    assert.deepEqual(
      parsed.map((p) => [p.exception ? `!${p.pattern}` : p.pattern, p.error !== undefined]),
      [
        ['*.log', false],
        ['# not a comment', false],
        ['y', false],
        ['!foo/bar', false],
        ['/', false],
        ['!', true], // "!/" cleans to "!", which patternmatcher refuses
        ['a b', false],
        ['z', false], // NBSP is white space for Go's TrimSpace
        ['\uFEFFbom', false], // a BOM after the first line is not white space for Go
      ],
    );
  });

  void test('Go helpers', () => {
    assert.equal(goClean(''), '.');
    assert.equal(goClean('a/b/../../..'), '..');
    assert.equal(goClean('/../a'), '/a');
    assert.equal(goClean('a//b/./c/'), 'a/b/c');
    assert.equal(goClean('!./foo'), '!./foo');
    assert.equal(goTrimSpace('\u2003 x \u3000'), 'x');
    assert.equal(goTrimSpace('\uFEFFx'), '\uFEFFx');
  });
});

void describe('Docker documentation examples', () => {
  const excluded = (ignore: string, path: string) => new IgnoreMatcher(parseDockerignore(ignore)).isExcluded(path);

  void test('the .dockerignore example', () => {
    const ignore = '# comment\n*/temp*\n*/*/temp*\ntemp?\n';
    assert.equal(excluded(ignore, 'somedir/temporary.txt'), true);
    assert.equal(excluded(ignore, 'somedir/temp'), true);
    assert.equal(excluded(ignore, 'somedir/subdir/temporary.txt'), true);
    assert.equal(excluded(ignore, 'tempa'), true);
    assert.equal(excluded(ignore, 'tempb'), true);
    assert.equal(excluded(ignore, 'temp.txt'), false);
    assert.equal(excluded(ignore, 'temp'), false);
    assert.equal(excluded(ignore, 'a/b/c/temp'), false);
  });

  void test('** and exceptions, last match wins', () => {
    assert.equal(excluded('**/*.go', 'a/b/c.go'), true);
    assert.equal(excluded('**/*.go', 'c.go'), true);
    assert.equal(excluded('*.md\n!README.md', 'README.md'), false);
    assert.equal(excluded('*.md\n!README.md', 'CHANGES.md'), true);
    const ordered = '*.md\n!README*.md\nREADME-secret.md';
    assert.equal(excluded(ordered, 'README.md'), false);
    assert.equal(excluded(ordered, 'README-secret.md'), true);
    const reversed = '*.md\nREADME-secret.md\n!README*.md';
    assert.equal(excluded(reversed, 'README-secret.md'), false);
    // A leading '/' and a trailing '/' change nothing.
    assert.equal(excluded('/node_modules/', 'node_modules/x/y.js'), true);
    assert.equal(excluded('/node_modules/', 'src/node_modules/y.js'), false);
  });

  void test('Dockerfile and .dockerignore are like any other path for COPY', () => {
    assert.equal(excluded('Dockerfile\n.dockerignore', 'Dockerfile'), true);
    assert.equal(excluded('Dockerfile\n.dockerignore', '.dockerignore'), true);
    assert.equal(excluded('*', 'Dockerfile'), true);
    assert.equal(excluded('*\n!Dockerfile', 'Dockerfile'), false);
  });
});

void describe('the context walk: excluded directories', () => {
  test('a directory matched by a pattern excludes everything below it', () => {
    const m = new IgnoreMatcher(['node_modules', '.git']);
    assert.equal(m.isExcluded('node_modules', true), true);
    assert.equal(m.isExcluded('node_modules/a/b/c.js'), true);
    assert.equal(m.isExcluded('.git/HEAD'), true);
    assert.equal(m.isExcluded('src/node_modules/x'), false);
    assert.equal(m.canSkipDirectory('node_modules'), true);
  });

  test('an exception that names a path under the directory re-includes it (both builders)', () => {
    for (const rules of ['legacy', 'buildkit'] as const) {
      const m = new IgnoreMatcher(['big', '!big/keep'], { rules });
      assert.equal(m.canSkipDirectory('big'), false, rules);
      assert.equal(m.isExcluded('big/keep/deep/file'), false, rules);
      assert.equal(m.isExcluded('big/other'), true, rules);
      assert.equal(m.canSkipDirectory('big/other'), true, rules);
    }
    const m = new IgnoreMatcher(['big', '!big/keep'], { rules: 'legacy' });
    assert.equal(m.canSkipDirectory('big'), false);
    assert.equal(m.isExcluded('big/keep'), false);
    assert.equal(m.isExcluded('big/keep/deep/file'), false);
    assert.equal(m.isExcluded('big/other'), true);
    assert.equal(m.canSkipDirectory('big/other'), true);
    assert.equal(m.canSkipDirectory('big/kee'), true); // string prefix on whole segments: 'big/keep/' vs 'big/kee/'
  });

  test('legacy builder: an exception that does not start with the directory cannot rescue files inside it', () => {
    const m = new IgnoreMatcher(['big', '!**/keep.txt'], { rules: 'legacy' });
    assert.equal(m.rules, 'legacy');
    assert.equal(m.canSkipDirectory('big'), true);
    assert.equal(m.isExcluded('big/keep.txt'), true); // the legacy walker never looks inside big/
    assert.equal(m.isExcluded('big/x/keep.txt'), true);
    assert.equal(m.match('big/keep.txt').excluded, false); // although the patterns alone say "included"
    assert.equal(m.isExcluded('other/keep.txt'), false);
    const nm = new IgnoreMatcher(['**/node_modules', '!**/node_modules/keep'], { rules: 'legacy' });
    assert.equal(nm.isExcluded('x/node_modules/keep'), true);
  });

  test('BuildKit (the default): a wildcard exception makes the walker enter every excluded directory', () => {
    const m = new IgnoreMatcher(['big', '!**/keep.txt']);
    assert.equal(m.rules, 'buildkit');
    assert.equal(m.canSkipDirectory('big'), false);
    assert.equal(m.isExcluded('big/keep.txt'), false);
    assert.equal(m.isExcluded('big/x/keep.txt'), false); // fsutil walks big/ and big/x/
    assert.equal(m.isExcluded('big/x/other.txt'), true);
    const nm = new IgnoreMatcher(['**/node_modules', '!**/node_modules/keep']);
    assert.equal(nm.isExcluded('x/node_modules/keep'), false);
    assert.equal(nm.isExcluded('x/node_modules/keep/a.js'), false);
    assert.equal(nm.isExcluded('x/node_modules/left-pad/index.js'), true);
    // Without a wildcard in any exception, BuildKit skips like the legacy builder.
    const plain = new IgnoreMatcher(['big', '!keep.txt']);
    assert.equal(plain.canSkipDirectory('big'), true);
    assert.equal(plain.isExcluded('big/keep.txt'), true);
  });

  test('parent results: a pattern skipped for the parent is not re-tested against it', () => {
    const m = new IgnoreMatcher(['q', '!q/b/c', 'q/b'], { rules: 'legacy' });
    assert.equal(m.isExcluded('q/b'), true);
    assert.equal(m.isExcluded('q/b/c'), false); // sent by Docker
    assert.equal(m.isExcluded('q/b/d'), true);
    assert.equal(matchesOrParentMatches(['q', '!q/b/c', 'q/b'], 'q/b/c'), true); // the non-walking answer differs
  });

  test('paths are normalised; the context root is never excluded', () => {
    const m = new IgnoreMatcher(['*']);
    assert.equal(m.isExcluded('.'), false);
    assert.equal(m.isExcluded('./a'), true);
    assert.equal(m.isExcluded('/a/b'), true);
    assert.equal(new IgnoreMatcher([]).isExcluded('a'), false);
  });
});

void describe('filepath.Match (COPY wildcards)', () => {
  // Go's path/filepath matchTests.
  const GO_MATCH: [string, string, boolean | null][] = [
    ...MOBY_MATCH_TESTS.filter(([p, s]) => !(p === 'a*' && s === 'ab/c')),
    ['a*', 'ab/c', false],
    ['a*/b', 'abc/b', true],
    ['*', '', true],
    ['', '', true],
    ['', 'a', false],
    ['a[', 'x', null],
    ['[a-b-c]', 'x', null],
    ['*[', 'x', null],
    ['a/*', 'a/b', true],
    ['a/*', 'a/b/c', false],
  ];

  test('Go table', () => {
    for (const [pattern, name, want] of GO_MATCH) {
      const label = `Match(${JSON.stringify(pattern)}, ${JSON.stringify(name)})`;
      if (want === null) {
        assert.throws(() => filepathMatch(pattern, name), BadPatternError, label);
        assert.throws(() => compileFilepathMatch(pattern), BadPatternError, label);
      } else {
        assert.equal(filepathMatch(pattern, name), want, label);
        assert.equal(compileFilepathMatch(pattern)(name), want, `compiled ${label}`);
      }
    }
  });

  test('the compiled form agrees with the port on classes that may match a slash', () => {
    for (const [pattern, name] of [['a[^x]b', 'a/b'], ['a[/]b', 'a/b'], ['*/[a-c]?', 'x/b/'], ['[\\*]*', '*x'], ['x*y*z', 'xaybz'], ['x*y*z', 'xay/bz']] as const) {
      assert.equal(compileFilepathMatch(pattern)(name), filepathMatch(pattern, name), `${pattern} ${name}`);
    }
    assert.equal(filepathMatch('a[^x]b', 'a/b'), true); // Go: a class is not barred from matching '/'
  });

  test('wildcard detection follows the builder (backslash escapes one character)', () => {
    assert.equal(containsWildcards('a*.txt'), true);
    assert.equal(containsWildcards('a?'), true);
    assert.equal(containsWildcards('[ab]'), true);
    assert.equal(containsWildcards('a\\*b'), false);
    assert.equal(containsWildcards('plain/path'), false);
  });
});

void describe('Go regexp translation', () => {
  test('classes, escapes and anchors', () => {
    assert.equal(goRegexpToJs('^[[:alpha:]]+$').test('abcXYZ'), true);
    assert.equal(goRegexpToJs('^[[:alpha:]]+$').test('ab1'), false);
    assert.equal(goRegexpToJs('^[^[:digit:]]$').test('a'), true);
    assert.equal(goRegexpToJs('^\\d\\w$').test('1_'), true);
    assert.equal(goRegexpToJs('^[]a]$').test(']'), true);
    assert.equal(goRegexpToJs('^a]$').test('a]'), true);
    assert.equal(goRegexpToJs('^\\pL$').test('é'), true);
    assert.equal(goRegexpToJs('^\\p{Greek}$').test('α'), true);
    assert.equal(goRegexpToJs('^.$').test('\n'), false);
    assert.equal(goRegexpToJs('^[^/]$').test('\n'), true);
    assert.throws(() => goRegexpToJs('^[z-a]$'));
    assert.throws(() => goRegexpToJs('^[[:nope:]]$'));
    assert.throws(() => goRegexpToJs('^\\q$'));
    assert.throws(() => goRegexpToJs('^[abc$'));
  });
});
