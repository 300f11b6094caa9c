// WWW-Authenticate parsing (RFC 7235 section 4.1) and Docker token scopes (Docker "Token
// Authentication Specification" / "Token Scope Documentation").
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatScope,
  isInsufficientScope,
  mergeScopes,
  parseAuthChallenges,
  parseScopes,
  repositoryScope,
  scopesCover,
  type Scope,
} from '../../server/src/core/authChallenge';

void describe('parseAuthChallenges', () => {
  void it('parses a Docker Hub bearer challenge', () => {
    const header = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"';
    assert.deepEqual(parseAuthChallenges(header), [
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/ubuntu:pull' },
      },
    ]);
  });

  void it('parses the distribution registry challenge with an error (insufficient scope)', () => {
    const header =
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull,push",error="insufficient_scope"';
    const [challenge, ...rest] = parseAuthChallenges(header);
    assert.equal(rest.length, 0);
    assert.ok(challenge);
    assert.equal(challenge.scheme, 'bearer');
    assert.equal(challenge.params.realm, 'https://auth.example.com/token');
    assert.equal(challenge.params.service, 'registry.example.com');
    assert.equal(challenge.params.scope, 'repository:team/app:pull,push');
    assert.equal(challenge.params.error, 'insufficient_scope');
  });

  void it('splits several challenges in one header', () => {
    assert.deepEqual(parseAuthChallenges('Basic realm="x", Bearer realm="y"'), [
      { scheme: 'basic', params: { realm: 'x' } },
      { scheme: 'bearer', params: { realm: 'y' } },
    ]);
  });

  void it('keeps each parameter with the challenge it follows', () => {
    const header = 'Bearer realm="https://a/token", service="a", Basic realm="Registry Realm", charset="UTF-8"';
    assert.deepEqual(parseAuthChallenges(header), [
      { scheme: 'bearer', params: { realm: 'https://a/token', service: 'a' } },
      { scheme: 'basic', params: { realm: 'Registry Realm', charset: 'UTF-8' } },
    ]);
  });

  void it('lower-cases the scheme and the parameter names but not the values', () => {
    assert.deepEqual(parseAuthChallenges('BEARER Realm="HTTPS://Auth.Example/Token",SERVICE="Reg"'), [
      { scheme: 'bearer', params: { realm: 'HTTPS://Auth.Example/Token', service: 'Reg' } },
    ]);
  });

  void it('unescapes quoted-pairs inside quoted strings', () => {
    const [challenge] = parseAuthChallenges('Basic realm="say \\"hi\\" \\\\ there"');
    assert.equal(challenge?.params.realm, 'say "hi" \\ there');
  });

  void it('does not split on commas or spaces inside a quoted scope list', () => {
    const header = 'Bearer realm="https://t",scope="repository:a:pull,push repository:b:pull",service="s"';
    const [challenge, ...rest] = parseAuthChallenges(header);
    assert.equal(rest.length, 0);
    assert.deepEqual(challenge?.params, { realm: 'https://t', scope: 'repository:a:pull,push repository:b:pull', service: 's' });
  });

  void it('accepts unquoted token values and whitespace around "="', () => {
    assert.deepEqual(parseAuthChallenges('Bearer realm = "https://t" ,\tservice=reg.example , error=invalid_token'), [
      { scheme: 'bearer', params: { realm: 'https://t', service: 'reg.example', error: 'invalid_token' } },
    ]);
  });

  void it('parses a scheme with no parameters', () => {
    assert.deepEqual(parseAuthChallenges('Negotiate'), [{ scheme: 'negotiate', params: {} }]);
    assert.deepEqual(parseAuthChallenges('Basic, Bearer realm="y"'), [
      { scheme: 'basic', params: {} },
      { scheme: 'bearer', params: { realm: 'y' } },
    ]);
  });

  void it('gives an empty quoted value as the empty string', () => {
    assert.deepEqual(parseAuthChallenges('Bearer realm="",service="s"'), [{ scheme: 'bearer', params: { realm: '', service: 's' } }]);
  });

  void it('returns nothing for empty or junk input', () => {
    assert.deepEqual(parseAuthChallenges(''), []);
    assert.deepEqual(parseAuthChallenges('   '), []);
    assert.deepEqual(parseAuthChallenges(',,, ,'), []);
    assert.deepEqual(parseAuthChallenges('==='), []);
  });

  void it('drops parameters that come before any scheme', () => {
    assert.deepEqual(parseAuthChallenges('realm="x", service="y"'), []);
    assert.deepEqual(parseAuthChallenges('realm="x", Bearer service="y"'), [{ scheme: 'bearer', params: { service: 'y' } }]);
  });

  void it('survives an unterminated quoted string and a trailing backslash', () => {
    assert.deepEqual(parseAuthChallenges('Bearer realm="https://t'), [{ scheme: 'bearer', params: { realm: 'https://t' } }]);
    assert.deepEqual(parseAuthChallenges('Bearer realm="abc\\'), [{ scheme: 'bearer', params: { realm: 'abc\\' } }]);
  });

  void it('lets a later duplicate parameter win', () => {
    assert.deepEqual(parseAuthChallenges('Bearer realm="a",realm="b"'), [{ scheme: 'bearer', params: { realm: 'b' } }]);
  });
});

