/**
 * The reader against moto (the local AWS stand-in), configured the way an app is: fromEnv with
 * TokensTableName/KmsKeyArn and the standard AWS variables (AWS_ENDPOINT_URL pointing at moto).
 * Items are written by a test-only writer (KMS GenerateDataKey + node:crypto), in both formats.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';

import {
  DecryptionError,
  MalformedItemError,
  NeedsReauthError,
  TokenExpiredError,
  TokenInactiveError,
  TokenNotFoundError,
  TokenReader,
  UnsupportedEnvelopeVersionError,
} from '../src/index.js';
import { MOTO_ENV, startMoto, type Moto } from './support/moto.js';
import { packageRoot } from './support/paths.js';
import { assertNotShown, assertSecretEqual, fakeAccessToken, fakeRefreshToken, renderings, sha256 } from './support/secrets.js';
import { envelopeAttribute, generateDataKey, putItem, seal, type DataKey, type EnvelopeJson } from './support/writer.js';

const TABLE = 'oauth-tokens-tsreader';

let moto: Moto;
let dynamodb: DynamoDBClient;
let kms: KMSClient;
let keyArn: string;
let otherKeyArn: string;
/** The "refresher run" data key most items are sealed with. */
let runKey: DataKey;

/** Counts the commands a client sends, by name, at the SDK's first middleware step. */
function countDynamoDB(client: DynamoDBClient): Map<string, number> {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      bump(counts, context.commandName);
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return counts;
}

function countKms(client: KMSClient): Map<string, number> {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      bump(counts, context.commandName);
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return counts;
}

/**
 * What each Decrypt the client sends carries as EncryptionContext, seen at the SDK's first
 * middleware step: the context, or 'none' when the input has no EncryptionContext member at all.
 */
function recordDecryptContexts(client: KMSClient): Array<Record<string, string> | 'none'> {
  const seen: Array<Record<string, string> | 'none'> = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'DecryptCommand') {
        const input = args.input as { EncryptionContext?: Record<string, string> };
        seen.push('EncryptionContext' in input && input.EncryptionContext !== undefined ? { ...input.EncryptionContext } : 'none');
      }
      return next(args);
    },
    { step: 'initialize', name: 'recordDecryptContexts' },
  );
  return seen;
}

function bump(counts: Map<string, number>, name: string | undefined): void {
  counts.set(name ?? '?', (counts.get(name ?? '?') ?? 0) + 1);
}

/** A reader as an app builds one, with counted clients from the same default chain. */
function appReader(env: Record<string, string | undefined> = { TokensTableName: TABLE, KmsKeyArn: keyArn }) {
  const readerDynamodb = new DynamoDBClient({});
  const readerKms = new KMSClient({});
  const ddbCalls = countDynamoDB(readerDynamodb);
  const kmsCalls = countKms(readerKms);
  const decryptContexts = recordDecryptContexts(readerKms);
  const reader = TokenReader.fromEnv(env, { dynamodb: readerDynamodb, kms: readerKms });
  const close = (): void => {
    readerDynamodb.destroy();
    readerKms.destroy();
  };
  return { reader, ddbCalls, kmsCalls, decryptContexts, close };
}

async function writeEnvelopeItem(userId: string, platform: string, extra: Partial<Parameters<typeof putItem>[2]> = {}, key = runKey, envelopeVersion = 1): Promise<string> {
  const value = fakeAccessToken();
  await putItem(dynamodb, TABLE, {
    userId,
    platform,
    accessToken: envelopeAttribute(seal(key, userId, platform, value, envelopeVersion)),
    refreshToken: envelopeAttribute(seal(key, userId, platform, fakeRefreshToken(), envelopeVersion)),
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
    status: 'active',
    version: 1,
    ...extra,
  });
  return value;
}

async function rawItem(userId: string, platform: string): Promise<Record<string, AttributeValue>> {
  const out = await dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: { userId: { S: userId }, platform: { S: platform } } }));
  assert.ok(out.Item !== undefined);
  return out.Item;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('resolved'),
    (error: unknown) => error,
  );
}

