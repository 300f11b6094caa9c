// Which excluded directories the context walker never enters — the one place where the legacy
// builder and BuildKit read the same .dockerignore differently. Pure.
//
// Both walk the context with moby/patternmatcher's MatchesUsingParentResults (the parent
// directory's per-pattern state handed down), and both skip an excluded directory outright
// unless an exception (`!`) pattern could match something inside it. They differ in that test:
//
//   legacy  — the docker CLI's tar of the context (moby pkg/archive TarWithOptions, now
//             moby/go-archive): skip unless some exception pattern, as a string plus `/`,
//             starts with `dir/`.
//   buildkit — tonistiigi/fsutil filter.go (NewFilterFS, filterFS.Walk): the same prefix test,
//             on the exception without a trailing `/**` or `/*` (patternWithoutTrailingGlob);
//             and when any exception holds a pattern character (`*[]?^\`, Unix) after that
//             trim, onlyPrefixExcludeExceptions is false and no excluded directory is skipped:
//             the walk goes everywhere and every path is judged by the patterns.
//
// So `big` + `!**/keep.txt` sends big/x/keep.txt under BuildKit and not under the legacy
// builder; likewise `**/node_modules` + `!**/node_modules/keep`.

/** Whose walk rules apply: BuildKit's (fsutil) or the legacy builder's (docker CLI tar). */
export type IgnoreRules = 'buildkit' | 'legacy';

/** fsutil NewFilterFS: `patternChars` on a `/` separator system (`\` is one of them there). */
const PATTERN_CHARS = /[*[\]?^\\]/;

/** fsutil patternWithoutTrailingGlob: the pattern's String() without one trailing `/**`, then `/*`. */
export function patternWithoutTrailingGlob(pattern: string): string {
  let p = pattern;
  if (p.endsWith('/**')) p = p.slice(0, -3);
  if (p.endsWith('/*')) p = p.slice(0, -2);
  return p;
}

/**
 * fsutil's onlyPrefixExcludeExceptions: whether every exception is a plain path prefix once its
 * trailing glob is trimmed (then excluded directories may be skipped).
 */
export function onlyPrefixExcludeExceptions(exceptions: readonly string[]): boolean {
  return !exceptions.some((p) => PATTERN_CHARS.test(patternWithoutTrailingGlob(p)));
}

/**
 * The walker's test for an excluded directory: returns whether `dir` (context-relative, cleaned)
 * is skipped without looking inside. `exceptions` are the `!` patterns as patternmatcher's
 * Pattern.String() gives them (cleaned, without the `!`).
 */
export function directorySkipper(exceptions: readonly string[], rules: IgnoreRules): (dir: string) => boolean {
  // Both: with no exception at all (patternmatcher Exclusions() false), every excluded directory is skipped.
  if (exceptions.length === 0) return () => true;
  if (rules === 'buildkit') {
    if (!onlyPrefixExcludeExceptions(exceptions)) return () => false;
    const prefixes = exceptions.map((p) => `${patternWithoutTrailingGlob(p)}/`);
    return (dir) => {
      const dirSlash = `${dir}/`;
      return !prefixes.some((p) => p.startsWith(dirSlash));
    };
  }
  const prefixes = exceptions.map((p) => `${p}/`);
  return (dir) => {
    const dirSlash = `${dir}/`;
    return !prefixes.some((p) => p.startsWith(dirSlash));
  };
}
