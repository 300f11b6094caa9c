// Layerlift's settings: normalisation of user input, the Dockerfile globs of `layerlift.images`,
// and the mirror rules that say where a base image may already sit in the target registry.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSettings, engineEnvironment, globToRegExp, imageFor, normalizeSettings, type LayerliftSettings } from '../../server/src/analysis/settings';
import { mirrorCandidates } from '../../server/src/core/mirrors';

function matches(glob: string, path: string): boolean {
  return globToRegExp(glob).test(path);
}

void describe('normalizeSettings', () => {
  test('returns empty settings for anything that is not an object', () => {
    for (const raw of [undefined, null, 42, 'images', true, []]) {
      assert.deepEqual(normalizeSettings(raw), defaultSettings, String(raw));
    }
  });

  test('agrees with defaultSettings for an empty object', () => {
    assert.deepEqual(normalizeSettings({}), defaultSettings);
  });

  test('keeps well-formed image entries with their optional fields', () => {
    const image = {
      dockerfile: 'services/**/Dockerfile',
      image: 'registry.example.com/team/app:1',
      context: '.',
      buildArgs: { VERSION: '1' },
      target: 'final',
      platform: 'linux/arm64',
    };
    assert.deepEqual(normalizeSettings({ images: [image] }).images, [image]);
  });

  test('drops image entries that are not objects or lack a string dockerfile or image', () => {
    const good = { dockerfile: 'Dockerfile', image: 'registry.example.com/team/app:1' };
    const raw = {
      images: [null, 'Dockerfile', 7, [], { dockerfile: 'Dockerfile' }, { image: 'x:1' }, { dockerfile: 3, image: 'x:1' }, { dockerfile: 'Dockerfile', image: null }, good],
    };
    assert.deepEqual(normalizeSettings(raw).images, [good]);
  });

  test('treats a non-array images value as no images', () => {
    assert.deepEqual(normalizeSettings({ images: { dockerfile: 'Dockerfile', image: 'x:1' } }).images, []);
    assert.deepEqual(normalizeSettings({ images: 'Dockerfile' }).images, []);
  });

  test('keeps only string mirror targets', () => {
    const raw = {
      mirrors: {
        'docker.io/library/*': 'registry.example.com/hub/library/*',
        'ghcr.io/org/tool': 'registry.example.com/mirror/tool',
        'quay.io/*': 42,
        'gcr.io/*': null,
        'mcr.microsoft.com/*': { to: 'x' },
      },
    };
    assert.deepEqual(normalizeSettings(raw).mirrors, {
      'docker.io/library/*': 'registry.example.com/hub/library/*',
      'ghcr.io/org/tool': 'registry.example.com/mirror/tool',
    });
  });

  test('treats a null or non-object mirrors value as no mirrors', () => {
    assert.deepEqual(normalizeSettings({ mirrors: null }).mirrors, {});
    assert.deepEqual(normalizeSettings({ mirrors: 'docker.io' }).mirrors, {});
  });

  test('keeps only string insecure registries', () => {
    assert.deepEqual(normalizeSettings({ insecureRegistries: ['localhost:5000', 5000, null, { host: 'x' }, '10.0.0.1:5000'] }).insecureRegistries, ['localhost:5000', '10.0.0.1:5000']);
    assert.deepEqual(normalizeSettings({ insecureRegistries: 'localhost:5000' }).insecureRegistries, []);
  });

  test('ignores unknown keys', () => {
    assert.deepEqual(normalizeSettings({ images: [], verbose: true, mirrors: {}, other: [1] }), defaultSettings);
  });
});