before(async () => {
  moto = await startMoto();
  Object.assign(process.env, MOTO_ENV, { AWS_ENDPOINT_URL: moto.endpoint });
  delete process.env['AWS_PROFILE'];
  dynamodb = new DynamoDBClient({});
  kms = new KMSClient({});
  await dynamodb.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'userId', AttributeType: 'S' },
        { AttributeName: 'platform', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'userId', KeyType: 'HASH' },
        { AttributeName: 'platform', KeyType: 'RANGE' },
      ],
    }),
  );
  const created = await kms.send(new CreateKeyCommand({ Description: 'tsreader test key' }));
  const other = await kms.send(new CreateKeyCommand({ Description: 'tsreader other key' }));
  assert.ok(created.KeyMetadata?.Arn !== undefined && other.KeyMetadata?.Arn !== undefined);
  keyArn = created.KeyMetadata.Arn;
  otherKeyArn = other.KeyMetadata.Arn;
  runKey = await generateDataKey(kms, keyArn);
});

after(async () => {
  dynamodb?.destroy();
  kms?.destroy();
  await moto?.stop();
});

describe('reading from moto', () => {
  it('reads an envelope item', async () => {
    const value = await writeEnvelopeItem('user-env', 'tiktok', { scope: 'user.info.basic video.list', version: 5 });
    const { reader, close } = appReader();
    try {
      const token = await reader.getToken('user-env', 'tiktok');
      assertSecretEqual(token.accessToken, value);
      assert.equal(token.status, 'active');
      assert.equal(token.version, 5);
      assert.equal(token.scope, 'user.info.basic video.list');
      assert.ok(token.expiresAt !== null && token.expiresAt > Date.now() / 1000);
      assert.ok(token.expiresAtDate instanceof Date);
    } finally {
      close();
    }
  });

  it("names the envelope's keyId to KMS when KmsKeyArn is not set", async () => {
    const value = await writeEnvelopeItem('user-unpinned', 'reddit');
    const { reader, close } = appReader({ TokensTableName: TABLE });
    try {
      assertSecretEqual((await reader.getToken('user-unpinned', 'reddit')).accessToken, value);
    } finally {
      close();
    }
  });

  it('reads a plaintext item', async () => {
    const value = fakeAccessToken();
    await putItem(dynamodb, TABLE, { userId: 'user-plain', platform: 'reddit', accessToken: { S: value }, refreshToken: { S: fakeRefreshToken() }, expiresAt: Math.floor(Date.now() / 1000) + 3600, scope: 'identity', status: 'active', version: 2 });
    const { reader, kmsCalls, close } = appReader();
    try {
      const token = await reader.getToken('user-plain', 'reddit');
      assertSecretEqual(token.accessToken, value);
      assert.deepEqual([token.version, token.scope], [2, 'identity']);
      assert.equal(kmsCalls.size, 0, 'a plaintext item needs no KMS call');
    } finally {
      close();
    }
  });

  it('reads an item as an app writes it (no version, no status) as version 0, active', async () => {
    const value = fakeAccessToken();
    await putItem(dynamodb, TABLE, { userId: 'user-app', platform: 'instagram', accessToken: { S: value }, expiresAt: Math.floor(Date.now() / 1000) + 86400 });
    const { reader, close } = appReader();
    try {
      const token = await reader.getToken('user-app', 'instagram');
      assertSecretEqual(token.accessToken, value);
      assert.equal(token.version, 0);
      assert.equal(token.status, 'active');
      assert.equal(token.scope, null);
    } finally {
      close();
    }
  });

  it('raises the status errors, and NOT_FOUND for no item and for the run lock', async () => {
    await writeEnvelopeItem('user-reauth', 'tiktok', { status: 'needs_reauth', extra: { lastError: { S: 'invalid_grant' } } });
    await writeEnvelopeItem('user-inactive', 'tiktok', { status: 'inactive' });
    await writeEnvelopeItem('user-odd', 'tiktok', { status: 'suspended' });
    await dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: { userId: { S: 'cron' }, platform: { S: 'refresh-oauth' }, expiresAt: { N: '1' }, lockOwner: { S: 'run-1' } } }));
    const { reader, kmsCalls, close } = appReader();
    try {
      const reauth = await rejection(reader.getToken('user-reauth', 'tiktok'));
      assert.ok(reauth instanceof NeedsReauthError && reauth.reason === 'invalid_grant');
      const inactive = await rejection(reader.getToken('user-inactive', 'tiktok'));
      assert.ok(inactive instanceof TokenInactiveError && inactive.status === 'inactive');
      const odd = await rejection(reader.getToken('user-odd', 'tiktok'));
      assert.ok(odd instanceof TokenInactiveError && odd.status === 'suspended');
      await assert.rejects(reader.getToken('nobody', 'tiktok'), TokenNotFoundError);
      await assert.rejects(reader.getToken('cron', 'refresh-oauth'), TokenNotFoundError);
      assert.equal(kmsCalls.size, 0, 'no KMS call for an item it does not return');
    } finally {
      close();
    }
  });

  it('refuses an envelope copied into another item, and a flipped ciphertext byte', async () => {
    await writeEnvelopeItem('user-source', 'tiktok');
    const source = await rawItem('user-source', 'tiktok');
    await dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: { ...source, userId: { S: 'user-thief' } } }));
    const envelope = source['accessToken']?.M;
    assert.ok(envelope !== undefined);
    const ciphertext = Buffer.from(envelope['ciphertext']?.S ?? '', 'base64');
    ciphertext[3] = (ciphertext[3] ?? 0) ^ 0x01;
    await dynamodb.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { ...source, userId: { S: 'user-tampered' }, accessToken: { M: { ...envelope, ciphertext: { S: ciphertext.toString('base64') } } } },
      }),
    );
    // The tampered copy is also moved; re-seal a same-item tamper to isolate the flip.
    await writeEnvelopeItem('user-flip', 'tiktok');
    const flip = await rawItem('user-flip', 'tiktok');
    const flipEnvelope = flip['accessToken']?.M ?? {};
    const flipped = Buffer.from(flipEnvelope['ciphertext']?.S ?? '', 'base64');
    flipped[0] = (flipped[0] ?? 0) ^ 0x80;
    await dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: { ...flip, accessToken: { M: { ...flipEnvelope, ciphertext: { S: flipped.toString('base64') } } } } }));

    const { reader, close } = appReader();
    try {
      for (const userId of ['user-thief', 'user-tampered', 'user-flip']) {
        const error = await rejection(reader.getToken(userId, 'tiktok'));
        assert.ok(error instanceof DecryptionError && error.failure === 'authentication', userId);
      }
    } finally {
      close();
    }
  });

  it('fails at KMS when KmsKeyArn names another key than the one that sealed the data key', async () => {
    await writeEnvelopeItem('user-pinned', 'tiktok');
    const { reader, close } = appReader({ TokensTableName: TABLE, KmsKeyArn: otherKeyArn });
    try {
      const error = await rejection(reader.getToken('user-pinned', 'tiktok'));
      assert.ok(error instanceof DecryptionError && error.failure === 'kms', String(error));
      assert.ok(error.kmsErrorName !== null && error.message.includes(error.kmsErrorName));
    } finally {
      close();
    }
  });

  it('refuses an envelope of an unknown version, naming the version', async () => {
    const envelope: EnvelopeJson = { ...seal(runKey, 'user-v3', 'tiktok', fakeAccessToken()), version: 3 };
    await putItem(dynamodb, TABLE, { userId: 'user-v3', platform: 'tiktok', accessToken: envelopeAttribute(envelope) });
    const { reader, kmsCalls, close } = appReader();
    try {
      const error = await rejection(reader.getToken('user-v3', 'tiktok'));
      assert.ok(error instanceof UnsupportedEnvelopeVersionError && error instanceof MalformedItemError);
      assert.equal(error.envelopeVersion, 3);
      assert.match(error.message, /version 3/);
      assert.equal(kmsCalls.size, 0, 'no KMS call for an envelope it cannot read');
    } finally {
      close();
    }
  });

  it('applies minValiditySeconds', async () => {
    const now = Math.floor(Date.now() / 1000);
    await writeEnvelopeItem('user-soon', 'tiktok', { expiresAt: now + 30 });
    await writeEnvelopeItem('user-past', 'tiktok', { expiresAt: now - 10 });
    await putItem(dynamodb, TABLE, { userId: 'user-noexpiry', platform: 'tiktok', accessToken: { S: fakeAccessToken() } });
    const { reader, close } = appReader();
    try {
      await reader.getToken('user-soon', 'tiktok', { minValiditySeconds: 10 });
      const error = await rejection(reader.getToken('user-soon', 'tiktok', { minValiditySeconds: 60 }));
      assert.ok(error instanceof TokenExpiredError && error.expiresAt === now + 30 && error.minValiditySeconds === 60);
      await assert.rejects(reader.getToken('user-past', 'tiktok'), TokenExpiredError);
      const open = await reader.getToken('user-noexpiry', 'tiktok', { minValiditySeconds: 3600 });
      assert.equal(open.expiresAt, null);
      assert.equal(open.expiresAtDate, null);
    } finally {
      close();
    }
  });

  it('makes exactly one KMS Decrypt for 1,000 reads of 100 items sealed under one data key', async () => {
    const steadyKey = await generateDataKey(kms, keyArn);
    const tokens = new Map<string, string>();
    for (let i = 0; i < 100; i += 1) {
      const userId = `steady-${i}`;
      tokens.set(userId, await writeEnvelopeItem(userId, 'tiktok', {}, steadyKey));
    }
    const { reader, ddbCalls, kmsCalls, close } = appReader();
    try {
      const users = [...tokens.keys()];
      let next = 0;
      let mismatches = 0;
      // Ten concurrent workers, as a busy app would read.
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          while (next < 1000) {
            const userId = users[next % users.length] ?? '';
            next += 1;
            const token = await reader.getToken(userId, 'tiktok');
            if (token.accessToken !== tokens.get(userId)) mismatches += 1;
          }
        }),
      );
      assert.equal(mismatches, 0, 'every read returned the token written');
      assert.equal(reader.stats.kmsDecryptCalls, 1, 'the reader counted one Decrypt');
      assert.deepEqual([...kmsCalls], [['DecryptCommand', 1]], 'the KMS client sent one Decrypt');
      assert.deepEqual([...ddbCalls], [['GetItemCommand', 1000]], 'one GetItem per read, never Query or Scan');
      assert.equal(reader.stats.getItemCalls, 1000);
    } finally {
      close();
    }
  });

  it('never shows the token value when a token from the table is printed', async () => {
    const value = await writeEnvelopeItem('user-print', 'tiktok');
    const { reader, close } = appReader();
    try {
      const token = await reader.getToken('user-print', 'tiktok');
      for (const [how, text] of Object.entries(renderings(token))) {
        assertNotShown(text, value, how);
      }
    } finally {
      close();
    }
  });
});

