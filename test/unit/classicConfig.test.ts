// rebuildClassicConfig (engine/classicConfig.ts) on its own: the Go encoder's rules it follows,
// each shown by a config written out by hand as Go writes it (its sha256 is the image id), and
// the refusals: a rebuild that does not hash to the id is never returned. The real engine's
// configs are checked byte for byte in test/integration/classicConfig.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rebuildClassicConfig, type InspectJson } from '../../server/src/engine/classicConfig';

const id = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const containerConfig = (cmd: string[], labels: Record<string, string> | null = null) => ({ Hostname: '', Env: ['A=<b>&c'], Cmd: cmd, Volumes: null, Labels: labels });
const BASE = Buffer.from('{"architecture":"amd64","history":[{"created":"2020-01-02T03:04:05.500000000+00:00","created_by":"base step","empty_layer":false,"extra":"dropped"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:aa"]}}');

function step(over: Partial<InspectJson> & { cmd: string[]; layers: string[] }): InspectJson {
  const { cmd, layers, ...rest } = over;
  return { Created: '2026-12-06T01:00:00.1234Z', Author: '', Container: '', ContainerConfig: containerConfig(['/bin/sh', '-c', ...cmd]), Config: containerConfig(['run']), DockerVersion: '20.10.24', Architecture: 'amd64', Os: 'linux', RootFS: { Type: 'layers', Layers: layers }, ...rest };
}

// As Go writes it: keys sorted, <>& escaped, map keys sorted by bytes ("10" before "9"), the base's
// history entry re-encoded (its time's trailing zeros and +00:00 gone, unknown fields dropped),
// a step without a new layer marked empty_layer, omitempty fields (author, container) left out.
const EXPECTED =
  '{"architecture":"amd64",' +
  '"config":{"Hostname":"","Env":["A=\\u003cb\\u003e\\u0026c"],"Cmd":["run"],"Volumes":null,"Labels":{"10":"ten","9":"nine","z":"\\u2028"}},' +
  '"container_config":{"Hostname":"","Env":["A=\\u003cb\\u003e\\u0026c"],"Cmd":["/bin/sh","-c","#(nop)  CMD [\\"run\\"]"],"Volumes":null,"Labels":null},' +
  '"created":"2026-12-06T01:00:01Z","docker_version":"20.10.24",' +
  '"history":[{"created":"2020-01-02T03:04:05.5Z","created_by":"base step"},' +
  '{"created":"2026-12-06T01:00:00.1234Z","created_by":"/bin/sh -c COPY x /x"},' +
  '{"created":"2026-12-06T01:00:01Z","created_by":"/bin/sh -c #(nop)  CMD [\\"run\\"]","empty_layer":true}],' +
  '"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:aa","sha256:bb"]}}';

function chain(imageId: string) {
  const copy = step({ cmd: ['COPY x /x'], layers: ['sha256:aa', 'sha256:bb'], Id: 'sha256:step1', Parent: 'sha256:base' });
  const cmd = step({ cmd: ['#(nop)  CMD ["run"]'], layers: ['sha256:aa', 'sha256:bb'], Id: imageId, Parent: 'sha256:step1', Created: '2026-12-06T01:00:01.000000000Z' });
  (cmd.Config as { Labels: unknown }).Labels = JSON.parse('{"9":"nine","z":"\u2028","10":"ten"}') as unknown;
  return { steps: [copy, cmd], baseConfig: BASE, baseLayers: 1 };
}

describe('rebuildClassicConfig', () => {
  test("Go's encoding: sorted keys, escaped <>& and U+2028, map keys by bytes, times trimmed, empty layers marked", () => {
    const rebuilt = rebuildClassicConfig(chain(id(EXPECTED)));
    assert.equal(rebuilt?.toString('utf8'), EXPECTED);
  });

  test('a rebuild that does not hash to the image id is not returned', () => {
    assert.equal(rebuildClassicConfig(chain(id(`${EXPECTED} `))), undefined);
  });

  test('what cannot be encoded as Go would is refused: a base history that is not a list, an unreadable time, no steps', () => {
    assert.equal(rebuildClassicConfig({ ...chain(id(EXPECTED)), baseConfig: Buffer.from('{"history":{}}') }), undefined);
    assert.equal(rebuildClassicConfig({ ...chain(id(EXPECTED)), baseConfig: Buffer.from('not json') }), undefined);
    const late = chain(id(EXPECTED));
    (late.steps[0] as InspectJson).Created = 'yesterday';
    assert.equal(rebuildClassicConfig(late), undefined);
    assert.equal(rebuildClassicConfig({ steps: [], baseLayers: 0 }), undefined);
  });
});