void describe('globToRegExp', () => {
  test('a bare file name matches that name in any folder, and nothing else', () => {
    assert.ok(matches('Dockerfile', 'Dockerfile'));
    assert.ok(matches('Dockerfile', 'api/Dockerfile'));
    assert.ok(matches('Dockerfile', 'services/api/deep/Dockerfile'));
    assert.ok(!matches('Dockerfile', 'Dockerfile.dev'));
    assert.ok(!matches('Dockerfile', 'api/Dockerfile.dev'));
    assert.ok(!matches('Dockerfile', 'MyDockerfile'));
    assert.ok(!matches('Dockerfile', 'api/MyDockerfile'));
    assert.ok(!matches('Dockerfile', 'Dockerfile/other'));
  });

  test('a pattern with a slash is anchored at the workspace folder', () => {
    assert.ok(matches('api/Dockerfile', 'api/Dockerfile'));
    assert.ok(!matches('api/Dockerfile', 'services/api/Dockerfile'));
    assert.ok(!matches('api/Dockerfile', 'Dockerfile'));
  });

  test('a leading ./ is ignored, and then the pattern is anchored', () => {
    assert.ok(matches('./Dockerfile', 'Dockerfile'));
    assert.ok(!matches('./Dockerfile', 'api/Dockerfile'));
    assert.ok(matches('./api/Dockerfile', 'api/Dockerfile'));
  });

  test('** between slashes matches zero or more folders', () => {
    const glob = 'services/**/Dockerfile';
    assert.ok(matches(glob, 'services/Dockerfile'));
    assert.ok(matches(glob, 'services/api/Dockerfile'));
    assert.ok(matches(glob, 'services/api/v2/Dockerfile'));
    assert.ok(!matches(glob, 'Dockerfile'));
    assert.ok(!matches(glob, 'other/services/api/Dockerfile'));
    assert.ok(!matches(glob, 'services/api/Dockerfile.dev'));
    assert.ok(!matches(glob, 'servicesX/Dockerfile'));
  });

  test('a trailing ** matches everything below', () => {
    assert.ok(matches('services/**', 'services/api/Dockerfile'));
    assert.ok(matches('services/**', 'services/Dockerfile'));
    assert.ok(!matches('services/**', 'other/Dockerfile'));
  });

  test('* matches within one name only', () => {
    assert.ok(matches('*.Dockerfile', 'api.Dockerfile'));
    assert.ok(matches('*.Dockerfile', 'services/api.Dockerfile'));
    assert.ok(matches('*.Dockerfile', '.Dockerfile'));
    assert.ok(!matches('*.Dockerfile', 'Dockerfile'));
    assert.ok(!matches('*.Dockerfile', 'api.Dockerfile.bak'));
    assert.ok(!matches('*.Dockerfile', 'apiXDockerfile'), 'the dot is literal');
    assert.ok(matches('services/*/Dockerfile', 'services/api/Dockerfile'));
    assert.ok(!matches('services/*/Dockerfile', 'services/api/v2/Dockerfile'));
    assert.ok(!matches('services/*/Dockerfile', 'services/Dockerfile'));
  });

  test('? matches exactly one character, never a slash', () => {
    assert.ok(matches('api?/Dockerfile', 'api1/Dockerfile'));
    assert.ok(!matches('api?/Dockerfile', 'api/Dockerfile'));
    assert.ok(!matches('api?/Dockerfile', 'api12/Dockerfile'));
    assert.ok(!matches('a?b/Dockerfile', 'a/b/Dockerfile'));
  });

  test('{a,b} matches either alternative', () => {
    const glob = '{api,worker}/Dockerfile';
    assert.ok(matches(glob, 'api/Dockerfile'));
    assert.ok(matches(glob, 'worker/Dockerfile'));
    assert.ok(!matches(glob, 'web/Dockerfile'));
    assert.ok(!matches(glob, 'apiworker/Dockerfile'));
    assert.ok(!matches(glob, '{api,worker}/Dockerfile'));
    assert.ok(matches('Dockerfile.{dev,prod}', 'x/Dockerfile.prod'));
    assert.ok(!matches('Dockerfile.{dev,prod}', 'Dockerfile.test'));
  });

  test('escapes regular-expression characters in alternatives', () => {
    assert.ok(matches('{a.b,c+d}/Dockerfile', 'a.b/Dockerfile'));
    assert.ok(matches('{a.b,c+d}/Dockerfile', 'c+d/Dockerfile'));
    assert.ok(!matches('{a.b,c+d}/Dockerfile', 'aXb/Dockerfile'));
    assert.ok(!matches('{a.b,c+d}/Dockerfile', 'ccd/Dockerfile'));
  });

  test('an unclosed { is literal', () => {
    assert.ok(matches('{api/Dockerfile', '{api/Dockerfile'));
    assert.ok(!matches('{api/Dockerfile', 'api/Dockerfile'));
  });

  test('escapes regular-expression characters', () => {
    const glob = 'a.b+c(d)$e^f|g/Dockerfile';
    assert.ok(matches(glob, 'a.b+c(d)$e^f|g/Dockerfile'));
    assert.ok(!matches(glob, 'aXb+c(d)$e^f|g/Dockerfile'), '. is literal');
    assert.ok(!matches(glob, 'a.bbc(d)$e^f|g/Dockerfile'), '+ is literal');
    assert.ok(!matches(glob, 'a.b+cd$e^f|g/Dockerfile'), '() are literal');
    assert.ok(!matches(glob, 'g/Dockerfile'), '| is literal');
    assert.doesNotThrow(() => globToRegExp('x\\y/Dockerfile'));
    assert.ok(matches('x\\y/Dockerfile', 'x\\y/Dockerfile'));
  });

  test('is anchored at both ends', () => {
    const re = globToRegExp('api/Dockerfile');
    assert.equal(re.source.startsWith('^'), true);
    assert.equal(re.source.endsWith('$'), true);
    assert.ok(!matches('api/Dockerfile', 'x/api/Dockerfile'));
    assert.ok(!matches('api/Dockerfile', 'api/Dockerfile2'));
  });
});

