// Variable expansion as BuildKit's shell lexer does it. The vectors come from moby/buildkit
// frontend/dockerfile/shell (lex_test.go TestProcessWithMatches, the envVarTest and wordsTest
// tables), so a difference from Docker shows up here first.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { expandWord, splitWords } from '../../server/src/analysis/argExpansion';
import { replaceShellPattern, trimShellPattern } from '../../server/src/analysis/shellPattern';

const ERROR = Symbol('error');
type Expected = string | typeof ERROR;

/** envVarTest's environment. */
const ENV = new Map([
  ['PWD', '/home'],
  ['SHELL', 'bash'],
  ['KOREAN', '한국어'],
  ['NULL', ''],
]);

void describe('expandWord: envVarTest vectors (escape \\)', () => {
  const cases: [string, Expected][] = [
    ['hello', 'hello'],
    ["he'll'o", 'hello'],
    ["he'llo", ERROR],
    ["he\\'llo", "he'llo"],
    ["he\\\\'llo", ERROR],
    ['abc\\tdef', 'abctdef'],
    ['"abc\\tdef"', 'abc\\tdef'],
    ['"abc\\\\tdef"', 'abc\\tdef'],
    ["'abc\\tdef'", 'abc\\tdef'],
    ['hello\\', 'hello'],
    ['hello\\\\', 'hello\\'],
    ['"hello', ERROR],
    ['"hello\\"', ERROR],
    ['"hel\'lo"', "hel'lo"],
    ["'hello", ERROR],
    ["'hello\\'", 'hello\\'],
    ["'hello\\there'", 'hello\\there'],
    ['"\'\'"', "''"],
    ['$.', '$.'],
    ['he$1x', 'hex'],
    ['he$.x', 'he$.x'],
    ['he$pwd.', 'he.'],
    ['he$PWD', 'he/home'],
    ['he\\$PWD', 'he$PWD'],
    ['he\\\\$PWD', 'he\\/home'],
    ['"he\\$PWD"', 'he$PWD'],
    ['"he\\\\$PWD"', 'he\\/home'],
    ['\\${}', '${}'],
    ['\\${}aaa', '${}aaa'],
    ['he\\${}xx', 'he${}xx'],
    ['${}', ERROR],
    ['he${}xx', ERROR],
    ['he${hi}', 'he'],
    ['he${hi}xx', 'hexx'],
    ['he${PWD}', 'he/home'],
    ['he${.}', ERROR],
    ['he${XXX:-000}xx', 'he000xx'],
    ['he${PWD:-000}xx', 'he/homexx'],
    ['he${XXX:-$PWD}xx', 'he/homexx'],
    ['he${XXX:-${PWD:-yyy}}xx', 'he/homexx'],
    ['he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'],
    ['he${XXX:YYY}', ERROR],
    ['he${XXX?}', ERROR],
    ['he${XXX:?}', ERROR],
    ['he${PWD?}', 'he/home'],
    ['he${PWD:?}', 'he/home'],
    ['he${NULL?}', 'he'],
    ['he${NULL:?}', ERROR],
    ['he${XXX:+${PWD}}xx', 'hexx'],
    ['he${PWD:+${XXX}}xx', 'hexx'],
    ['he${PWD:+${SHELL}}xx', 'hebashxx'],
    ['he${XXX:+000}xx', 'hexx'],
    ['he${PWD:+000}xx', 'he000xx'],
    ["'he${XX}'", 'he${XX}'],
    ['"he${PWD}"', 'he/home'],
    ['"he\'$PWD\'"', "he'/home'"],
    ['"$PWD"', '/home'],
    ["'$PWD'", '$PWD'],
    ["'\\$PWD'", '\\$PWD'],
    ['\'"hello"\'', '"hello"'],
    ['he${PWD', ERROR],
    ['he${PWD:=000}xx', ERROR],
    ['he${PWD:+${PWD}:}xx', 'he/home:xx'],
    ['he${XXX:-\\$PWD:}xx', 'he$PWD:xx'],
    ['he${XXX:-\\${PWD}z}xx', 'he${PWDz}xx'],
    ['안녕하세요', '안녕하세요'],
    ["안'녕'하세요", '안녕하세요'],
    ["안'녕하세요", ERROR],
    ["안녕\\'하세요", "안녕'하세요"],
    ['안녕$PWD', '안녕/home'],
    ['$KOREAN', '한국어'],
    ['안녕$KOREAN', '안녕한국어'],
    ['${{aaa}', ERROR],
    ['${aaa}}', '}'],
    ['${aaa', ERROR],
    ['${{aaa}}', ERROR],
    ['${aaa}}}', '}}'],
    ['$$', ''], // $$ is the special parameter "$", never set
    ['${', ERROR],
    ['${:}', ERROR],
  ];
  for (const [input, expected] of cases) {
    void test(`${input} → ${expected === ERROR ? 'error' : JSON.stringify(expected)}`, () => {
      const result = expandWord(input, ENV);
      if (expected === ERROR) {
        assert.ok(result.error !== undefined, `expected an error, got ${JSON.stringify(result.value)}`);
        assert.match(result.error, /^failed to process /);
      } else {
        assert.equal(result.error, undefined);
        assert.equal(result.value, expected);
      }
    });
  }
});

