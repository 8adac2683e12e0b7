/** Envelope parsing rules beyond the shared vectors: canonical base64, the exact field set, types. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import type { AttributeValue } from '@aws-sdk/client-dynamodb';

import { decodeCanonicalBase64, kmsEncryptionContext, openEnvelope, parseEnvelopeAttribute, parseEnvelopeJson } from '../src/envelope.js';
import { DecryptionError, MalformedItemError, UnsupportedEnvelopeVersionError } from '../src/errors.js';
import { assertNotShown, assertSecretEqual, fakeAccessToken } from './support/secrets.js';
import { envelopeAttribute, seal, type DataKey } from './support/writer.js';

const KEY = { userId: 'user-env', platform: 'tiktok' };
const DATA_KEY: DataKey = {
  plaintext: randomBytes(32),
  encryptedKey: randomBytes(40).toString('base64'),
  keyId: 'arn:aws:kms:us-east-1:123456789012:key/test',
};

function sealed(value = fakeAccessToken()): { value: string; map: Record<string, AttributeValue> } {
  const attribute = envelopeAttribute(seal(DATA_KEY, KEY.userId, KEY.platform, value));
  assert.ok(attribute.M !== undefined);
  return { value, map: attribute.M };
}

function malformed(map: Record<string, AttributeValue>, attribute: string): void {
  assert.throws(
    () => parseEnvelopeAttribute(KEY, 'accessToken', map),
    (error: unknown) => error instanceof MalformedItemError && error.attribute === attribute && error.code === 'MALFORMED',
  );
}

describe('canonical base64', () => {
  it('accepts the standard alphabet with padding', () => {
    assert.deepEqual(decodeCanonicalBase64('QQ=='), Buffer.from('A'));
    assert.deepEqual(decodeCanonicalBase64('QUI='), Buffer.from('AB'));
    assert.deepEqual(decodeCanonicalBase64('QUJD'), Buffer.from('ABC'));
    assert.deepEqual(decodeCanonicalBase64('+/+/'), Buffer.from([0xfb, 0xff, 0xbf]));
    assert.deepEqual(decodeCanonicalBase64(''), Buffer.alloc(0));
  });

  for (const [name, text] of [
    ['missing padding', 'QQ'],
    ['half padding', 'QQ='],
    ['URL-safe alphabet', '-_-_'],
    ['whitespace', 'QUJD\n'],
    ['inner space', 'QU JD'],
    ['non-zero trailing bits', 'QR=='],
    ['padding in the middle', 'QQ==QUJD'],
    ['junk', '%%%%'],
    ['too much padding', 'QQ==='],
  ] as const) {
    it(`refuses ${name}`, () => {
      assert.equal(decodeCanonicalBase64(text), null);
    });
  }
});

describe('envelope map parsing', () => {
  it('parses and opens a well-formed envelope', () => {
    const { value, map } = sealed();
    const envelope = parseEnvelopeAttribute(KEY, 'accessToken', map);
    assert.equal(envelope.nonce.length, 12);
    assertSecretEqual(openEnvelope(KEY, 'accessToken', envelope, DATA_KEY.plaintext), value);
  });

  it('refuses an extra attribute, naming it', () => {
    malformed({ ...sealed().map, alg: { S: 'A256GCM' } }, 'accessToken.alg');
  });

  for (const field of ['version', 'keyId', 'encryptedKey', 'nonce', 'ciphertext'] as const) {
    it(`refuses a missing ${field}`, () => {
      const { map } = sealed();
      const rest = Object.fromEntries(Object.entries(map).filter(([name]) => name !== field));
      malformed(rest, `accessToken.${field}`);
    });
  }

  it('refuses fields of the wrong type', () => {
    malformed({ ...sealed().map, version: { S: '1' } }, 'accessToken.version');
    malformed({ ...sealed().map, keyId: { N: '1' } }, 'accessToken.keyId');
    malformed({ ...sealed().map, nonce: { B: new Uint8Array(12) } }, 'accessToken.nonce');
    malformed({ ...sealed().map, version: { N: '1.5' } }, 'accessToken.version');
  });

  it('refuses an empty keyId or encryptedKey', () => {
    malformed({ ...sealed().map, keyId: { S: '' } }, 'accessToken.keyId');
    malformed({ ...sealed().map, encryptedKey: { S: '' } }, 'accessToken.encryptedKey');
  });

  it('refuses a nonce of 16 bytes', () => {
    malformed({ ...sealed().map, nonce: { S: randomBytes(16).toString('base64') } }, 'accessToken.nonce');
  });

  it('checks the version before the field set: a future envelope is "unsupported", not "extra field"', () => {
    const future = { version: { N: '3' }, keyId: { S: 'k' }, wrappedKeys: { L: [] } };
    assert.throws(
      () => parseEnvelopeAttribute(KEY, 'accessToken', future),
      (error: unknown) =>
        error instanceof UnsupportedEnvelopeVersionError &&
        error.envelopeVersion === 3 &&
        error.attribute === 'accessToken' &&
        /version 3/.test(error.message) &&
        /upgrade/.test(error.message),
    );
  });

  it('parses and opens version 2 with the same rules and the same AES layer', () => {
    const { value, map } = sealed();
    const envelope = parseEnvelopeAttribute(KEY, 'accessToken', { ...map, version: { N: '2' } });
    assert.equal(envelope.version, 2);
    assertSecretEqual(openEnvelope(KEY, 'accessToken', envelope, DATA_KEY.plaintext), value);
    malformed({ ...map, version: { N: '2' }, alg: { S: 'A256GCM' } }, 'accessToken.alg');
    malformed({ ...map, version: { N: '2' }, nonce: { S: randomBytes(16).toString('base64') } }, 'accessToken.nonce');
  });

  for (const version of ['0', '3', '-1', '99']) {
    it(`refuses version ${version} as unsupported, naming it`, () => {
      assert.throws(
        () => parseEnvelopeAttribute(KEY, 'accessToken', { ...sealed().map, version: { N: version } }),
        (error: unknown) =>
          error instanceof UnsupportedEnvelopeVersionError &&
          error.code === 'MALFORMED' &&
          error.envelopeVersion === Number(version) &&
          error.message.includes(`version ${version}`),
      );
    });
  }

  it('asks KMS with no EncryptionContext for v1 and with the table for v2', () => {
    assert.equal(kmsEncryptionContext({ version: 1 }, 'oauth-tokens-prod'), undefined);
    assert.deepEqual(kmsEncryptionContext({ version: 2 }, 'oauth-tokens-prod'), { tokensTable: 'oauth-tokens-prod' });
  });

  it('never puts a field value in the message', () => {
    const { map } = sealed();
    const badNonce = 'AAAAAAAAAAAAAAAAAAAA_w==';
    try {
      parseEnvelopeAttribute(KEY, 'accessToken', { ...map, nonce: { S: badNonce } });
      assert.fail('parsed');
    } catch (error) {
      assert.ok(error instanceof MalformedItemError);
      assertNotShown(error.message, badNonce, 'the error message');
      assertNotShown(error.message, map['ciphertext']?.S ?? '', 'the error message');
    }
  });

  it('parses the JSON form (DLQ records) with the same rules', () => {
    const envelope = seal(DATA_KEY, KEY.userId, KEY.platform, fakeAccessToken());
    assert.equal(parseEnvelopeJson(KEY, 'accessToken', envelope).keyId, DATA_KEY.keyId);
    assert.throws(() => parseEnvelopeJson(KEY, 'accessToken', { ...envelope, version: '1' }), MalformedItemError);
    assert.throws(() => parseEnvelopeJson(KEY, 'accessToken', [envelope]), MalformedItemError);
    assert.throws(() => parseEnvelopeJson(KEY, 'accessToken', null), MalformedItemError);
  });
});

describe('opening', () => {
  it('binds the envelope to its item through the associated data', () => {
    const { map } = sealed();
    const envelope = parseEnvelopeAttribute(KEY, 'accessToken', map);
    assert.throws(
      () => openEnvelope({ ...KEY, platform: 'reddit' }, 'accessToken', envelope, DATA_KEY.plaintext),
      (error: unknown) => error instanceof DecryptionError && error.failure === 'authentication' && error.code === 'DECRYPTION',
    );
  });

  it('keeps a leading byte-order mark as part of the token', () => {
    const value = '\uFEFFact.ts-bom';
    const envelope = parseEnvelopeAttribute(KEY, 'accessToken', sealed(value).map);
    assertSecretEqual(openEnvelope(KEY, 'accessToken', envelope, DATA_KEY.plaintext), value);
  });
});