describe('envelope v2 against moto (data key bound to the tokens table)', () => {
  /** A data key as the v2 writer generates it: EncryptionContext naming the table. */
  const v2Key = (table = TABLE): Promise<DataKey> => generateDataKey(kms, keyArn, { tokensTable: table });

  it('reads a v2 item, asking KMS with { tokensTable: TokensTableName }', async () => {
    const value = await writeEnvelopeItem('user-v2', 'tiktok', { scope: 'user.info.basic', version: 7 }, await v2Key(), 2);
    assert.equal((await rawItem('user-v2', 'tiktok'))['accessToken']?.M?.['version']?.N, '2');
    const { reader, decryptContexts, close } = appReader();
    try {
      const token = await reader.getToken('user-v2', 'tiktok');
      assertSecretEqual(token.accessToken, value);
      assert.deepEqual([token.version, token.scope], [7, 'user.info.basic']);
      assert.deepEqual(decryptContexts, [{ tokensTable: TABLE }]);
    } finally {
      close();
    }
  });

  it('reads a v2 item without KmsKeyArn too (the keyId named, the context still sent)', async () => {
    const value = await writeEnvelopeItem('user-v2-unpinned', 'reddit', {}, await v2Key(), 2);
    const { reader, decryptContexts, close } = appReader({ TokensTableName: TABLE });
    try {
      assertSecretEqual((await reader.getToken('user-v2-unpinned', 'reddit')).accessToken, value);
      assert.deepEqual(decryptContexts, [{ tokensTable: TABLE }]);
    } finally {
      close();
    }
  });

  it('fails with DECRYPTION for a v2 envelope whose data key was generated for another table', async () => {
    await writeEnvelopeItem('user-v2-foreign', 'tiktok', {}, await v2Key('some-other-table'), 2);
    const { reader, decryptContexts, close } = appReader();
    try {
      const error = await rejection(reader.getToken('user-v2-foreign', 'tiktok'));
      assert.ok(error instanceof DecryptionError && error.code === 'DECRYPTION' && error.failure === 'kms', String(error));
      assert.ok(error.kmsErrorName !== null && error.message.includes(error.kmsErrorName));
      assert.match(error.message, /TokensTableName/);
      assert.deepEqual(decryptContexts, [{ tokensTable: TABLE }]);
      // Not remembered: the next read asks KMS again.
      await assert.rejects(reader.getToken('user-v2-foreign', 'tiktok'), DecryptionError);
      assert.equal(reader.stats.kmsDecryptCalls, 2);
    } finally {
      close();
    }
  });

  it('fails with DECRYPTION for a v1 data key relabelled as v2, and a v2 data key relabelled as v1', async () => {
    // The version decides the KMS call: a context-less key read with a context fails, and back.
    const v1AsV2 = { ...seal(runKey, 'user-v1-as-v2', 'tiktok', fakeAccessToken()), version: 2 };
    const v2AsV1 = seal(await v2Key(), 'user-v2-as-v1', 'tiktok', fakeAccessToken(), 1);
    await putItem(dynamodb, TABLE, { userId: 'user-v1-as-v2', platform: 'tiktok', accessToken: envelopeAttribute(v1AsV2) });
    await putItem(dynamodb, TABLE, { userId: 'user-v2-as-v1', platform: 'tiktok', accessToken: envelopeAttribute(v2AsV1) });
    const { reader, decryptContexts, close } = appReader();
    try {
      for (const userId of ['user-v1-as-v2', 'user-v2-as-v1']) {
        const error = await rejection(reader.getToken(userId, 'tiktok'));
        assert.ok(error instanceof DecryptionError && error.failure === 'kms', `${userId}: ${String(error)}`);
      }
      assert.deepEqual(decryptContexts, [{ tokensTable: TABLE }, 'none']);
    } finally {
      close();
    }
  });

  it('still reads a v1 item, asking KMS with no EncryptionContext, next to v2 items', async () => {
    const v1 = await writeEnvelopeItem('user-mixed-v1', 'tiktok');
    const v2 = await writeEnvelopeItem('user-mixed-v2', 'tiktok', {}, await v2Key(), 2);
    const { reader, decryptContexts, close } = appReader();
    try {
      assertSecretEqual((await reader.getToken('user-mixed-v1', 'tiktok')).accessToken, v1);
      assertSecretEqual((await reader.getToken('user-mixed-v2', 'tiktok')).accessToken, v2);
      assertSecretEqual((await reader.getToken('user-mixed-v1', 'tiktok')).accessToken, v1);
      assert.deepEqual(decryptContexts, ['none', { tokensTable: TABLE }]);
      assert.equal(reader.stats.dataKeyCacheHits, 1);
    } finally {
      close();
    }
  });

  it('makes exactly one KMS Decrypt for 1,000 reads of 100 v2 items sealed under one data key', async () => {
    const steadyKey = await v2Key();
    const tokens = new Map<string, string>();
    for (let i = 0; i < 100; i += 1) {
      const userId = `steady-v2-${i}`;
      tokens.set(userId, await writeEnvelopeItem(userId, 'tiktok', {}, steadyKey, 2));
    }
    const { reader, ddbCalls, kmsCalls, decryptContexts, close } = appReader();
    try {
      const users = [...tokens.keys()];
      let next = 0;
      let mismatches = 0;
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          while (next < 1000) {
            const userId = users[next % users.length] ?? '';
            next += 1;
            const token = await reader.getToken(userId, 'tiktok');
            if (token.accessToken !== tokens.get(userId)) mismatches += 1;
          }
        }),
      );
      assert.equal(mismatches, 0, 'every read returned the token written');
      assert.equal(reader.stats.kmsDecryptCalls, 1, 'the reader counted one Decrypt');
      assert.deepEqual([...kmsCalls], [['DecryptCommand', 1]], 'the KMS client sent one Decrypt');
      assert.deepEqual(decryptContexts, [{ tokensTable: TABLE }]);
      assert.deepEqual([...ddbCalls], [['GetItemCommand', 1000]]);
    } finally {
      close();
    }
  });
});

