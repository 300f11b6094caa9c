import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDockerfile } from '../../server/src/analysis/analyzeDockerfile';
import { imageBaseOf } from '../../server/src/analysis/baseImage';
import { formatReference } from '../../server/src/core/reference';

test('imageBaseOf follows FROM <stage> links back to an image', () => {
  const analysis = analyzeDockerfile('FROM python:3.12-slim AS base\nFROM base AS deps\nFROM deps\nRUN true\nFROM scratch AS empty\n', { target: 'deps' });
  const base = imageBaseOf(analysis);
  assert.equal(base && formatReference(base), 'docker.io/library/python:3.12-slim');
  assert.equal(imageBaseOf(analysis, 3), undefined);
  const last = analyzeDockerfile('FROM alpine:3.19 AS a\nFROM a\n');
  assert.equal(formatReference(imageBaseOf(last) ?? { registry: '', repository: '' }), 'docker.io/library/alpine:3.19');
});
