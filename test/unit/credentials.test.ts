// Credentials from the Docker CLI config, checked against how docker/cli resolves them
// (configfile/file.go GetAuthConfig, credentials/file_store.go, credentials/native_store.go).
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CredentialsError, DOCKER_HUB_CONFIG_KEY, chainCredentials, configKeyFor, convertToHostname, dockerConfigCredentials,
  redact, redactSecrets, registerSecret, staticCredentials,
  type HelperInvocation, type HelperOutcome,
} from '../../server/src/registry/credentials';

const b64 = (text: string) => Buffer.from(text).toString('base64');
let root: string;
let counter = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'layerlift-creds-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh DOCKER_CONFIG directory holding `config` (an object, or raw text). */
async function configDir(config: unknown): Promise<string> {
  const dir = join(root, `cfg-${++counter}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

/** A fake helper runner: answers from `answers` by stdin, records every invocation. */
function fakeHelper(answers: Record<string, Partial<HelperOutcome>>) {
  const calls: HelperInvocation[] = [];
  const run = (invocation: HelperInvocation): Promise<HelperOutcome> => {
    calls.push(invocation);
    const answer = answers[`${invocation.program} ${invocation.stdin}`];
    if (!answer) return Promise.resolve({ exitCode: 1, stdout: 'credentials not found in native keychain\n', stderr: '' });
    return Promise.resolve({ exitCode: 0, stdout: '', stderr: '', ...answer });
  };
  return { run, calls };
}
const helperJSON = (serverURL: string, username: string, secret: string) =>
  ({ stdout: JSON.stringify({ ServerURL: serverURL, Username: username, Secret: secret }) });

void describe('docker config: auths', () => {
  void it('finds `auth` entries under every key form docker writes (scheme and path stripped)', async () => {
    const dir = await configDir({
      auths: {
        'https://reg-a.example.com/v1/': { auth: b64('alice:pw-a-1') },
        'http://reg-b.example.com': { auth: b64('bob:pw-b-2') },
        'reg-c.example.com:5000': { auth: b64('carol:pw-c-3') },
        'https://user@reg-d.example.com:8443/v2/': { auth: b64('dave:pw-d-4') },
        'https://[::1]:5001': { auth: b64('eve:pw-e-5') },
      },
    });
    const source = dockerConfigCredentials({ env: { DOCKER_CONFIG: dir } });
    assert.deepEqual(await source.get('reg-a.example.com'), { username: 'alice', password: 'pw-a-1' });
    assert.deepEqual(await source.get('reg-b.example.com'), { username: 'bob', password: 'pw-b-2' });
    assert.deepEqual(await source.get('reg-c.example.com:5000'), { username: 'carol', password: 'pw-c-3' });
    assert.deepEqual(await source.get('reg-d.example.com:8443'), { username: 'dave', password: 'pw-d-4' });
    assert.deepEqual(await source.get('[::1]:5001'), { username: 'eve', password: 'pw-e-5' });
    assert.equal(await source.get('reg-c.example.com'), undefined, 'the port is part of the key');
    assert.equal(await source.get('other.example.com'), undefined);
  });

  void it('prefers the exact key over a normalised one, and `auth` over username/password (LoadFromReader)', async () => {
    const dir = await configDir({
      auths: {
        'https://reg.example.com/v1/': { username: 'legacy', password: 'legacy-pw' },
        'reg.example.com': { username: 'ignored', password: 'ignored-pw', auth: b64('exact:exact-pw') },
      },
    });
    const source = dockerConfigCredentials({ env: { DOCKER_CONFIG: dir } });
    assert.deepEqual(await source.get('reg.example.com'), { username: 'exact', password: 'exact-pw' });
  });

  void it('reads username/password, identitytoken and registrytoken (field names case-insensitive like Go)', async () => {
    const dir = await configDir({
      auths: {
        'plain.example.com': { username: 'u', password: 'plain-pw' },
        'oauth.example.com': { Username: 'u2', IdentityToken: 'refresh-tok-123' },
        'bearer.example.com': { registrytoken: 'bearer-tok-456' },
        'empty.example.com': {},
      },
    });
    const source = dockerConfigCredentials({ env: { DOCKER_CONFIG: dir } });
    assert.deepEqual(await source.get('plain.example.com'), { username: 'u', password: 'plain-pw' });
    assert.deepEqual(await source.get('oauth.example.com'), { username: 'u2', identityToken: 'refresh-tok-123' });
    assert.deepEqual(await source.get('bearer.example.com'), { registryToken: 'bearer-tok-456' });
    assert.equal(await source.get('empty.example.com'), undefined);
  });

  void it('finds Docker Hub under https://index.docker.io/v1/ for docker.io, index.docker.io and registry-1.docker.io', async () => {
    const dir = await configDir({ auths: { [DOCKER_HUB_CONFIG_KEY]: { auth: b64('hubuser:hub-pw-9') } } });
    const source = dockerConfigCredentials({ env: { DOCKER_CONFIG: dir } });
    for (const name of ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'Docker.IO']) {
      assert.deepEqual(await source.get(name), { username: 'hubuser', password: 'hub-pw-9' }, name);
    }
  });

  void it('like docker, does not use a Docker Hub entry stored under a bare hostname', async () => {
    const dir = await configDir({ auths: { 'docker.io': { auth: b64('x:bare-hub-pw') } } });
    const source = dockerConfigCredentials({ env: { DOCKER_CONFIG: dir } });
    assert.equal(await source.get('docker.io'), undefined);
  });

  void it('uses $DOCKER_CONFIG, else $HOME/.docker, else an explicit configPath', async () => {
    const home = join(root, `home-${++counter}`);
    await mkdir(join(home, '.docker'), { recursive: true });
    await writeFile(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { 'h.example.com': { auth: b64('home:home-pw') } } }));
    const dockerConfig = await configDir({ auths: { 'h.example.com': { auth: b64('dc:dc-pw') } } });
    assert.deepEqual(await dockerConfigCredentials({ env: { HOME: home } }).get('h.example.com'), { username: 'home', password: 'home-pw' });
    assert.deepEqual(await dockerConfigCredentials({ env: { HOME: home, DOCKER_CONFIG: dockerConfig } }).get('h.example.com'),
      { username: 'dc', password: 'dc-pw' });
    assert.deepEqual(await dockerConfigCredentials({ env: { HOME: home }, configPath: join(dockerConfig, 'config.json') }).get('h.example.com'),
      { username: 'dc', password: 'dc-pw' });
  });

  void it('treats a missing or empty file as "no credentials"', async () => {
    const missing = dockerConfigCredentials({ env: { DOCKER_CONFIG: join(root, 'does-not-exist') } });
    assert.equal(await missing.get('docker.io'), undefined);
    const empty = dockerConfigCredentials({ env: { DOCKER_CONFIG: await configDir('  \n') } });
    assert.equal(await empty.get('docker.io'), undefined);
  });

  void it('reads the file once, lazily', async () => {
    const dir = await configDir({ auths: { 'once.example.com': { auth: b64('first:first-pw') } } });
    const source = dockerConfigCredentials({ env: { DOCKER_CONFIG: dir } });
    assert.deepEqual(await source.get('once.example.com'), { username: 'first', password: 'first-pw' });
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { 'once.example.com': { auth: b64('second:second-pw') } } }));
    assert.deepEqual(await source.get('once.example.com'), { username: 'first', password: 'first-pw' });
  });

  void it('lets DOCKER_AUTH_CONFIG answer first, by exact key, falling back to the file', async () => {
    const dir = await configDir({ auths: { 'file.example.com': { auth: b64('file:file-pw') } } });
    const env = { DOCKER_CONFIG: dir, DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'env.example.com': { auth: b64('env:env-pw') } } }) };
    const source = dockerConfigCredentials({ env });
    assert.deepEqual(await source.get('env.example.com'), { username: 'env', password: 'env-pw' });
    assert.deepEqual(await source.get('file.example.com'), { username: 'file', password: 'file-pw' });
  });
});

void describe('docker config: malformed files', () => {
  void it('fails with CREDENTIALS_CONFIG_INVALID, one line, naming the file, without any secret', async () => {
    const secret = b64('admin:do-not-print-me-77');
    const dir = await configDir(`{"auths": {"reg.example.com": {"auth": "${secret}"}, oops}}`);
    const source = dockerConfigCredentials({ env: { DOCKER_CONFIG: dir } });
    const err = await source.get('reg.example.com').then(() => assert.fail('expected an error'), (e: unknown) => e);
    assert.ok(err instanceof CredentialsError);
    assert.equal(err.code, 'CREDENTIALS_CONFIG_INVALID');
    assert.ok(err.message.includes(join(dir, 'config.json')), err.message);
    assert.match(err.message, /not valid JSON/);
    assert.match(err.message, /DOCKER_CONFIG/);
    assert.ok(!err.message.includes('\n'));
    for (const leak of [secret, 'do-not-print-me-77', 'oops', 'admin']) assert.ok(!err.message.includes(leak), `leaked ${leak}`);
  });

  void it('rejects an `auth` that is not base64 "user:password" (decodeAuth) without quoting it', async () => {
    const bad = 'not*base64-secret-88';
    for (const auth of [bad, b64('no-colon-secret-88'), b64(':empty-user-88')]) {
      const source = dockerConfigCredentials({ env: { DOCKER_CONFIG: await configDir({ auths: { 'reg.example.com': { auth } } }) } });
      await assert.rejects(source.get('reg.example.com'), (err: unknown) => {
        assert.ok(err instanceof CredentialsError);
        assert.equal(err.code, 'CREDENTIALS_CONFIG_INVALID');
        assert.match(err.message, /auths\["reg\.example\.com"\]/);
        assert.ok(!err.message.includes(auth) && !err.message.includes('secret-88'), err.message);
        return true;
      });
    }
  });

  void it('rejects fields of the wrong type', async () => {
    for (const config of [{ auths: [] }, { auths: { r: { password: 5 } } }, { credsStore: 1 }, { credHelpers: { r: true } }, []]) {
      const source = dockerConfigCredentials({ env: { DOCKER_CONFIG: await configDir(config) } });
      await assert.rejects(source.get('r'), { code: 'CREDENTIALS_CONFIG_INVALID' });
    }
  });
});

void describe('docker config: credential helpers', () => {
  void it('credHelpers[host] wins over credsStore, which wins over auths', async () => {
    const dir = await configDir({
      auths: { 'helped.example.com': { auth: b64('file:file-pw') }, 'stored.example.com': { auth: b64('file:file-pw') } },
      credsStore: 'desktop',
      credHelpers: { 'helped.example.com': 'ecr-login', 'plain.example.com': '' },
    });
    const { run, calls } = fakeHelper({
      'docker-credential-ecr-login helped.example.com': helperJSON('helped.example.com', 'AWS', 'ecr-pw-1'),
      'docker-credential-desktop stored.example.com': helperJSON('stored.example.com', 'desk', 'desk-pw-2'),
    });
    const source = dockerConfigCredentials({ env: { DOCKER_CONFIG: dir }, runHelper: run });
    assert.deepEqual(await source.get('helped.example.com'), { username: 'AWS', password: 'ecr-pw-1' });
    assert.deepEqual(await source.get('stored.example.com'), { username: 'desk', password: 'desk-pw-2' });
    // With a credsStore, docker asks the store for everything: the file's username/password are not used.
    assert.equal(await source.get('nothing.example.com'), undefined);
    assert.deepEqual(calls.map((c) => [c.program, c.args, c.stdin]), [
      ['docker-credential-ecr-login', ['get'], 'helped.example.com'],
      ['docker-credential-desktop', ['get'], 'stored.example.com'],
      ['docker-credential-desktop', ['get'], 'nothing.example.com'],
    ]);
  });

  void it('an empty credHelpers entry means "use the file" for that host', async () => {
    const dir = await configDir({ auths: { 'plain.example.com': { auth: b64('p:plain-pw') } }, credsStore: 'desktop', credHelpers: { 'plain.example.com': '' } });
    const { run, calls } = fakeHelper({});
    assert.deepEqual(await dockerConfigCredentials({ env: { DOCKER_CONFIG: dir }, runHelper: run }).get('plain.example.com'), { username: 'p', password: 'plain-pw' });
    assert.equal(calls.length, 0);
  });

  void it('sends https://index.docker.io/v1/ for Docker Hub and maps Username <token> to an identity token', async () => {
    const dir = await configDir({ auths: { [DOCKER_HUB_CONFIG_KEY]: {} }, credsStore: 'osxkeychain' });
    const { run, calls } = fakeHelper({
      [`docker-credential-osxkeychain ${DOCKER_HUB_CONFIG_KEY}`]: helperJSON(DOCKER_HUB_CONFIG_KEY, '<token>', 'hub-refresh-3'),
    });
    const source = dockerConfigCredentials({ env: { DOCKER_CONFIG: dir }, runHelper: run });
    for (const name of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) {
      assert.deepEqual(await source.get(name), { identityToken: 'hub-refresh-3' });
    }
    assert.equal(calls.length, 1, 'answers are cached for the process lifetime');
  });

  void it('keeps the file registrytoken next to a store (nativeStore.Get) and treats "not found in keychain" as no credentials', async () => {
    const dir = await configDir({ auths: { 'tok.example.com': { registrytoken: 'file-bearer-4', auth: b64('x:file-pw') } }, credsStore: 'pass' });
    const { run } = fakeHelper({});
    const source = dockerConfigCredentials({ env: { DOCKER_CONFIG: dir }, runHelper: run });
    assert.deepEqual(await source.get('tok.example.com'), { registryToken: 'file-bearer-4' });
    assert.equal(await source.get('none.example.com'), undefined);
  });

  void it('reports a failing helper as CREDENTIALS_HELPER_FAILED without echoing its output, and retries later', async () => {
    const dir = await configDir({ credHelpers: { 'bad.example.com': 'broken' } });
    let attempt = 0;
    const outcomes: HelperOutcome[] = [
      { exitCode: 0, stdout: '{"Username": "u", "Secret": "half-written-secret-5', stderr: '' },
      { exitCode: 2, stdout: 'error talking to keychain: half-written-secret-5', stderr: '' },
      { exitCode: 0, stdout: JSON.stringify({ Username: 'u', Secret: 'good-secret-5' }), stderr: '' },
    ];
    const source = dockerConfigCredentials({
      env: { DOCKER_CONFIG: dir },
      runHelper: () => Promise.resolve(outcomes[attempt++] ?? assert.fail('too many calls')),
    });
    for (const reason of [/not credentials JSON/, /exited with code 2/]) {
      await assert.rejects(source.get('bad.example.com'), (err: unknown) => {
        assert.ok(err instanceof CredentialsError);
        assert.equal(err.code, 'CREDENTIALS_HELPER_FAILED');
        assert.match(err.message, reason);
        assert.match(err.message, /docker-credential-broken/);
        assert.match(err.message, /bad\.example\.com/);
        assert.ok(!err.message.includes('half-written-secret-5') && !err.message.includes('keychain:'), err.message);
        return true;
      });
    }
    assert.deepEqual(await source.get('bad.example.com'), { username: 'u', password: 'good-secret-5' });
  });
});

// A real helper: a shell script on PATH speaking the protocol, spawned for real.
void describe('docker config: a real credential helper on PATH', { skip: process.platform === 'win32' }, () => {
  let binDir: string;
  let dir: string;
  before(async () => {
    binDir = join(root, 'bin');
    await mkdir(binDir, { recursive: true });
    const script = join(binDir, 'docker-credential-test');
    await writeFile(script, [
      '#!/bin/sh',
      '# docker-credential-test: implements `get` of the docker credential helper protocol',
      '[ "$1" = get ] || { echo "unsupported action: $1"; exit 1; }',
      'server=$(cat)',
      'case "$server" in',
      '  real.example.com) printf \'{"ServerURL":"%s","Username":"alice","Secret":"real-secret-6"}\\n\' "$server" ;;',
      '  https://index.docker.io/v1/) printf \'{"ServerURL":"%s","Username":"<token>","Secret":"real-identity-6"}\\n\' "$server" ;;',
      '  slow.example.com) exec sleep 30 ;;',
      '  garbage.example.com) echo "not json but leaked-stdout-6" ;;',
      '  *) echo "credentials not found in native keychain"; exit 1 ;;',
      'esac',
      '',
    ].join('\n'));
    await chmod(script, 0o755);
    dir = await configDir({ credsStore: 'test', credHelpers: { 'missing.example.com': 'not-installed' } });
  });
  const env = () => ({ DOCKER_CONFIG: dir, PATH: `${binDir}${delimiter}${process.env.PATH ?? ''}` });

  void it('gets credentials and identity tokens through the protocol', async () => {
    const source = dockerConfigCredentials({ env: env() });
    assert.deepEqual(await source.get('real.example.com'), { username: 'alice', password: 'real-secret-6' });
    assert.deepEqual(await source.get('docker.io'), { identityToken: 'real-identity-6' });
    assert.ok(!redact('Authorization: Basic ' + b64('alice:real-secret-6')).includes(b64('alice:real-secret-6')));
  });

  void it('"credentials not found in native keychain" means no credentials', async () => {
    assert.equal(await dockerConfigCredentials({ env: env() }).get('unknown.example.com'), undefined);
  });

  void it('a helper that is not installed fails, naming helper and registry', async () => {
    await assert.rejects(dockerConfigCredentials({ env: env() }).get('missing.example.com'), (err: unknown) => {
      assert.ok(err instanceof CredentialsError);
      assert.equal(err.code, 'CREDENTIALS_HELPER_FAILED');
      assert.match(err.message, /docker-credential-not-installed .*was not found on PATH.*missing\.example\.com/);
      return true;
    });
  });

  void it('a helper answering garbage fails without echoing stdout', async () => {
    await assert.rejects(dockerConfigCredentials({ env: env() }).get('garbage.example.com'), (err: unknown) => {
      assert.ok(err instanceof CredentialsError && err.code === 'CREDENTIALS_HELPER_FAILED');
      assert.ok(!err.message.includes('leaked-stdout-6'), err.message);
      return true;
    });
  });

  void it('a helper that hangs is killed after the timeout', async () => {
    const started = Date.now();
    await assert.rejects(dockerConfigCredentials({ env: env(), helperTimeoutMs: 300 }).get('slow.example.com'), (err: unknown) => {
      assert.ok(err instanceof CredentialsError && err.code === 'CREDENTIALS_HELPER_FAILED');
      assert.match(err.message, /docker-credential-test .*did not answer within 0\.3 s .*slow\.example\.com/);
      return true;
    });
    assert.ok(Date.now() - started < 5000);
  });
});

void describe('static and chained sources', () => {
  void it('staticCredentials matches registries in any form docker accepts', async () => {
    const source = staticCredentials({ 'docker.io': { username: 'h', password: 'static-pw-7' }, 'https://reg.example.com/v1/': { registryToken: 'static-tok-7' } });
    assert.deepEqual(await source.get('registry-1.docker.io'), { username: 'h', password: 'static-pw-7' });
    assert.deepEqual(await source.get('reg.example.com'), { registryToken: 'static-tok-7' });
    assert.equal(await source.get('other.example.com'), undefined);
    assert.equal(redact('pw=static-pw-7'), 'pw=***');
  });

  void it('chainCredentials returns the first answer and does not swallow errors', async () => {
    const first = staticCredentials({ 'a.example.com': { username: 'a', password: 'chain-a' } });
    const second = staticCredentials({ 'a.example.com': { username: 'b', password: 'chain-b' }, 'b.example.com': { username: 'b', password: 'chain-b' } });
    const chain = chainCredentials(first, second);
    assert.deepEqual(await chain.get('a.example.com'), { username: 'a', password: 'chain-a' });
    assert.deepEqual(await chain.get('b.example.com'), { username: 'b', password: 'chain-b' });
    assert.equal(await chain.get('c.example.com'), undefined);
    const failing = { get: () => Promise.reject(new Error('boom')) };
    await assert.rejects(chainCredentials(failing, second).get('b.example.com'), /boom/);
  });
});

void describe('hostnames', () => {
  void it('convertToHostname and configKeyFor follow docker', () => {
    assert.equal(convertToHostname('https://reg.example.com/v1/'), 'reg.example.com');
    assert.equal(convertToHostname('http://reg.example.com:5000'), 'reg.example.com:5000');
    assert.equal(convertToHostname('reg.example.com/some/path'), 'reg.example.com');
    assert.equal(convertToHostname('https://[::1]:5000/v2/'), '[::1]:5000');
    assert.equal(configKeyFor('docker.io'), DOCKER_HUB_CONFIG_KEY);
    assert.equal(configKeyFor('localhost:5000'), 'localhost:5000');
  });
});

void describe('redaction', () => {
  void it('redactSecrets replaces every occurrence, longest secret first', () => {
    assert.equal(redactSecrets('a=abc b=abcdef c=abc', ['abc', 'abcdef']), 'a=*** b=*** c=***');
    assert.equal(redactSecrets('x.y+z (a|b)', ['y+z', '(a|b)']), 'x.*** ***');
    assert.equal(redactSecrets('unchanged', []), 'unchanged');
    assert.equal(redactSecrets('unchanged', ['']), 'unchanged');
  });

  void it('the process-wide registry scrubs registered secrets and their URL-encoded forms', () => {
    registerSecret('reg/secret value+8');
    assert.equal(redact('token=reg/secret value+8 done'), 'token=*** done');
    assert.equal(redact(`refresh_token=${new URLSearchParams({ s: 'reg/secret value+8' }).toString().slice(2)}&x=1`), 'refresh_token=***&x=1');
    assert.equal(redact(`q=${encodeURIComponent('reg/secret value+8')}`), 'q=***');
    registerSecret('');
    assert.equal(redact('nothing here'), 'nothing here');
  });

  void it('loading a config registers passwords, tokens, the `auth` string and the Basic header value', async () => {
    const dir = await configDir({
      auths: {
        'one.example.com': { auth: b64('user9:config-pw-9') },
        'two.example.com': { identitytoken: 'config-refresh-9', registrytoken: 'config-bearer-9' },
      },
    });
    await dockerConfigCredentials({ env: { DOCKER_CONFIG: dir } }).get('one.example.com');
    const line = `auth=${b64('user9:config-pw-9')} pw=config-pw-9 rt=config-refresh-9 bt=config-bearer-9 user=user9`;
    assert.equal(redact(line), 'auth=*** pw=*** rt=*** bt=*** user=user9');
  });
});
