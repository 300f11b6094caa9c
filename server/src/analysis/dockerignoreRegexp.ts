// Go's regexp syntax (RE2, Perl flags) → a JavaScript RegExp, for the regexps moby/patternmatcher
// builds from .dockerignore patterns (Pattern.compile): POSIX and Perl classes, \p{…}, \Q…\E,
// octal and hex escapes, `.` without newline. Pure.
import { cp, hex } from './dockerignoreGlob';

type Range = [number, number];
const MAX_RUNE = 0x10ffff;

function complement(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

const POSIX_CLASSES: Record<string, Range[]> = {
  alnum: [[cp('0'), cp('9')], [cp('A'), cp('Z')], [cp('a'), cp('z')]],
  alpha: [[cp('A'), cp('Z')], [cp('a'), cp('z')]],
  ascii: [[0, 0x7f]],
  blank: [[9, 9], [32, 32]],
  cntrl: [[0, 0x1f], [0x7f, 0x7f]],
  digit: [[cp('0'), cp('9')]],
  graph: [[0x21, 0x7e]],
  lower: [[cp('a'), cp('z')]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[9, 13], [32, 32]],
  upper: [[cp('A'), cp('Z')]],
  word: [[cp('0'), cp('9')], [cp('A'), cp('Z')], [cp('a'), cp('z')], [cp('_'), cp('_')]],
  xdigit: [[cp('0'), cp('9')], [cp('A'), cp('F')], [cp('a'), cp('f')]],
};
const PERL_CLASSES: Record<string, Range[]> = {
  d: POSIX_CLASSES.digit!,
  s: [[9, 10], [12, 13], [32, 32]],
  w: POSIX_CLASSES.word!,
};

const rangesToJs = (ranges: Range[]): string => ranges.map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)).join('');

function isAlnum(ch: string): boolean {
  return /^[0-9A-Za-z]$/.test(ch);
}

/**
 * Translates the subset of Go (RE2, Perl flags) regexp syntax that patternmatcher can produce into
 * an equivalent JavaScript RegExp (unicode mode). Throws when Go's regexp.Compile would fail.
 */