describe('the README example against moto', () => {
  it('sends the token as a Bearer header', async () => {
    const value = await writeEnvelopeItem('user-example', 'tiktok');
    process.env['TokensTableName'] = TABLE;
    process.env['KmsKeyArn'] = keyArn;
    const example = (await import('../examples/get-token.js')) as typeof import('../examples/get-token.js');
    const calls: Array<{ url: string; authorization: string | null }> = [];
    const fakeFetch = (async (input: string | URL | Request, init?: RequestInit) => {
      calls.push({ url: String(input), authorization: new Headers(init?.headers).get('authorization') });
      return new Response('{"data":{}}', { status: 200 });
    }) as typeof fetch;
    const response = await example.fetchTikTokProfile('user-example', fakeFetch);
    assert.equal(response.status, 200);
    assert.equal(calls.length, 1);
    assert.match(calls[0]?.url ?? '', /^https:\/\/open\.tiktokapis\.com\//);
    assertSecretEqual(calls[0]?.authorization ?? '', `Bearer ${value}`, 'Authorization header');
    // The example runs the built package (dist/), another copy of the classes: compare by code.
    await assert.rejects(example.fetchTikTokProfile('nobody', fakeFetch), { code: 'NOT_FOUND' });
  });
});

describe('the README example after a 401', () => {
  for (const statuses of [
    [401, 200],
    [401, 401],
  ]) {
    it(`refreshes once and retries once (${statuses.join(' then ')})`, async () => {
      const first = await writeEnvelopeItem('user-401', 'tiktok');
      const example = (await import('../examples/get-token.js')) as typeof import('../examples/get-token.js');
      // The class the example runs (dist/), with a token API that stores a new token in moto.
      const pkg = await import('@oauth-refresher/token-reader');
      const refreshed: string[] = [];
      const lambda = {
        send: async (command: { input: { Payload?: Uint8Array } }) => {
          const request = JSON.parse(new TextDecoder().decode(command.input.Payload)) as { force: boolean };
          assert.equal(request.force, true);
          refreshed.push(await writeEnvelopeItem('user-401', 'tiktok', { version: 2 }));
          const answer = { ok: true, status: 'active', version: 2, refreshed: true, coalesced: false };
          return { $metadata: {}, StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(answer)) };
        },
      };
      const reader = new pkg.TokenReader({
        tableName: TABLE,
        kmsKeyId: keyArn,
        tokenApiFunction: 'RefreshOAuthApi-test',
        lambda: lambda as unknown as NonNullable<ConstructorParameters<typeof pkg.TokenReader>[0]['lambda']>,
      });
      const sent: string[] = [];
      const answers = [...statuses];
      const fakeFetch = (async (_input: string | URL | Request, init?: RequestInit) => {
        sent.push(new Headers(init?.headers).get('authorization') ?? '');
        return new Response('{}', { status: answers.shift() ?? 500 });
      }) as typeof fetch;
      const response = await example.fetchTikTokProfile('user-401', fakeFetch, reader);
      // A second 401 is returned, never looped on: two calls and one refresh either way.
      assert.equal(response.status, statuses[1]);
      assert.equal(sent.length, 2);
      assert.equal(refreshed.length, 1);
      assertSecretEqual(sent[0] ?? '', `Bearer ${first}`, 'the first call');
      assertSecretEqual(sent[1] ?? '', `Bearer ${refreshed[0] ?? ''}`, 'the retried call');
      reader.destroy();
    });
  }
});

