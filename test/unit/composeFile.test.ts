// Compose files as Layerlift reads them: services, build settings, and the Compose
// specification's interpolation (environment first, then .env).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeServices, interpolate, parseDotEnv, ComposeError } from '../../server/src/core/composeFile';

test('interpolation: $VAR, ${VAR}, defaults, required, alternatives and $$', () => {
  const vars = { A: 'a', EMPTY: '' };
  assert.equal(interpolate('$A-${A}', vars, 'x'), 'a-a');
  assert.equal(interpolate('${MISSING:-d} ${EMPTY:-d} ${EMPTY-d} ${MISSING-d}', vars, 'x'), 'd d  d');
  assert.equal(interpolate('${A:+yes} ${EMPTY:+yes} ${EMPTY+yes} ${MISSING+yes}', vars, 'x'), 'yes  yes ');
  assert.equal(interpolate('$$A costs $$5', vars, 'x'), '$A costs $5');
  assert.equal(interpolate('${MISSING:-${A}}', vars, 'x'), 'a', 'a default may itself interpolate');
  assert.equal(interpolate('${MISSING}', vars, 'x'), '');
  assert.throws(() => interpolate('${MISSING:?needed}', vars, 'services.api.image'), (e: unknown) => e instanceof ComposeError && /services\.api\.image: needed — set MISSING/.test(e.message));
  assert.throws(() => interpolate('${EMPTY:?}', vars, 'w'), /EMPTY is required/);
  assert.equal(interpolate('${EMPTY?x}', vars, 'w'), '', 'without a colon, only unset fails');
  assert.throws(() => interpolate('${1BAD}', vars, 'w'), /invalid interpolation/);
});

test('.env: comments, export, quotes, inline comments', () => {
  assert.deepEqual(parseDotEnv('# c\nexport A=1\nB="two words"\nC=\'$raw\'\nD=x # note\n\nbad line\nE="a\\nb"\n'), { A: '1', B: 'two words', C: '$raw', D: 'x', E: 'a\nb' });
});

test('services: build as a path or a map, args as a map or a list, image-only services', () => {
  const doc = {
    services: {
      web: { image: '${REG}/web:${TAG:-latest}', build: { context: './web', dockerfile: 'Dockerfile.prod', target: 'release', args: { BASE: '${BASE}', FROM_ENV: null } } },
      worker: { build: 'worker', platform: 'linux/arm64' },
      jobs: { build: { args: ['A=1', 'FROM_ENV', 'NOT_SET'] } },
      cache: { image: 'redis:7' },
    },
  };
  const services = composeServices(doc, { REG: 'r.example.com', BASE: 'python:3.12', FROM_ENV: 'e' });
  assert.deepEqual(services, [
    { name: 'web', image: 'r.example.com/web:latest', build: { context: './web', dockerfile: 'Dockerfile.prod', args: { BASE: 'python:3.12', FROM_ENV: 'e' }, target: 'release' } },
    { name: 'worker', platform: 'linux/arm64', build: { context: 'worker', dockerfile: 'Dockerfile', args: {} } },
    { name: 'jobs', build: { context: '.', dockerfile: 'Dockerfile', args: { A: '1', FROM_ENV: 'e' } } },
    { name: 'cache', image: 'redis:7' },
  ]);
});

test('a file without services, or with the wrong shapes, says where', () => {
  assert.throws(() => composeServices({ version: '3' }, {}), /no services map/);
  assert.throws(() => composeServices({ services: { a: 'x' } }, {}), /services\.a must be a map/);
  assert.throws(() => composeServices({ services: { a: { build: 3 } } }, {}), /services\.a\.build must be a path or a map/);
  assert.throws(() => composeServices({ services: { a: { image: ['x'] } } }, {}), /services\.a\.image must be a string/);
});
