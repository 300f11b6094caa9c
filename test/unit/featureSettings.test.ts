// layerlift.codeLens.enabled / inlayHints.enabled / hover.enabled: read from the nested objects
// VS Code sends for dotted settings, on unless set to false.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeSettings } from '../../server/src/analysis/settings';

test('editor features are on by default and off only when set to false', () => {
  assert.deepEqual(normalizeSettings({}).features, { codeLens: true, inlayHints: true, hover: true });
  assert.deepEqual(normalizeSettings({ codeLens: { enabled: false }, hover: { enabled: false } }).features, { codeLens: false, inlayHints: true, hover: false });
  assert.deepEqual(normalizeSettings({ inlayHints: { enabled: false } }).features, { codeLens: true, inlayHints: false, hover: true });
  // Not a boolean false: stays on (settings are user input).
  assert.deepEqual(normalizeSettings({ codeLens: { enabled: 'no' }, hover: false }).features, { codeLens: true, inlayHints: true, hover: true });
});
