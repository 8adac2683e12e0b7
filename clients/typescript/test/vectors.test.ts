/**
 * The shared envelope v1 vectors (tests/vectors/envelope-v1.json), which every reader of the
 * project is tested against. Each case runs twice: through the pure functions (parse + open) and
 * through a TokenReader whose table and KMS are fakes (KMS maps encryptedKey to the case's key).
 *
 * Error mapping (the vector file's kinds to this library's errors):
 *   authentication -> DecryptionError, failure 'authentication' (a ciphertext shorter than the
 *                     tag included: the vectors call that an authentication failure)
 *   encoding       -> MalformedItemError naming `accessToken.<field>`
 *   version        -> UnsupportedEnvelopeVersionError (a MalformedItemError, code MALFORMED)
 *   utf8           -> DecryptionError, failure 'utf8' (the envelope is well-formed and
 *                     authentic; what its writer sealed is not UTF-8)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';

import { openEnvelope, parseEnvelopeJson } from '../src/envelope.js';
import {
  DecryptionError,
  MalformedItemError,
  TokenNotFoundError,
  TokenReaderError,
  UnsupportedEnvelopeVersionError,
} from '../src/errors.js';
import { TokenReader } from '../src/reader.js';
import { FakeKms, FakeTable } from './support/fakes.js';
import { packageRoot } from './support/paths.js';
import { assertNotShown, assertSecretEqual } from './support/secrets.js';
import { envelopeAttribute, type EnvelopeJson } from './support/writer.js';

interface Case {
  name: string;
  dataKey: string;
  userId: string;
  platform: string;
  envelope: EnvelopeJson;
  plaintext?: string;
  error?: 'authentication' | 'encoding' | 'version' | 'utf8';
}

interface Vectors {
  format: string;
  valid: Case[];
  invalid: Case[];
}

const VECTORS_PATH = resolve(packageRoot(), '../../tests/vectors/envelope-v1.json');
const vectors = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as Vectors;

/** Whether an error is the one the vector's kind calls for. */
function matches(kind: NonNullable<Case['error']>, error: unknown): boolean {
  switch (kind) {
    case 'authentication':
      return error instanceof DecryptionError && error.failure === 'authentication';
    case 'encoding':
      return error instanceof MalformedItemError && !(error instanceof UnsupportedEnvelopeVersionError) && error.attribute.startsWith('accessToken.');
    case 'version':
      return error instanceof UnsupportedEnvelopeVersionError && error.code === 'MALFORMED' && error.message.includes(String(error.envelopeVersion));
    case 'utf8':
      return error instanceof DecryptionError && error.failure === 'utf8';
  }
}

/** An error must not show any envelope field's content, nor the data key. */
function assertNothingShown(error: unknown, c: Case): void {
  assert.ok(error instanceof TokenReaderError, `${c.name}: not a TokenReaderError`);
  const text = `${error.message} ${JSON.stringify(error)}`;
  for (const [field, value] of Object.entries(c.envelope)) {
    if (field !== 'version' && field !== 'keyId' && typeof value === 'string' && value.length > 4) {
      assertNotShown(text, value, `the error of ${c.name} (${field})`);
    }
  }
  assertNotShown(text, c.dataKey, `the error of ${c.name} (data key)`);
}

function openPure(c: Case): string {
  const key = { userId: c.userId, platform: c.platform };
  const envelope = parseEnvelopeJson(key, 'accessToken', c.envelope);
  return openEnvelope(key, 'accessToken', envelope, Buffer.from(c.dataKey, 'base64'));
}

function readerFor(c: Case): TokenReader {
  const table = new FakeTable();
  table.put({ userId: { S: c.userId }, platform: { S: c.platform }, accessToken: envelopeAttribute(c.envelope) });
  const kms = new FakeKms();
  kms.addKey(c.envelope.encryptedKey, Buffer.from(c.dataKey, 'base64'));
  return new TokenReader({ tableName: 'tokens', dynamodb: table, kms });
}