void describe('imageFor', () => {
  const settings: LayerliftSettings = {
    ...defaultSettings,
    images: [
      { dockerfile: 'services/api/Dockerfile', image: 'registry.example.com/team/api:1' },
      { dockerfile: 'services/**/Dockerfile', image: 'registry.example.com/team/service:1' },
      { dockerfile: 'Dockerfile', image: 'registry.example.com/team/app:1' },
    ],
    mirrors: {},
    insecureRegistries: [],
  };

  test('the first matching entry wins', () => {
    assert.equal(imageFor(settings, 'services/api/Dockerfile')?.image, 'registry.example.com/team/api:1');
    assert.equal(imageFor(settings, 'services/worker/Dockerfile')?.image, 'registry.example.com/team/service:1');
    assert.equal(imageFor(settings, 'Dockerfile')?.image, 'registry.example.com/team/app:1');
    assert.equal(imageFor(settings, 'tools/Dockerfile')?.image, 'registry.example.com/team/app:1');
  });

  test('returns the entry itself', () => {
    assert.equal(imageFor(settings, 'services/api/Dockerfile'), settings.images[0]);
  });

  test('accepts Windows paths with backslashes', () => {
    assert.equal(imageFor(settings, 'services\\api\\Dockerfile')?.image, 'registry.example.com/team/api:1');
    assert.equal(imageFor(settings, 'services\\worker\\v2\\Dockerfile')?.image, 'registry.example.com/team/service:1');
  });

  test('returns undefined when nothing matches', () => {
    assert.equal(imageFor(settings, 'Dockerfile.dev'), undefined);
    assert.equal(imageFor(defaultSettings, 'Dockerfile'), undefined);
  });
});