export function goRegexpToJs(source: string): RegExp {
  const s = Array.from(source);
  let i = 0;
  let out = '';

  const parseEscape = (): { ranges?: Range[]; js?: string; rune?: number } => {
    // s[i] is the character after the backslash.
    const c = s[i++];
    if (c === undefined) throw new Error('trailing backslash at end of expression');
    if (c.codePointAt(0)! < 0x80 && !isAlnum(c)) return { rune: cp(c) };
    switch (c) {
      case 'a':
        return { rune: 7 };
      case 'f':
        return { rune: 12 };
      case 't':
        return { rune: 9 };
      case 'n':
        return { rune: 10 };
      case 'r':
        return { rune: 13 };
      case 'v':
        return { rune: 11 };
      case 'd':
      case 's':
      case 'w':
        return { ranges: PERL_CLASSES[c]! };
      case 'D':
      case 'S':
      case 'W':
        return { ranges: complement(PERL_CLASSES[c.toLowerCase()]!) };
      case 'x': {
        if (s[i] === '{') {
          const close = s.indexOf('}', i);
          if (close < 0) throw new Error('invalid escape sequence');
          const digits = s.slice(i + 1, close).join('');
          i = close + 1;
          if (!/^[0-9a-fA-F]+$/.test(digits) || parseInt(digits, 16) > MAX_RUNE) throw new Error('invalid escape sequence');
          return { rune: parseInt(digits, 16) };
        }
        const digits = s.slice(i, i + 2).join('');
        if (!/^[0-9a-fA-F]{2}$/.test(digits)) throw new Error('invalid escape sequence');
        i += 2;
        return { rune: parseInt(digits, 16) };
      }
      case 'p':
      case 'P': {
        let name: string;
        if (s[i] === '{') {
          const close = s.indexOf('}', i);
          if (close < 0) throw new Error('invalid character class range');
          name = s.slice(i + 1, close).join('');
          i = close + 1;
        } else {
          name = s[i++] ?? '';
        }
        let negate = c === 'P';
        if (name.startsWith('^')) {
          negate = !negate;
          name = name.slice(1);
        }
        // Go accepts categories (L, Lu), scripts (Greek) and Any; JavaScript spells scripts Script=.
        for (const js of [`\\${negate ? 'P' : 'p'}{${name}}`, `\\${negate ? 'P' : 'p'}{Script=${name}}`]) {
          try {
            new RegExp(js, 'u');
            return { js };
          } catch {
            // try the next spelling
          }
        }
        throw new Error(`invalid character class range: \\p{${name}}`);
      }
      default:
        if (/[0-7]/.test(c)) {
          // Go accepts \1-\7 octal only as \0nn? It rejects backreferences: treat \0 as octal.
          if (c === '0' || /[0-7]/.test(s[i] ?? '')) {
            let digits = c;
            while (digits.length < 3 && /[0-7]/.test(s[i] ?? '')) digits += s[i++]!;
            return { rune: parseInt(digits, 8) };
          }
        }
        throw new Error(`invalid escape sequence: \\${c}`);
    }
  };

  const parseClass = (): string => {
    // s[i] is just after '['.
    let negated = false;
    if (s[i] === '^') {
      negated = true;
      i++;
    }
    const ranges: Range[] = [];
    const extra: string[] = [];
    let first = true;
    while (i >= s.length || s[i] !== ']' || first) {
      if (i >= s.length) throw new Error('missing closing ]');
      first = false;
      if (s[i] === '[' && s[i + 1] === ':') {
        let close = -1;
        for (let j = i + 2; j + 1 < s.length; j++) {
          if (s[j] === ':' && s[j + 1] === ']') {
            close = j;
            break;
          }
        }
        if (close > 0) {
          let name = s.slice(i + 2, close).join('');
          let neg = false;
          if (name.startsWith('^')) {
            neg = true;
            name = name.slice(1);
          }
          const cls = POSIX_CLASSES[name];
          if (!cls) throw new Error('invalid character class range');
          ranges.push(...(neg ? complement(cls) : cls));
          i = close + 2;
          continue;
        }
      }
      const classChar = (): { rune?: number; ranges?: Range[]; js?: string } => {
        if (i >= s.length) throw new Error('missing closing ]');
        if (s[i] === '\\') {
          i++;
          return parseEscape();
        }
        return { rune: cp(s[i++]!) };
      };
      const lo = classChar();
      if (lo.rune === undefined) {
        if (lo.ranges) ranges.push(...lo.ranges);
        if (lo.js) extra.push(lo.js);
        continue;
      }
      let hi = lo.rune;
      if (s[i] === '-' && i + 1 < s.length && s[i + 1] !== ']') {
        i++;
        const high = classChar();
        if (high.rune === undefined) throw new Error('invalid character class range');
        hi = high.rune;
        if (hi < lo.rune) throw new Error('invalid character class range');
      }
      ranges.push([lo.rune, hi]);
    }
    i++; // ']'
    return `[${negated ? '^' : ''}${rangesToJs(ranges)}${extra.join('')}]`;
  };

  // Quantifiers and groups only come from patternmatcher's own fragments (`(.*/)?`, `[^/]*`,
  // `.*`): user text reaches the regexp escaped or as a class, so JavaScript's own checks of
  // repetition agree with Go's.
  while (i < s.length) {
    const ch = s[i++]!;
    switch (ch) {
      case '\\': {
        if (s[i] === 'Q') {
          i++;
          let literal = '';
          while (i < s.length && !(s[i] === '\\' && s[i + 1] === 'E')) literal += hex(cp(s[i++]!));
          if (i < s.length) i += 2;
          out += literal === '' ? '(?:)' : `(?:${literal})`;
          break;
        }
        if (s[i] === 'A' || s[i] === 'z') {
          out += s[i] === 'A' ? '^' : '$';
          i++;
          break;
        }
        if (s[i] === 'b' || s[i] === 'B') {
          out += `\\${s[i]!}`;
          i++;
          break;
        }
        const esc = parseEscape();
        if (esc.rune !== undefined) out += hex(esc.rune);
        else if (esc.ranges) out += `[${rangesToJs(esc.ranges)}]`;
        else out += esc.js!;
        break;
      }
      case '[':
        out += parseClass();
        break;
      case '(':
        out += '(?:';
        break;
      case ')':
      case '|':
      case '*':
      case '+':
      case '?':
      case '^':
      case '$':
        out += ch;
        break;
      case '.':
        out += '[^\\n]';
        break;
      default:
        out += hex(cp(ch));
    }
  }
  return new RegExp(out, 'u');
}
