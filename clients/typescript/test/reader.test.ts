/**
 * TokenReader against in-memory doubles of DynamoDB and KMS: the calls it makes, key pinning,
 * the data-key cache, error mapping and configuration. moto covers the same paths over HTTP in
 * integration.test.ts; these pin the details moto cannot (timing, KMS errors, call shapes).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { IncorrectKeyException, KMSInternalException, KMSServiceException } from '@aws-sdk/client-kms';

import {
  ConfigurationError,
  DecryptionError,
  InvalidArgumentError,
  TokenExpiredError,
  TokenReaderError,
} from '../src/errors.js';
import { TokenReader, type TokenReaderOptions } from '../src/reader.js';
import { FakeKms, FakeTable } from './support/fakes.js';
import { assertSecretEqual, fakeAccessToken } from './support/secrets.js';
import { envelopeAttribute, item, seal, type DataKey } from './support/writer.js';

const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/envelope-key';
const PINNED_ARN = 'arn:aws:kms:us-east-1:123456789012:key/pinned-key';

function dataKey(): DataKey {
  return { plaintext: randomBytes(32), encryptedKey: randomBytes(48).toString('base64'), keyId: KEY_ARN };
}

interface Fixture {
  table: FakeTable;
  kms: FakeKms;
  reader: TokenReader;
  tokens: Map<string, string>;
  now: { ms: number };
}

/** `count` users' tiktok items, all sealed with one data key (one writer run). */
function fixture(count = 3, options: Partial<TokenReaderOptions> = {}): Fixture {
  const table = new FakeTable();
  const kms = new FakeKms();
  const key = dataKey();
  kms.addKey(key.encryptedKey, key.plaintext);
  const tokens = new Map<string, string>();
  for (let i = 0; i < count; i += 1) {
    const userId = `user-${i}`;
    const value = fakeAccessToken();
    tokens.set(userId, value);
    table.put(item({ userId, platform: 'tiktok', accessToken: envelopeAttribute(seal(key, userId, 'tiktok', value)), expiresAt: 2_000_000_000, version: 4 }));
  }
  const now = { ms: 1_900_000_000_000 };
  const reader = new TokenReader({ tableName: 'tokens-test', dynamodb: table, kms, clock: () => now.ms, ...options });
  return { table, kms, reader, tokens, now };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('resolved'),
    (error: unknown) => error,
  );
}

describe('TokenReader calls', () => {
  it('makes one consistent GetItem on the item key, fetching only what it reads', async () => {
    const { table, reader, tokens } = fixture(1);
    const token = await reader.getToken('user-0', 'tiktok');
    assertSecretEqual(token.accessToken, tokens.get('user-0') ?? '');
    assert.equal(table.commands.length, 1);
    const input = table.commands[0]?.input;
    assert.equal(input?.TableName, 'tokens-test');
    assert.equal(input?.ConsistentRead, true);
    assert.deepEqual(input?.Key, { userId: { S: 'user-0' }, platform: { S: 'tiktok' } });
    const names = Object.values(input?.ExpressionAttributeNames ?? {});
    assert.ok(names.includes('accessToken') && !names.includes('refreshToken'));
    assert.equal(token.version, 4);
    assert.equal(token.expiresAt, 2_000_000_000);
  });

  it("names the envelope's keyId to KMS when KmsKeyArn is not set", async () => {
    const { kms, reader } = fixture(1);
    await reader.getToken('user-0', 'tiktok');
    assert.equal(kms.commands[0]?.input.KeyId, KEY_ARN);
  });

  it('pins Decrypt to KmsKeyArn when set', async () => {
    const { kms, reader } = fixture(1, { kmsKeyId: PINNED_ARN });
    await reader.getToken('user-0', 'tiktok');
    assert.equal(kms.commands[0]?.input.KeyId, PINNED_ARN);
  });

  it('decrypts a data key once for many reads of items sealed with it', async () => {
    const { kms, reader, tokens } = fixture(10);
    for (let round = 0; round < 5; round += 1) {
      for (const [userId, value] of tokens) {
        assertSecretEqual((await reader.getToken(userId, 'tiktok')).accessToken, value);
      }
    }
    assert.equal(kms.commands.length, 1);
    assert.equal(reader.stats.kmsDecryptCalls, 1);
    assert.equal(reader.stats.dataKeyCacheHits, 49);
    assert.equal(reader.stats.getItemCalls, 50);
  });

  it('shares one KMS call between concurrent first reads', async () => {
    const { kms, reader, tokens } = fixture(20);
    kms.delayMs = 20;
    const read = await Promise.all([...tokens.keys()].map((userId) => reader.getToken(userId, 'tiktok')));
    assert.equal(read.length, 20);
    assert.equal(kms.commands.length, 1);
    assert.equal(reader.stats.dataKeySharedLoads, 19);
  });

  it('sends the table as EncryptionContext for a v2 envelope and none for v1, caching them apart', async () => {
    const { table, kms, reader, tokens } = fixture(1);
    const v1 = table.items.values().next().value;
    assert.ok(v1 !== undefined);
    const sealedV1 = v1['accessToken']?.M;
    assert.ok(sealedV1 !== undefined);
    // The same blob and ciphertext as v2: only the KMS call may differ, and the cache must not
    // serve one version's answer for the other.
    await reader.getToken('user-0', 'tiktok');
    table.put({ ...v1, accessToken: { M: { ...sealedV1, version: { N: '2' } } } });
    assertSecretEqual((await reader.getToken('user-0', 'tiktok')).accessToken, tokens.get('user-0') ?? '');
    await reader.getToken('user-0', 'tiktok');
    assert.equal(kms.commands.length, 2);
    assert.equal(kms.commands[0]?.input.EncryptionContext, undefined);
    assert.ok(!('EncryptionContext' in (kms.commands[0]?.input ?? {})), 'v1: no EncryptionContext member at all');
    assert.deepEqual(kms.commands[1]?.input.EncryptionContext, { tokensTable: 'tokens-test' });
    assert.equal(reader.stats.dataKeyCacheHits, 1);
  });

  it('asks KMS again once the cached key is older than maxAgeMs', async () => {
    const { kms, reader, now } = fixture(1, { cache: { maxAgeMs: 60_000 } });
    await reader.getToken('user-0', 'tiktok');
    now.ms += 59_000;
    await reader.getToken('user-0', 'tiktok');
    assert.equal(kms.commands.length, 1);
    now.ms += 1_000;
    await reader.getToken('user-0', 'tiktok');
    assert.equal(kms.commands.length, 2);
  });
});

