/**
 * The shared token-item vectors (tests/vectors/token-items.json): how every reader of the project
 * interprets an item before any decryption. Each case goes through a whole TokenReader whose table
 * is a fake serving the case's item, with the vector file's clock.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';

import type { AttributeValue } from '@aws-sdk/client-dynamodb';

import { MalformedItemError, TokenReaderError } from '../src/errors.js';
import { TokenReader } from '../src/reader.js';
import { FakeKms, FakeTable } from './support/fakes.js';
import { packageRoot } from './support/paths.js';
import { assertSecretEqual } from './support/secrets.js';

interface ExpectedToken {
  accessToken: string;
  expiresAt: number | null;
  scope: string | null;
  status: string;
  version: number;
}

interface Case {
  name: string;
  item: Record<string, AttributeValue> | null;
  minValiditySeconds: number;
  token?: ExpectedToken;
  error?: string;
  attribute?: string;
}

interface Vectors {
  format: string;
  userId: string;
  platform: string;
  now: number;
  cases: Case[];
}

const VECTORS_PATH = resolve(packageRoot(), '../../tests/vectors/token-items.json');
const vectors = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as Vectors;

function readerFor(c: Case): TokenReader {
  const table = new FakeTable();
  if (c.item !== null) {
    table.put(c.item);
  }
  return new TokenReader({ tableName: 'tokens', dynamodb: table, kms: new FakeKms(), clock: () => vectors.now * 1000 });
}

describe('token item vectors', () => {
  it('loads the shared vector file', () => {
    assert.equal(vectors.format, 'token-items-v1');
    const codes = new Set(vectors.cases.map((c) => c.error ?? 'token'));
    assert.deepEqual([...codes].sort(), ['EXPIRED', 'INACTIVE', 'MALFORMED', 'NEEDS_REAUTH', 'NOT_FOUND', 'token']);
  });

  for (const c of vectors.cases) {
    it(`${c.name} -> ${c.error ?? 'a token'}`, async () => {
      const outcome = await readerFor(c)
        .getToken(vectors.userId, vectors.platform, { minValiditySeconds: c.minValiditySeconds })
        .then(
          (token) => ({ token }),
          (error: unknown) => ({ error }),
        );
      if (c.token !== undefined) {
        assert.ok('token' in outcome, `${c.name}: ${'error' in outcome ? String(outcome.error) : ''}`);
        const { token } = outcome;
        assertSecretEqual(token.accessToken, c.token.accessToken, `the token of ${c.name}`);
        assert.equal(token.expiresAt, c.token.expiresAt);
        assert.equal(token.scope, c.token.scope);
        assert.equal(token.version, c.token.version);
        return;
      }
      assert.ok('error' in outcome, `${c.name}: returned a token`);
      const { error } = outcome;
      assert.ok(error instanceof TokenReaderError, `${c.name}: ${String(error)}`);
      assert.equal(error.code, c.error, `${c.name}: ${error.message}`);
      if (c.attribute !== undefined) {
        assert.ok(error instanceof MalformedItemError);
        assert.equal(error.attribute, c.attribute);
      }
    });
  }
});
