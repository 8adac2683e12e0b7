/** Item interpretation (docs/token-store.md "A token item", "Reading") on plain objects. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { AttributeValue } from '@aws-sdk/client-dynamodb';

import {
  MalformedItemError,
  NeedsReauthError,
  TokenExpiredError,
  TokenInactiveError,
  TokenNotFoundError,
} from '../src/errors.js';
import { checkValidity, interpretItem, type Item } from '../src/item.js';

const KEY = { userId: 'user-item', platform: 'reddit' };

function base(extra: Record<string, AttributeValue> = {}): Item {
  return { userId: { S: KEY.userId }, platform: { S: KEY.platform }, accessToken: { S: 'act.ts-item' }, ...extra };
}

function malformedAt(item: Item, attribute: string): void {
  assert.throws(
    () => interpretItem(KEY, item),
    (error: unknown) => error instanceof MalformedItemError && error.attribute === attribute,
  );
}

describe('interpretItem', () => {
  it('reads an app-written item (no version, no status) as version 0, active', () => {
    const read = interpretItem(KEY, base());
    assert.equal(read.version, 0);
    assert.equal(read.expiresAt, null);
    assert.equal(read.scope, null);
    assert.equal(read.accessToken.format, 'plaintext');
  });

  it('reads version, expiresAt and scope', () => {
    const read = interpretItem(
      KEY,
      base({ version: { N: '7' }, expiresAt: { N: '1700000000' }, scope: { S: 'read write' }, status: { S: 'active' } }),
    );
    assert.deepEqual([read.version, read.expiresAt, read.scope], [7, 1700000000, 'read write']);
  });

  it('no item is NOT_FOUND', () => {
    assert.throws(() => interpretItem(KEY, undefined), (e: unknown) => e instanceof TokenNotFoundError && e.code === 'NOT_FOUND');
  });

  it('an item without an access token (e.g. the run lock) is NOT_FOUND', () => {
    const lock: Item = { userId: { S: 'cron' }, platform: { S: 'refresh-oauth' }, expiresAt: { N: '1' }, lockOwner: { S: 'run-1' } };
    assert.throws(() => interpretItem({ userId: 'cron', platform: 'refresh-oauth' }, lock), TokenNotFoundError);
    assert.throws(() => interpretItem(KEY, base({ accessToken: { S: '' } })), TokenNotFoundError);
    assert.throws(() => interpretItem(KEY, base({ accessToken: { NULL: true } })), TokenNotFoundError);
  });

  it('needs_reauth is NEEDS_REAUTH, with the reason code when it looks like one', () => {
    assert.throws(
      () => interpretItem(KEY, base({ status: { S: 'needs_reauth' }, lastError: { S: 'invalid_grant' } })),
      (e: unknown) => e instanceof NeedsReauthError && e.code === 'NEEDS_REAUTH' && e.reason === 'invalid_grant' && /reconnect/.test(e.message),
    );
    assert.throws(
      () => interpretItem(KEY, base({ status: { S: 'needs_reauth' }, lastError: { S: 'token act.ts-leak in here' } })),
      (e: unknown) => e instanceof NeedsReauthError && e.reason === null && !e.message.includes('act.ts-leak'),
    );
  });

  it('inactive and unknown statuses are INACTIVE', () => {
    for (const status of ['inactive', 'paused', 'ACTIVE', '']) {
      assert.throws(
        () => interpretItem(KEY, base({ status: { S: status } })),
        (e: unknown) => e instanceof TokenInactiveError && e.code === 'INACTIVE' && e.status === status,
        status,
      );
    }
  });

  it('checks the status before the token: a needs_reauth item without a token is NEEDS_REAUTH', () => {
    const item = base({ status: { S: 'needs_reauth' } });
    delete item['accessToken'];
    assert.throws(() => interpretItem(KEY, item), NeedsReauthError);
  });

  it('refuses access tokens that are neither M nor S', () => {
    for (const value of [{ N: '1' }, { B: new Uint8Array(3) }, { BOOL: true }, { L: [] }, { SS: ['a'] }] as AttributeValue[]) {
      malformedAt(base({ accessToken: value }), 'accessToken');
    }
  });

  it('refuses mistyped attributes, naming them', () => {
    malformedAt(base({ expiresAt: { S: '1700000000' } }), 'expiresAt');
    malformedAt(base({ version: { S: '1' } }), 'version');
    malformedAt(base({ version: { N: '-1' } }), 'version');
    malformedAt(base({ version: { N: '1.5' } }), 'version');
    malformedAt(base({ scope: { SS: ['read'] } }), 'scope');
    malformedAt(base({ status: { N: '1' } }), 'status');
  });

  it('never reads the refresh token', () => {
    const read = interpretItem(KEY, base({ refreshToken: { N: 'not even a valid shape' } }));
    assert.equal(read.accessToken.format, 'plaintext');
  });
});

describe('checkValidity', () => {
  it('passes a token valid long enough, and one without expiry', () => {
    checkValidity(KEY, 1000, 60, 900);
    checkValidity(KEY, 1000, 100, 900);
    checkValidity(KEY, null, 3600, 900);
  });

  it('refuses a token expiring sooner than asked, carrying the expiry and the ask', () => {
    assert.throws(
      () => checkValidity(KEY, 1000, 101, 900),
      (e: unknown) =>
        e instanceof TokenExpiredError && e.code === 'EXPIRED' && e.expiresAt === 1000 && e.minValiditySeconds === 101 && /refresher/.test(e.message),
    );
  });

  it('with the default 0, refuses a token already past or expiring in the current second', () => {
    assert.throws(() => checkValidity(KEY, 899, 0, 900), TokenExpiredError);
    assert.throws(() => checkValidity(KEY, 900, 0, 900), TokenExpiredError);
    checkValidity(KEY, 901, 0, 900);
  });
});
