/** A Token never shows its value, however it is printed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { REDACTED, Token } from '../src/token.js';
import { assertNotShown, assertSecretEqual, fakeAccessToken, renderings } from './support/secrets.js';

function token(value: string): Token {
  return new Token({ userId: 'user-t', platform: 'tiktok', accessToken: value, expiresAt: 1_700_000_000, scope: 'user.info.basic', version: 3 });
}

describe('Token', () => {
  it('hands out its value through the getter only', () => {
    const value = fakeAccessToken();
    const t = token(value);
    assertSecretEqual(t.accessToken, value);
    assert.equal(Object.keys(t).includes('accessToken'), false);
    assert.equal(t.status, 'active');
    assert.equal(t.version, 3);
    assert.equal(t.expiresAtDate?.toISOString(), '2023-11-14T22:13:20.000Z');
    assert.equal(t.secondsLeft(1_699_999_940_000), 60);
    assert.ok(Object.isFrozen(t));
  });

  it('redacts its value in every rendering', () => {
    const value = fakeAccessToken();
    for (const [how, text] of Object.entries(renderings(token(value)))) {
      assertNotShown(text, value, how);
    }
  });

  it('shows the rest, and says the token is redacted', () => {
    const t = token(fakeAccessToken());
    assert.deepEqual(JSON.parse(JSON.stringify(t)), {
      userId: 'user-t',
      platform: 'tiktok',
      accessToken: REDACTED,
      expiresAt: 1_700_000_000,
      scope: 'user.info.basic',
      status: 'active',
      version: 3,
    });
    const shown = renderings(t);
    assert.match(shown['util.inspect'] ?? '', /^Token \{.*accessToken: '\[redacted\]'/s);
    assert.match(`${t}`, /tiktok.*\[redacted\]/);
  });

  it('has no expiry when the item has none', () => {
    const t = new Token({ userId: 'u', platform: 'reddit', accessToken: fakeAccessToken(), expiresAt: null, scope: null, version: 0 });
    assert.equal(t.expiresAtDate, null);
    assert.equal(t.secondsLeft(), null);
  });
});