void describe('mirrorCandidates', () => {
  const mirrors = { 'docker.io/library/*': 'registry.example.com/hub/library/*' };

  test('maps a wildcard rule', () => {
    assert.deepEqual(mirrorCandidates(mirrors, 'docker.io/library/python'), ['registry.example.com/hub/library/python']);
    assert.deepEqual(mirrorCandidates(mirrors, 'docker.io/library/node'), ['registry.example.com/hub/library/node']);
  });

  test('the wildcard may span slashes', () => {
    assert.deepEqual(mirrorCandidates({ 'ghcr.io/*': 'registry.example.com/ghcr/*' }, 'ghcr.io/org/team/tool'), ['registry.example.com/ghcr/org/team/tool']);
  });

  test('does not map other repositories', () => {
    assert.deepEqual(mirrorCandidates(mirrors, 'docker.io/bitnami/redis'), []);
    assert.deepEqual(mirrorCandidates(mirrors, 'ghcr.io/library/python'), []);
    assert.deepEqual(mirrorCandidates(mirrors, 'docker.io/library'), []);
    assert.deepEqual(mirrorCandidates({}, 'docker.io/library/python'), []);
  });

  test('an exact key maps only that repository', () => {
    const exact = { 'ghcr.io/org/tool': 'registry.example.com/mirror/tool' };
    assert.deepEqual(mirrorCandidates(exact, 'ghcr.io/org/tool'), ['registry.example.com/mirror/tool']);
    assert.deepEqual(mirrorCandidates(exact, 'ghcr.io/org/tool2'), []);
    assert.deepEqual(mirrorCandidates(exact, 'ghcr.io/org'), []);
  });

  test('a wildcard with a suffix matches both ends', () => {
    const rules = { 'docker.io/*/base': 'registry.example.com/bases/*' };
    assert.deepEqual(mirrorCandidates(rules, 'docker.io/acme/base'), ['registry.example.com/bases/acme']);
    assert.deepEqual(mirrorCandidates(rules, 'docker.io/acme/other'), []);
  });

  test('prefix and suffix may not overlap', () => {
    assert.deepEqual(mirrorCandidates({ 'ab*ba': 'x/*' }, 'aba'), []);
    assert.deepEqual(mirrorCandidates({ 'ab*ba': 'x/*' }, 'abba'), ['x/']);
    assert.deepEqual(mirrorCandidates({ 'ab*ba': 'x/*' }, 'ab-ba'), ['x/-']);
  });

  test('returns every matching rule, in order', () => {
    const rules = {
      'docker.io/library/*': 'registry.example.com/hub/library/*',
      'docker.io/*': 'registry.example.com/dockerhub/*',
      'docker.io/library/python': 'registry.example.com/python',
    };
    assert.deepEqual(mirrorCandidates(rules, 'docker.io/library/python'), [
      'registry.example.com/hub/library/python',
      'registry.example.com/dockerhub/library/python',
      'registry.example.com/python',
    ]);
  });
});

void describe('push, pre-push and engine settings', () => {
  test('reads the nested objects VS Code sends for dotted settings', () => {
    const s = normalizeSettings({ prepush: { strategy: 'runner', runner: 'ssh ci layerlift copy {source} {target}' }, push: { concurrency: 8, compression: 'zstd', uploader: 'layerlift' }, docker: { host: 'unix:///run/user/1000/docker.sock' } });
    assert.deepEqual(s.prepush, { strategy: 'runner', runner: 'ssh ci layerlift copy {source} {target}' });
    assert.deepEqual(s.push, { concurrency: 8, compression: 'zstd', uploader: 'layerlift' });
    assert.deepEqual(s.docker, { host: 'unix:///run/user/1000/docker.sock' });
  });

  test('falls back to the defaults for values out of range or of the wrong type', () => {
    const s = normalizeSettings({ prepush: { strategy: 'teleport', runner: '   ' }, push: { concurrency: 0, compression: 'brotli', uploader: 'carrier-pigeon' }, docker: { host: 7, context: '' } });
    assert.deepEqual(s.prepush, defaultSettings.prepush);
    assert.deepEqual(s.push, defaultSettings.push);
    assert.deepEqual(s.docker, {});
    assert.equal(normalizeSettings({ push: { concurrency: 2.5 } }).push.concurrency, 4);
    assert.equal(normalizeSettings({ push: { concurrency: 1000 } }).push.concurrency, 32);
  });

  test('engineEnvironment: docker.host replaces DOCKER_HOST and drops DOCKER_CONTEXT; a context replaces both', () => {
    const env = { DOCKER_HOST: 'tcp://a:2375', DOCKER_CONTEXT: 'colima', PATH: '/bin' };
    const byHost = engineEnvironment(normalizeSettings({ docker: { host: 'unix:///x.sock' } }), env);
    assert.deepEqual(byHost, { DOCKER_HOST: 'unix:///x.sock', PATH: '/bin' });
    const byContext = engineEnvironment(normalizeSettings({ docker: { context: 'remote' } }), env);
    assert.deepEqual(byContext, { DOCKER_CONTEXT: 'remote', PATH: '/bin' });
    assert.deepEqual(engineEnvironment(defaultSettings, env), env);
    assert.equal('DOCKER_CONTEXT' in byHost, false);
  });
});