void describe('isInsufficientScope', () => {
  void it('is true only for error="insufficient_scope"', () => {
    const [insufficient] = parseAuthChallenges('Bearer realm="r",error="insufficient_scope",scope="repository:a:push"');
    const [invalid] = parseAuthChallenges('Bearer realm="r",error="invalid_token"');
    const [plain] = parseAuthChallenges('Bearer realm="r",scope="repository:a:pull"');
    assert.ok(insufficient && invalid && plain);
    assert.equal(isInsufficientScope(insufficient), true);
    assert.equal(isInsufficientScope(invalid), false);
    assert.equal(isInsufficientScope(plain), false);
  });

  void it('works on a hand-built challenge too', () => {
    assert.equal(isInsufficientScope({ scheme: 'bearer', params: { error: 'insufficient_scope' } }), true);
    assert.equal(isInsufficientScope({ scheme: 'bearer', params: { error: 'INSUFFICIENT_SCOPE_X' } }), false);
  });
});

void describe('parseScopes', () => {
  void it('parses a single repository scope', () => {
    assert.deepEqual(parseScopes('repository:library/ubuntu:pull'), [{ type: 'repository', name: 'library/ubuntu', actions: ['pull'] }]);
  });

  void it('parses a space-separated list with comma-separated actions', () => {
    assert.deepEqual(parseScopes('repository:team/app:pull,push repository:base/img:pull registry:catalog:*'), [
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'base/img', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });

  void it('keeps colons inside the name (type before the first colon, actions after the last)', () => {
    assert.deepEqual(parseScopes('repository:localhost:5000/app:pull'), [{ type: 'repository', name: 'localhost:5000/app', actions: ['pull'] }]);
  });

  void it('drops empty actions and tolerates repeated spaces', () => {
    assert.deepEqual(parseScopes('  repository:a:pull,,push,  repository:b:  '), [
      { type: 'repository', name: 'a', actions: ['pull', 'push'] },
      { type: 'repository', name: 'b', actions: [] },
    ]);
  });

  void it('drops unparseable parts', () => {
    assert.deepEqual(parseScopes(''), []);
    assert.deepEqual(parseScopes('garbage :a:pull repository:onlyname repository:x:pull'), [{ type: 'repository', name: 'x', actions: ['pull'] }]);
  });
});

void describe('formatScope', () => {
  void it('renders type:name:actions', () => {
    assert.equal(formatScope(repositoryScope('library/ubuntu', ['pull'])), 'repository:library/ubuntu:pull');
    assert.equal(formatScope({ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }), 'repository:team/app:pull,push');
    assert.equal(formatScope({ type: 'registry', name: 'catalog', actions: ['*'] }), 'registry:catalog:*');
  });

  void it('round-trips through parseScopes', () => {
    const scopes: Scope[] = [
      { type: 'repository', name: 'localhost:5000/a/b', actions: ['pull', 'push'] },
      { type: 'repository', name: 'c', actions: ['delete'] },
    ];
    assert.deepEqual(parseScopes(scopes.map(formatScope).join(' ')), scopes);
  });
});

void describe('repositoryScope', () => {
  void it('copies the actions array', () => {
    const actions = ['pull'];
    const scope = repositoryScope('a', actions);
    actions.push('push');
    assert.deepEqual(scope, { type: 'repository', name: 'a', actions: ['pull'] });
  });
});

void describe('mergeScopes', () => {
  void it('unions actions per resource and sorts resources and actions', () => {
    const merged = mergeScopes(parseScopes('repository:a:push'), parseScopes('repository:b:pull'), parseScopes('repository:a:pull'));
    assert.deepEqual(merged, [
      { type: 'repository', name: 'a', actions: ['pull', 'push'] },
      { type: 'repository', name: 'b', actions: ['pull'] },
    ]);
    assert.equal(merged.map(formatScope).join(' '), 'repository:a:pull,push repository:b:pull');
  });

  void it('gives the same output for every input order', () => {
    const parts = ['repository:a:pull', 'repository:a:push', 'repository:b:pull'];
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];
    const expected = 'repository:a:pull,push repository:b:pull';
    for (const order of orders) {
      const lists = order.map((i) => parseScopes(parts[i] as string));
      assert.equal(mergeScopes(...lists).map(formatScope).join(' '), expected, `order ${order.join(',')}`);
    }
  });

  void it('removes duplicate actions, also within one scope', () => {
    assert.deepEqual(mergeScopes([{ type: 'repository', name: 'a', actions: ['push', 'pull', 'push'] }], parseScopes('repository:a:pull')), [
      { type: 'repository', name: 'a', actions: ['pull', 'push'] },
    ]);
  });

  void it('keeps scopes of different types apart even with the same name', () => {
    assert.deepEqual(mergeScopes(parseScopes('repository:catalog:pull registry:catalog:*')), [
      { type: 'registry', name: 'catalog', actions: ['*'] },
      { type: 'repository', name: 'catalog', actions: ['pull'] },
    ]);
  });

  void it('returns nothing for no input', () => {
    assert.deepEqual(mergeScopes(), []);
    assert.deepEqual(mergeScopes([], []), []);
  });

  void it('does not mutate its inputs', () => {
    const first: Scope[] = [{ type: 'repository', name: 'a', actions: ['push'] }];
    const second: Scope[] = [{ type: 'repository', name: 'a', actions: ['pull'] }];
    const merged = mergeScopes(first, second);
    assert.deepEqual(first, [{ type: 'repository', name: 'a', actions: ['push'] }]);
    assert.deepEqual(second, [{ type: 'repository', name: 'a', actions: ['pull'] }]);
    merged[0]?.actions.push('delete');
    assert.deepEqual(first[0]?.actions, ['push']);
  });
});

void describe('scopesCover', () => {
  const granted = parseScopes('repository:a:pull,push repository:b:pull');

  void it('is true when every wanted action of every scope is granted', () => {
    assert.equal(scopesCover(granted, parseScopes('repository:a:pull')), true);
    assert.equal(scopesCover(granted, parseScopes('repository:a:push,pull repository:b:pull')), true);
  });

  void it('is false when one action is missing', () => {
    assert.equal(scopesCover(granted, parseScopes('repository:b:pull,push')), false);
    assert.equal(scopesCover(granted, parseScopes('repository:a:pull repository:b:push')), false);
  });

  void it('is false for a resource that was not granted at all', () => {
    assert.equal(scopesCover(granted, parseScopes('repository:c:pull')), false);
    assert.equal(scopesCover(granted, parseScopes('registry:a:pull')), false);
  });

  void it('treats a granted "*" as every action', () => {
    assert.equal(scopesCover(parseScopes('repository:a:*'), parseScopes('repository:a:pull,push,delete')), true);
    assert.equal(scopesCover(parseScopes('repository:a:*'), parseScopes('repository:b:pull')), false);
  });

  void it('is trivially true for nothing wanted and false for anything wanted from nothing', () => {
    assert.equal(scopesCover([], []), true);
    assert.equal(scopesCover(granted, []), true);
    assert.equal(scopesCover([], parseScopes('repository:a:pull')), false);
  });
});
