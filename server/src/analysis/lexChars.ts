// Character classes of Go's unicode package as BuildKit's lexer uses them, and the word
// accumulator of shell/lex.go (wordsStruct), fed whole runs of characters where it can.

/** Go's unicode.IsSpace. */
export function isUnicodeSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0x85) return false;
  return code === 0x85 || code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000;
}

const letterRe = /^\p{L}$/u;
const digitRe = /^\p{Nd}$/u;
export function isDigit(code: number): boolean {
  if (code < 0x80) return code >= 0x30 && code <= 0x39;
  return digitRe.test(String.fromCodePoint(code));
}
export function isNameChar(code: number): boolean {
  if (code < 0x80) return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f;
  const ch = String.fromCodePoint(code);
  return letterRe.test(ch) || digitRe.test(ch);
}
/** lex.go isSpecialParam: $@ $* $# $? $- $$ $! $0. */
export function isSpecialParam(code: number): boolean {
  return code === 0x40 || code === 0x2a || code === 0x23 || code === 0x3f || code === 0x2d || code === 0x24 || code === 0x21 || code === 0x30;
}

/** lex.go wordsStruct, fed whole runs where it can. */
export class Words {
  private readonly list: string[] = [];
  private word = '';
  private inWord = false;
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  /** addChar (split on white space) for every character of `text`, a slice at a time. */
  addString(text: string): void {
    let i = 0;
    while (i < text.length) {
      let end = i;
      while (end < text.length && !isUnicodeSpace(text.charCodeAt(end))) end++;
      if (end > i) this.addRawString(text.slice(i, end));
      if (end >= text.length) return;
      if (this.inWord && this.word.length !== 0) this.endWord();
      i = end + 1;
    }
  }
  addRawString(text: string): void {
    this.word += text;
    this.inWord = true;
  }
  private endWord(): void {
    this.list.push(this.word);
    this.word = '';
    this.inWord = false;
  }
  done(): string[] {
    if (this.word.length > 0) this.endWord();
    return this.list;
  }
}

/** A long text shortened for a one-line message. */
export function truncate(text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
