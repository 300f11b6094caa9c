// Which mover sends a push (pure): the engine's own push for engine images, Layerlift's uploader
// for image files and zstd; the registry login (X-Registry-Auth) never travels over plain TCP to
// an engine on another host. Every branch, for every --uploader choice.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseUploader, type UploaderDecision, type UploaderFacts } from '../../server/src/push/chooseUploader';
import type { UploaderChoice } from '../../server/src/push/mover';

const unix: UploaderFacts['engineTransport'] = { kind: 'unix' };
const plainRemote: UploaderFacts['engineTransport'] = { kind: 'tcp', tls: false, loopback: false, url: 'tcp://build.example.com:2375' };
const tlsRemote: UploaderFacts['engineTransport'] = { kind: 'tcp', tls: true, loopback: false, url: 'tcp://build.example.com:2376' };
const plainLoopback: UploaderFacts['engineTransport'] = { kind: 'tcp', tls: false, loopback: true, url: 'tcp://127.0.0.1:2375' };
const tlsLoopback: UploaderFacts['engineTransport'] = { kind: 'tcp', tls: true, loopback: true, url: 'tcp://localhost:2376' };

const engineImage = (engineTransport: UploaderFacts['engineTransport'], compression: UploaderFacts['compression'] = 'gzip'): UploaderFacts => ({ imageFile: false, compression, engineTransport });
const imageFile = (compression: UploaderFacts['compression'] = 'gzip'): UploaderFacts => ({ imageFile: true, compression });

function refused(decision: UploaderDecision): string {
  assert.ok('refused' in decision, `expected a refusal, got ${JSON.stringify(decision)}`);
  assert.ok(!decision.refused.includes('\n'), 'one line');
  return decision.refused;
}

function chosen(decision: UploaderDecision): { uploader: string; note?: string } {
  assert.ok('uploader' in decision, `expected an uploader, got ${JSON.stringify(decision)}`);
  if (decision.note !== undefined) assert.ok(!decision.note.includes('\n'), 'one line');
  return decision;
}

describe('chooseUploader: image files (oci:, docker-archive:)', () => {
  test('auto and layerlift: Layerlift uploads, without a note', () => {
    assert.deepEqual(chooseUploader('auto', imageFile()), { uploader: 'layerlift' });
    assert.deepEqual(chooseUploader('layerlift', imageFile()), { uploader: 'layerlift' });
  });

  test('zstd image files too: no note, no refusal', () => {
    assert.deepEqual(chooseUploader('auto', imageFile('zstd')), { uploader: 'layerlift' });
    assert.deepEqual(chooseUploader('layerlift', imageFile('zstd')), { uploader: 'layerlift' });
  });

  test('--uploader engine is refused: no engine holds an image file; says what to use', () => {
    for (const compression of ['gzip', 'zstd'] as const) {
      const why = refused(chooseUploader('engine', imageFile(compression)));
      assert.match(why, /--uploader engine/);
      assert.match(why, /--uploader layerlift/);
      assert.match(why, /image file/);
    }
  });

  test('an engine transport given alongside an image file changes nothing', () => {
    const facts: UploaderFacts = { imageFile: true, compression: 'gzip', engineTransport: plainRemote };
    assert.deepEqual(chooseUploader('auto', facts), { uploader: 'layerlift' });
    assert.ok('refused' in chooseUploader('engine', facts));
  });
});

describe('chooseUploader: --uploader layerlift', () => {
  test('always Layerlift, without a note, whatever the transport or compression', () => {
    for (const transport of [unix, plainRemote, tlsRemote, plainLoopback, undefined]) {
      for (const compression of ['gzip', 'zstd'] as const) {
        assert.deepEqual(chooseUploader('layerlift', engineImage(transport, compression)), { uploader: 'layerlift' }, `${JSON.stringify(transport)} ${compression}`);
      }
    }
  });
});

