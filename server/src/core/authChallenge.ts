// Pure parsing of registry auth challenges and token scopes.
// RFC 7235 section 4.1 (WWW-Authenticate), Docker "Token Authentication Specification"
// (scope grammar `repository:NAME:ACTIONS`, `error="insufficient_scope"`).

export interface AuthChallenge {
  /** Lower-cased scheme: "bearer", "basic". */
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a WWW-Authenticate header value. Handles several challenges in one header, quoted
 * strings with escapes and commas inside quotes (a scope list is "a,b" in one parameter).
 */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let i = 0;
  const n = header.length;
  const skipSpaces = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < n && !/[\s,=]/.test(header[i] ?? '')) i++;
    return header.slice(start, i);
  };
  let current: AuthChallenge | undefined;
  while (i < n) {
    skipSpaces();
    if (header[i] === ',') {
      i++;
      continue;
    }
    const token = readToken();
    if (token === '') {
      i++;
      continue;
    }
    skipSpaces();
    if (header[i] === '=') {
      // key=value parameter of the current challenge
      i++;
      skipSpaces();
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++; // closing quote
      } else {
        value = readToken();
      }
      if (current) current.params[token.toLowerCase()] = value;
    } else {
      current = { scheme: token.toLowerCase(), params: {} };
      challenges.push(current);
    }
  }
  return challenges;
}

export interface Scope {
  /** "repository" (or "registry" for catalog scopes). */
  type: string;
  name: string;
  actions: string[];
}

export function repositoryScope(name: string, actions: string[]): Scope {
  return { type: 'repository', name, actions: [...actions] };
}

/** Parses a space-separated scope list; unparseable parts are dropped. */
export function parseScopes(text: string): Scope[] {
  const scopes: Scope[] = [];
  for (const part of text.split(' ')) {
    // The name may itself contain ':' (a registry port is never in a scope, but be lenient):
    // type is before the first ':', actions after the last.
    const first = part.indexOf(':');
    const last = part.lastIndexOf(':');
    if (first <= 0 || last === first) continue;
    scopes.push({
      type: part.slice(0, first),
      name: part.slice(first + 1, last),
      actions: part.slice(last + 1).split(',').filter((a) => a.length > 0),
    });
  }
  return scopes;
}

/** Unions scopes per resource; the result is sorted so it can key a token cache. */
export function mergeScopes(...lists: Scope[][]): Scope[] {
  const byResource = new Map<string, Scope>();
  for (const scope of lists.flat()) {
    const key = `${scope.type}:${scope.name}`;
    const existing = byResource.get(key);
    if (existing) {
      existing.actions = [...new Set([...existing.actions, ...scope.actions])];
    } else {
      byResource.set(key, { type: scope.type, name: scope.name, actions: [...new Set(scope.actions)] });
    }
  }
  return [...byResource.values()]
    .map((s) => ({ ...s, actions: [...s.actions].sort() }))
    .sort((a, b) => {
      // Code-point order, not localeCompare: a cache key must not depend on the machine's locale.
      const left = `${a.type}:${a.name}`;
      const right = `${b.type}:${b.name}`;
      return left < right ? -1 : left > right ? 1 : 0;
    });
}

export function formatScope(scope: Scope): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(',')}`;
}

/** Whether `granted` covers every action of every scope in `wanted`. */
export function scopesCover(granted: Scope[], wanted: Scope[]): boolean {
  return wanted.every((w) => {
    const g = granted.find((s) => s.type === w.type && s.name === w.name);
    return g !== undefined && w.actions.every((a) => g.actions.includes(a) || g.actions.includes('*'));
  });
}

/** Whether a challenge says the token lacked scope (vs. no or bad credentials). */
export function isInsufficientScope(challenge: AuthChallenge): boolean {
  return challenge.params.error === 'insufficient_scope';
}