void describe('expandWord: lex_test.go TestProcessWithMatches', () => {
  const cases: [string, Record<string, string>, Expected, string[]?, string[]?][] = [
    ['x', { DUMMY: 'dummy' }, 'x', [], []],
    ['x ${UNUSED}', { DUMMY: 'dummy' }, 'x ', [], ['UNUSED']],
    ['x ${FOO}', { FOO: 'y' }, 'x y', ['FOO'], []],
    ['${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx  ccc', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx bbb ccc', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO:-}', { FOO: 'xxx', BAR: '' }, 'xxx', ['FOO'], []],
    ['${FOO:-}', {}, '', [], ['FOO']],
    ['${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa bbb ', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa  ', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO?aaa}', { FOO: 'xxx', BAR: '' }, 'xxx'],
    ['${BAR?bbb}', { FOO: 'xxx', BAR: '' }, ''],
    ['${BAZ?ccc}', { FOO: 'xxx', BAR: '' }, ERROR],
    ['${FOO:?aaa}', { FOO: 'xxx', BAR: '' }, 'xxx'],
    ['${BAR:?bbb}', { FOO: 'xxx', BAR: '' }, ERROR],
    ['${BAZ:?ccc}', { FOO: 'xxx', BAR: '' }, ERROR],
    ['${BAZ:?}', { FOO: 'xxx', BAR: '' }, ERROR],
    ['${FOO=aaa}', { FOO: 'xxx', BAR: '' }, ERROR],
    ['${FOO=:aaa}', { FOO: 'xxx', BAR: '' }, ERROR],
    ['${FOO=}', {}, ERROR],
    ['${FOO#()[]{\\}^$.\\*\\?|\\\\}', { FOO: '()[]{}^$.*?|\\x' }, 'x'],
    ['${FOO%%\\**}', { FOO: 'xx**' }, 'xx'],
    ['${FOO#*x*y}', { FOO: 'xxyy' }, 'y'],
    ['${FOO#*}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: 'x' }, 'xyy'],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: '' }, 'xxyy'],
    ['${FOO#}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO##*x}', { FOO: 'xxyy' }, 'yy'],
    ['${FOO##}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO#?\\?}', { FOO: '???y' }, '?y'],
    ['${ABC:-.}${FOO%x}${ABC:-.}', { FOO: 'xxyy' }, '.xxyy.', ['FOO'], ['ABC']],
    ['${FOO%%\\**\\*}', { FOO: 'a***yy*' }, 'a'],
    ['${FOO%}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO%%$BAR}', { FOO: 'xxyy', BAR: '' }, 'xxyy'],
    ['${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}', { FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' }, '/foo.*/*.txt - /foo..*.txt'],
    ['${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}', { FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' }, '/tmp/bar.txt - /bar.txt'],
    ['${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}', { FOO: '/a/foo/b/c.txt', NEEDLE: '/?/', REPLACEMENT: '/' }, '/foo/b/c.txt - /foo/c.txt'],
    ['${FOO/$NEEDLE/$REPLACEMENT}', { FOO: 'http://google.de', NEEDLE: 'http://', REPLACEMENT: 'https://' }, 'https://google.de'],
    ['${FOO//\\//\\/}', { FOO: '/tmp/foo.txt' }, '\\/tmp\\/foo.txt'],
    ['${FOO/$BAR/ww}', { FOO: 'xxyy', BAR: '' }, 'wwxxyy'],
    ['${FOO//ww}', { FOO: 'xxyy' }, ERROR],
    ['${FOO//}', { FOO: 'xxyy' }, ERROR],
    ['${FOO///}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO///}', {}, '', [], ['FOO']],
    // TestShellParserMandatoryEnvVars
    ['${VAR:?message here$ARG}', { VAR: 'plain', ARG: 'x' }, 'plain'],
    ['${VAR?message here$ARG}', { VAR: '', ARG: 'x' }, ''],
    // TestProcessWithMatchesPlatform
    ['something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz', { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm', TARGETVARIANT: 'v7' }, 'something-v1.2.3.linux-arm-v7.tar.gz'],
    ['something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz', { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm64', TARGETVARIANT: '' }, 'something-v1.2.3.linux-arm64.tar.gz'],
  ];
  for (const [input, env, expected, matched, unmatched] of cases) {
    void test(`${input} with ${JSON.stringify(env)}`, () => {
      const result = expandWord(input, new Map(Object.entries(env)));
      if (expected === ERROR) {
        assert.ok(result.error !== undefined, `expected an error, got ${JSON.stringify(result.value)}`);
        return;
      }
      assert.equal(result.error, undefined);
      assert.equal(result.value, expected);
      if (matched !== undefined) assert.deepEqual([...result.matched].sort(), [...matched].sort());
      if (unmatched !== undefined) assert.deepEqual([...result.unmatched].sort(), [...unmatched].sort());
    });
  }

  void test('mandatory variables report their message', () => {
    assert.match(expandWord('${VAR:?message here$ARG}', new Map([['VAR', ''], ['ARG', 'x']])).error ?? '', /VAR: message herex/);
    assert.match(expandWord('${VAR?message here$ARG}', new Map([['ARG', 'x']])).error ?? '', /VAR: message herex/);
    assert.match(expandWord('${VAR:?}', new Map([['VAR', '']])).error ?? '', /VAR: is not allowed to be empty/);
    assert.match(expandWord('${VAR?}', new Map()).error ?? '', /VAR: is not allowed to be unset/);
  });
});

void describe('expandWord: the backtick escape (# escape=`)', () => {
  const opts = { escape: '`' };
  const cases: [string, Expected][] = [
    ['C:\\app\\bin', 'C:\\app\\bin'], // backslashes are ordinary characters
    ['he`$PWD', 'he$PWD'],
    ['he``$PWD', 'he`/home'],
    ['"he`$PWD"', 'he$PWD'],
    ['"C:\\$PWD"', 'C:\\/home'],
    ['"a`"b"', 'a"b'],
    ['"a`xb"', 'a`xb'], // only " $ and ` can be escaped in double quotes
    ['a`', 'a'],
    ["'`$PWD'", '`$PWD'],
    ['${XXX:-`}}', '}'],
  ];
  for (const [input, expected] of cases) {
    void test(`${input} → ${expected === ERROR ? 'error' : JSON.stringify(expected)}`, () => {
      const result = expandWord(input, ENV, opts);
      assert.equal(result.error, undefined);
      assert.equal(result.value, expected);
    });
  }
});

void describe('splitWords: ProcessWords word splitting', () => {
  const env = new Map([['PWD', '/home'], ['TWO', 'a b'], ['EMPTY', '']]);
  const cases: [string, string[], Parameters<typeof splitWords>[2]?][] = [
    ['hello', ['hello']],
    ['hello world', ['hello', 'world']],
    ['  hello   world  ', ['hello', 'world']],
    ['"hello world"', ['hello world']],
    ["'hello world' x", ['hello world', 'x']],
    ['hello\\ world', ['hello world']],
    ['$TWO', ['a', 'b']], // unquoted expansions split
    ['"$TWO"', ['a b']],
    ['x$EMPTY y', ['x', 'y']],
    ['""', []], // an empty quoted word is dropped by ProcessWords
    ['a "" b', ['a', 'b']],
    ['<< EOF', ['<< EOF']], // newer lex.go: blanks after << stay in the word
    ['cat <<EOF>out', ['cat', '<<EOF>out']],
    ['a < b', ['a', '<', 'b']],
    ['"<<EOF" x', ['"<<EOF"', 'x'], { rawQuotes: true }],
    ['$UNSET x', ['$UNSET', 'x'], { skipUnsetEnv: true }],
    ['he\\$PWD', ['he\\$PWD'], { rawEscapes: true, skipUnsetEnv: true }],
  ];
  for (const [input, expected, options] of cases) {
    void test(`${input} → ${JSON.stringify(expected)}${options !== undefined ? ` ${JSON.stringify(options)}` : ''}`, () => {
      const result = splitWords(input, env, options);
      assert.equal(result.error, undefined);
      assert.deepEqual(result.words, expected);
    });
  }
  void test('an unterminated quote gives an error and no words', () => {
    assert.deepEqual(splitWords('a "b', env), { words: [], error: 'failed to process "a \\"b": unexpected end of statement while looking for matching double-quote' });
  });
});

void describe('shell patterns', () => {
  void test('reversePattern keeps escape pairs (lex_test.go TestReversePattern) through ${V%p}', () => {
    // a\*c reversed is c\*a: the suffix "\*c" literally matches "*c".
    assert.equal(trimShellPattern('xa*c', 'a\\*c', 'suffix', false), 'x');
    assert.equal(trimShellPattern('🖖🚀👽', '👽', 'suffix', false), '🖖🚀');
  });
  void test('shortest and longest prefix and suffix', () => {
    assert.equal(trimShellPattern('a/b/c', '*/', 'prefix', false), 'b/c');
    assert.equal(trimShellPattern('a/b/c', '*/', 'prefix', true), 'c');
    assert.equal(trimShellPattern('a/b/c', '/*', 'suffix', false), 'a/b');
    assert.equal(trimShellPattern('a/b/c', '/*', 'suffix', true), 'a');
    assert.equal(trimShellPattern('file.tar.gz', '.*', 'suffix', false), 'file.tar');
    assert.equal(trimShellPattern('abc', 'x*', 'prefix', true), 'abc');
  });
  void test('invalid escapes are errors (TestConvertShellPatternToRegex)', () => {
    for (const pattern of ['\\', '\\x', '\\\\\\']) {
      assert.ok(typeof trimShellPattern('v', pattern, 'prefix', false) !== 'string', pattern);
    }
  });
  void test('replacement templates follow Go ReplaceAllString', () => {
    assert.equal(replaceShellPattern('aXa', 'a', '<$0>', true), '<a>X<a>');
    assert.equal(replaceShellPattern('aXa', 'a', '$$', true), '$X$');
    assert.equal(replaceShellPattern('aXa', 'a', '$0', false), '$0Xa'); // a single replacement is literal
    assert.equal(replaceShellPattern('abc', '', '-', true), '-a-b-c-');
  });
  void test('patterns that backtrack exponentially in a regexp engine stay linear', () => {
    const value = 'a'.repeat(50_000);
    const started = performance.now();
    assert.equal(trimShellPattern(value, '*a*a*a*a*a*a*a*b', 'prefix', true), value);
    assert.equal(replaceShellPattern(value, '*a*a*a*a*b', 'x', true), value);
    assert.ok(performance.now() - started < 2000, `took ${performance.now() - started} ms`);
  });
});

void describe('robustness', () => {
  void test('never throws, whatever the input', () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const alphabet = ['$', '{', '}', ':', '-', '+', '?', '#', '%', '/', '\\', '`', "'", '"', 'a', 'B', '1', ' ', '<', '*', '\u0000', '😀'];
    for (let i = 0; i < 3000; i++) {
      let word = '';
      const length = Math.floor(random() * 30);
      for (let k = 0; k < length; k++) word += alphabet[Math.floor(random() * alphabet.length)] ?? '';
      for (const escape of ['\\', '`']) {
        expandWord(word, new Map([['a', 'x*y'], ['B', '']]), { escape });
        splitWords(word, new Map(), { escape, rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
      }
    }
  });
  void test('deep nesting is an error, not a stack overflow', () => {
    const word = '${a:-'.repeat(20_000) + 'x' + '}'.repeat(20_000);
    const result = expandWord(word, new Map());
    assert.match(result.error ?? '', /too deeply nested/);
  });
  void test('a megabyte word expands in linear time', () => {
    const env = new Map([['A', 'value']]);
    const word = 'x$A"y\\$"'.repeat(130_000);
    const started = performance.now();
    const result = expandWord(word, env);
    assert.equal(result.value.length, 'xvaluey$'.length * 130_000);
    assert.ok(performance.now() - started < 1000, `took ${performance.now() - started} ms`);
  });
});