describe('scripts/interop-read.mjs against moto', () => {
  it('prints one line per key with a hash, never the token, then the KMS call count', async () => {
    const interopKey = await generateDataKey(kms, keyArn);
    const a = await writeEnvelopeItem('interop-a', 'tiktok', { scope: 'user.info.basic', version: 3 }, interopKey);
    const b = await writeEnvelopeItem('interop-b', 'tiktok', {}, interopKey);
    const plain = fakeAccessToken();
    await putItem(dynamodb, TABLE, { userId: 'interop-c', platform: 'reddit', accessToken: { S: plain } });
    await writeEnvelopeItem('interop-d', 'tiktok', { status: 'needs_reauth' }, interopKey);
    const keys = [
      ['interop-a', 'tiktok'],
      ['interop-b', 'tiktok'],
      ['interop-c', 'reddit'],
      ['interop-d', 'tiktok'],
      ['interop-missing', 'tiktok'],
    ];
    const input = `${keys.map(([userId, platform]) => JSON.stringify({ userId, platform })).join('\n')}\n\n`;
    const { code, stdout, stderr } = await run(
      process.execPath,
      [join(packageRoot(), 'scripts', 'interop-read.mjs')],
      { ...process.env, TokensTableName: TABLE, KmsKeyArn: keyArn },
      input,
    );
    for (const value of [a, b, plain]) {
      assertNotShown(stdout + stderr, value, 'the interop output');
    }
    assert.equal(code, 0, 'exit status');
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(lines[0], { userId: 'interop-a', platform: 'tiktok', ok: true, status: 'active', version: 3, expiresAt: lines[0]?.['expiresAt'], scope: 'user.info.basic', accessTokenSha256: sha256(a) });
    assert.equal(typeof lines[0]?.['expiresAt'], 'number');
    assert.equal(lines[1]?.['accessTokenSha256'], sha256(b));
    assert.deepEqual([lines[2]?.['ok'], lines[2]?.['version'], lines[2]?.['expiresAt'], lines[2]?.['scope'], lines[2]?.['accessTokenSha256']], [true, 0, null, null, sha256(plain)]);
    assert.deepEqual(lines[3], { userId: 'interop-d', platform: 'tiktok', ok: false, code: 'NEEDS_REAUTH' });
    assert.deepEqual(lines[4], { userId: 'interop-missing', platform: 'tiktok', ok: false, code: 'NOT_FOUND' });
    assert.deepEqual(lines[5], { kmsDecryptCalls: 1 });
    assert.equal(lines.length, 6);
  });

  it('exits 2 naming TokensTableName when it is not set', async () => {
    const env = { ...process.env };
    delete env['TokensTableName'];
    const { code, stderr } = await run(process.execPath, [join(packageRoot(), 'scripts', 'interop-read.mjs')], env, '');
    assert.equal(code, 2);
    assert.match(stderr, /TokensTableName/);
  });
});

function run(command: string, args: string[], env: NodeJS.ProcessEnv, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