describe('envelope v1 vectors', () => {
  it('loads the shared vector file', () => {
    assert.equal(vectors.format, 'envelope-v1');
    assert.ok(vectors.valid.length >= 4, 'valid cases');
    assert.ok(vectors.invalid.length >= 14, 'invalid cases');
    const kinds = new Set(vectors.invalid.map((c) => c.error));
    assert.deepEqual([...kinds].sort(), ['authentication', 'encoding', 'utf8', 'version']);
  });

  describe('valid cases open to their plaintext', () => {
    for (const c of vectors.valid) {
      it(c.name, async () => {
        const expected = c.plaintext;
        assert.equal(typeof expected, 'string');
        assertSecretEqual(openPure(c), expected ?? '', `pure open of ${c.name}`);
        if (expected === '') {
          // The envelope opens; as an item's access token, a sealed empty string counts as
          // absent like a plaintext one (docs/token-store.md: "an empty string counts as absent").
          await assert.rejects(readerFor(c).getToken(c.userId, c.platform), TokenNotFoundError);
          return;
        }
        const token = await readerFor(c).getToken(c.userId, c.platform);
        assertSecretEqual(token.accessToken, expected ?? '', `reader of ${c.name}`);
      });
    }
  });

  describe('invalid cases fail with their kind', () => {
    for (const c of vectors.invalid) {
      it(`${c.name} -> ${c.error}`, async () => {
        const kind = c.error;
        assert.ok(kind !== undefined);
        let pureError: unknown;
        try {
          openPure(c);
        } catch (error) {
          pureError = error;
        }
        assert.ok(matches(kind, pureError), `pure: ${c.name} raised ${describeError(pureError)}`);
        assertNothingShown(pureError, c);
        if (c.platform === '') {
          return; // "shifted across the separator": the reader refuses an empty platform up front.
        }
        const readerError = await readerFor(c).getToken(c.userId, c.platform).then(
          () => undefined,
          (error: unknown) => error,
        );
        assert.ok(matches(kind, readerError), `reader: ${c.name} raised ${describeError(readerError)}`);
        assertNothingShown(readerError, c);
      });
    }
  });
});

/**
 * Envelope v2 differs from v1 only in how KMS was asked for the data key, so every valid v1 vector
 * with `version` set to 2 opens with the same data key to the same plaintext; the reader then asks
 * KMS with the table as EncryptionContext.
 */
describe('envelope v2: the v1 vectors with version 2', () => {
  for (const c of vectors.valid) {
    it(c.name, async () => {
      const v2: Case = { ...c, envelope: { ...c.envelope, version: 2 } };
      const expected = c.plaintext ?? '';
      const key = { userId: c.userId, platform: c.platform };
      const envelope = parseEnvelopeJson(key, 'accessToken', v2.envelope);
      assert.equal(envelope.version, 2);
      assertSecretEqual(openEnvelope(key, 'accessToken', envelope, Buffer.from(c.dataKey, 'base64')), expected, `pure open of ${c.name} as v2`);
      if (expected === '') {
        return; // A sealed empty string is NOT_FOUND through the reader, as in v1 (above).
      }
      const table = new FakeTable();
      table.put({ userId: { S: c.userId }, platform: { S: c.platform }, accessToken: envelopeAttribute(v2.envelope) });
      const kms = new FakeKms();
      kms.addKey(c.envelope.encryptedKey, Buffer.from(c.dataKey, 'base64'));
      const token = await new TokenReader({ tableName: 'tokens', dynamodb: table, kms }).getToken(c.userId, c.platform);
      assertSecretEqual(token.accessToken, expected, `reader of ${c.name} as v2`);
      assert.deepEqual(kms.commands.map((command) => command.input.EncryptionContext), [{ tokensTable: 'tokens' }]);
    });
  }
});

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name} (${error instanceof TokenReaderError ? error.code : 'no code'})` : 'nothing';
}
