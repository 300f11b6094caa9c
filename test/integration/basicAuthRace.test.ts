// Concurrent first requests to a Basic-auth registry: every one is sent before the challenge is
// known, each gets a 401, and each must be retried with the credentials — not only the first.
// (Found by the editor's credential prompt: a pre-push checks several blobs at once.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type Registry } from '../bed/registry';
import { RegistryClient } from '../../server/src/registry/registryClient';
import { staticCredentials } from '../../server/src/registry/credentials';
import { parseReference } from '../../server/src/core/reference';

let registry: Registry;
before(async () => {
  registry = await startRegistry({ auth: 'htpasswd', users: { dave: 'dave-pw-7781' } });
});
after(async () => {
  await registry?.stop();
});

test('eight blob checks at once on a fresh client all authenticate', async () => {
  const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'dave', password: 'dave-pw-7781' } }) });
  try {
    const repo = parseReference(`${registry.host}/team/app`);
    const digests = Array.from({ length: 8 }, (_, i) => `sha256:${String(i).repeat(64)}`);
    const answers = await Promise.all(digests.map((d) => client.headBlob(repo, d)));
    assert.deepEqual(answers, digests.map(() => undefined));
  } finally {
    await client.close();
  }
});

test('wrong credentials still fail at once with one line', async () => {
  const client = new RegistryClient({ credentials: staticCredentials({ [registry.host]: { username: 'dave', password: 'wrong' } }) });
  try {
    await assert.rejects(client.headBlob(parseReference(`${registry.host}/team/app`), `sha256:${'a'.repeat(64)}`), (error: Error) => {
      assert.match(error.message, /authentication required \(HTTP 401\)/);
      assert.doesNotMatch(error.message, /\n|wrong/);
      return true;
    });
  } finally {
    await client.close();
  }
});