describe('chooseUploader: zstd', () => {
  test('auto: Layerlift uploads, with a note naming zstd', () => {
    const decision = chosen(chooseUploader('auto', engineImage(unix, 'zstd')));
    assert.equal(decision.uploader, 'layerlift');
    assert.match(decision.note ?? '', /zstd/);
  });

  test('--uploader engine: refused, pointing at --uploader layerlift', () => {
    const why = refused(chooseUploader('engine', engineImage(unix, 'zstd')));
    assert.match(why, /zstd/);
    assert.match(why, /--uploader layerlift/);
  });

  test('zstd is decided before the transport (even a plain remote TCP engine gets the zstd note)', () => {
    assert.match(chosen(chooseUploader('auto', engineImage(plainRemote, 'zstd'))).note ?? '', /zstd/);
    assert.match(refused(chooseUploader('engine', engineImage(plainRemote, 'zstd'))), /zstd/);
  });
});

describe('chooseUploader: how the engine is reached (gzip engine images)', () => {
  const choices: UploaderChoice[] = ['auto', 'engine'];

  test('a unix socket: the engine, without a note', () => {
    for (const choice of choices) assert.deepEqual(chooseUploader(choice, engineImage(unix)), { uploader: 'engine' }, choice);
  });

  test('TLS to another host: the engine', () => {
    for (const choice of choices) assert.deepEqual(chooseUploader(choice, engineImage(tlsRemote)), { uploader: 'engine' }, choice);
  });

  test('plain TCP to loopback: the engine (nothing crosses the network)', () => {
    for (const choice of choices) assert.deepEqual(chooseUploader(choice, engineImage(plainLoopback)), { uploader: 'engine' }, choice);
  });

  test('TLS to loopback: the engine', () => {
    for (const choice of choices) assert.deepEqual(chooseUploader(choice, engineImage(tlsLoopback)), { uploader: 'engine' }, choice);
  });

  test('no transport known: the engine', () => {
    for (const choice of choices) assert.deepEqual(chooseUploader(choice, engineImage(undefined)), { uploader: 'engine' }, choice);
  });

  test('plain TCP to another host, auto: Layerlift uploads, with a one-line note naming the engine and why', () => {
    const decision = chosen(chooseUploader('auto', engineImage(plainRemote)));
    assert.equal(decision.uploader, 'layerlift');
    assert.ok(decision.note, 'a note says why');
    assert.match(decision.note, /tcp:\/\/build\.example\.com:2375/);
    assert.match(decision.note, /plain TCP/);
    assert.match(decision.note, /in the clear/);
    assert.match(decision.note, /Layerlift uploads this push itself/);
  });

  test('plain TCP to another host, --uploader engine: refused, offering TLS, a unix socket or --uploader layerlift', () => {
    const why = refused(chooseUploader('engine', engineImage(plainRemote)));
    assert.match(why, /tcp:\/\/build\.example\.com:2375/);
    assert.match(why, /plain TCP/);
    assert.match(why, /TLS/);
    assert.match(why, /unix socket/);
    assert.match(why, /--uploader layerlift/);
  });
});

describe('chooseUploader: the whole table', () => {
  type Row = [UploaderChoice, UploaderFacts, 'engine' | 'layerlift' | 'refused'];
  const rows: Row[] = [
    ['auto', imageFile(), 'layerlift'],
    ['engine', imageFile(), 'refused'],
    ['layerlift', imageFile(), 'layerlift'],
    ['auto', engineImage(unix), 'engine'],
    ['engine', engineImage(unix), 'engine'],
    ['layerlift', engineImage(unix), 'layerlift'],
    ['auto', engineImage(unix, 'zstd'), 'layerlift'],
    ['engine', engineImage(unix, 'zstd'), 'refused'],
    ['auto', engineImage(plainRemote), 'layerlift'],
    ['engine', engineImage(plainRemote), 'refused'],
    ['layerlift', engineImage(plainRemote), 'layerlift'],
    ['auto', engineImage(tlsRemote), 'engine'],
    ['engine', engineImage(tlsRemote), 'engine'],
    ['auto', engineImage(plainLoopback), 'engine'],
    ['engine', engineImage(plainLoopback), 'engine'],
  ];
  for (const [choice, facts, expected] of rows) {
    test(`${choice} · ${facts.imageFile ? 'file' : JSON.stringify(facts.engineTransport)} · ${facts.compression} → ${expected}`, () => {
      const decision = chooseUploader(choice, facts);
      assert.equal('refused' in decision ? 'refused' : decision.uploader, expected);
    });
  }
});