describe('TokenReader errors', () => {
  it('maps a KMS refusal to DecryptionError with the KMS error name, and does not cache it', async () => {
    const { kms, reader } = fixture(1);
    kms.failures.push(new IncorrectKeyException({ message: 'wrong key', $metadata: {} }));
    const error = await rejection(reader.getToken('user-0', 'tiktok'));
    assert.ok(error instanceof DecryptionError);
    assert.equal(error.code, 'DECRYPTION');
    assert.equal(error.failure, 'kms');
    assert.equal(error.kmsErrorName, 'IncorrectKeyException');
    assert.match(error.message, /IncorrectKeyException/);
    assert.match(error.message, /TokenReaderPolicyArn/);
    await reader.getToken('user-0', 'tiktok');
    assert.equal(kms.commands.length, 2);
  });

  it('passes transient KMS failures on as the SDK raised them', async () => {
    const { kms, reader } = fixture(1);
    const internal = new KMSInternalException({ message: 'try later', $metadata: {} });
    const throttled = new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: {}, message: 'slow down' });
    kms.failures.push(internal, throttled);
    assert.equal(await rejection(reader.getToken('user-0', 'tiktok')), internal);
    assert.equal(await rejection(reader.getToken('user-0', 'tiktok')), throttled);
  });

  it('refuses a data key that is not 256 bits', async () => {
    const table = new FakeTable();
    const kms = new FakeKms();
    const key = dataKey();
    kms.addKey(key.encryptedKey, key.plaintext.subarray(0, 16));
    table.put(item({ userId: 'u', platform: 'tiktok', accessToken: envelopeAttribute(seal(key, 'u', 'tiktok', fakeAccessToken())) }));
    const error = await rejection(new TokenReader({ tableName: 't', dynamodb: table, kms }).getToken('u', 'tiktok'));
    assert.ok(error instanceof DecryptionError && error.failure === 'data-key');
  });

  it('says a missing table is configuration', async () => {
    const { table, reader } = fixture(1);
    table.failWith = new ResourceNotFoundException({ message: 'no table', $metadata: {} });
    const error = await rejection(reader.getToken('user-0', 'tiktok'));
    assert.ok(error instanceof ConfigurationError && error.code === 'CONFIGURATION');
    assert.match(error.message, /TokensTableName/);
  });

  it('refuses arguments it cannot look up', async () => {
    const { reader, table } = fixture(1);
    for (const [userId, platform] of [['', 'tiktok'], ['u', ''], ['u', 'tik|tok']]) {
      await assert.rejects(reader.getToken(userId ?? '', platform ?? ''), InvalidArgumentError);
    }
    for (const minValiditySeconds of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await assert.rejects(reader.getToken('user-0', 'tiktok', { minValiditySeconds }), InvalidArgumentError);
    }
    assert.equal(table.commands.length, 0);
  });

  it('applies minValiditySeconds against the clock, refusing before any KMS call', async () => {
    const { reader, now, kms } = fixture(2);
    now.ms = (2_000_000_000 - 120) * 1000;
    await assert.rejects(reader.getToken('user-1', 'tiktok', { minValiditySeconds: 180 }), TokenExpiredError);
    assert.equal(kms.commands.length, 0);
    await reader.getToken('user-0', 'tiktok', { minValiditySeconds: 60 });
    const error = await rejection(reader.getToken('user-0', 'tiktok', { minValiditySeconds: 180 }));
    assert.ok(error instanceof TokenExpiredError);
    assert.equal(error.expiresAt, 2_000_000_000);
    assert.equal(error.minValiditySeconds, 180);
  });
});

describe('TokenReader.fromEnv', () => {
  it('requires TokensTableName, saying where it comes from', () => {
    for (const env of [{}, { TokensTableName: '  ' }]) {
      assert.throws(
        () => TokenReader.fromEnv(env),
        (e: unknown) =>
          e instanceof ConfigurationError &&
          e instanceof TokenReaderError &&
          /TokensTableName/.test(e.message) &&
          e.message.includes('deployer outputs --stage S --format env'),
      );
    }
  });

  it('reads the table and the optional key', () => {
    const doubles = { dynamodb: new FakeTable(), kms: new FakeKms() };
    const plain = TokenReader.fromEnv({ TokensTableName: 'oauth-tokens-dev' }, doubles);
    assert.equal(plain.tableName, 'oauth-tokens-dev');
    assert.equal(plain.kmsKeyId, undefined);
    const pinned = TokenReader.fromEnv({ TokensTableName: 'oauth-tokens-dev', KmsKeyArn: PINNED_ARN }, doubles);
    assert.equal(pinned.kmsKeyId, PINNED_ARN);
    assert.equal(TokenReader.fromEnv({ TokensTableName: 't', KmsKeyArn: '' }, doubles).kmsKeyId, undefined);
  });

  it('builds its own AWS clients from the default chain', () => {
    const reader = TokenReader.fromEnv({ TokensTableName: 't' });
    reader.destroy();
  });
});
