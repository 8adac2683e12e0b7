/**
 * getToken's refresh on demand, against in-memory doubles: when it calls the token API (forced,
 * too close to expiry) and when not, the request it sends, the re-read, sharing one call among
 * concurrent callers, and every answer and Lambda failure mapped to the reader's errors. The
 * real token API behind Lambda's Invoke API is driven end to end by the Rust suite
 * (crates/deployer/tests/readers_refresh.rs).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import type { PutEventsCommand, PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import { ResourceNotFoundException, TooManyRequestsException } from '@aws-sdk/client-lambda';

import {
  ConfigurationError,
  InvalidArgumentError,
  NeedsReauthError,
  RefreshFailedError,
  TokenExpiredError,
  TokenNotFoundError,
} from '../src/errors.js';
import { TokenReader } from '../src/reader.js';
import { FakeKms, FakeTable, FakeTokenApi } from './support/fakes.js';
import { assertSecretEqual, fakeAccessToken } from './support/secrets.js';
import { envelopeAttribute, item, seal, type DataKey } from './support/writer.js';

const FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:RefreshOAuthApi-test';
const NOW_S = 1_900_000_000;

interface Fixture {
  table: FakeTable;
  api: FakeTokenApi;
  reader: TokenReader;
  /** Stores a new access token for alice at `version`, expiring at `expiresAt`; returns it. */
  store(version: number, expiresAt: number): string;
}

function fixture(withApi = true): Fixture {
  const table = new FakeTable();
  const kms = new FakeKms();
  const key: DataKey = { plaintext: randomBytes(32), encryptedKey: randomBytes(48).toString('base64'), keyId: 'k' };
  kms.addKey(key.encryptedKey, key.plaintext);
  const store = (version: number, expiresAt: number): string => {
    const value = fakeAccessToken();
    table.put(item({ userId: 'alice', platform: 'tiktok', accessToken: envelopeAttribute(seal(key, 'alice', 'tiktok', value)), expiresAt, version }));
    return value;
  };
  const api = new FakeTokenApi();
  const reader = new TokenReader({
    tableName: 'tokens-test',
    dynamodb: table,
    kms,
    lambda: api,
    tokenApiFunction: withApi ? FUNCTION : undefined,
    clock: () => NOW_S * 1000,
  });
  return { table, api, reader, store };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('resolved'),
    (error: unknown) => error,
  );
}

describe('getToken with the token API', () => {
  it('reads a valid token without calling the token API', async () => {
    const { api, reader, store } = fixture();
    const stored = store(4, NOW_S + 3600);
    const token = await reader.getToken('alice', 'tiktok', { minValiditySeconds: 600 });
    assertSecretEqual(token.accessToken, stored);
    assert.equal(api.requests.length, 0);
  });

  it('refreshes a token too close to expiry, then reads the new one', async () => {
    const { api, reader, store, table } = fixture();
    store(4, NOW_S + 30);
    let fresh = '';
    api.answer = () => {
      fresh = store(5, NOW_S + 7200);
      return { ok: true, status: 'active', expiresAt: NOW_S + 7200, version: 5, refreshed: true, coalesced: false };
    };
    const token = await reader.getToken('alice', 'tiktok', { minValiditySeconds: 120 });
    assertSecretEqual(token.accessToken, fresh);
    assert.equal(token.version, 5);
    assert.deepEqual(api.requests, [
      { action: 'refresh', userId: 'alice', platform: 'tiktok', force: false, minValiditySeconds: 120, seenVersion: 4 },
    ]);
    assert.deepEqual(api.functionNames, [FUNCTION]);
    assert.equal(table.commands.length, 2, 'read, refresh, read again');
  });

  it('forces a refresh of a valid token (after a 401), naming the version it saw', async () => {
    const { api, reader, store } = fixture();
    store(7, NOW_S + 3600);
    let fresh = '';
    api.answer = () => {
      fresh = store(8, NOW_S + 7200);
      return { ok: true, status: 'active', version: 8, refreshed: true, coalesced: false };
    };
    const token = await reader.getToken('alice', 'tiktok', { forceRefresh: true });
    assertSecretEqual(token.accessToken, fresh);
    assert.equal(api.requests[0]?.['force'], true);
    assert.equal(api.requests[0]?.['seenVersion'], 7);
    // The reader's validity is whole seconds of at least 1, as its expiry check counts them.
    assert.equal(api.requests[0]?.['minValiditySeconds'], 1);
  });

  it('shares one token API call among concurrent forced reads of one token', async () => {
    const { api, reader, store } = fixture();
    store(7, NOW_S + 3600);
    api.delayMs = 50;
    let fresh = '';
    api.answer = () => {
      fresh = store(8, NOW_S + 7200);
      return { ok: true, status: 'active', version: 8, refreshed: true, coalesced: false };
    };
    const tokens = await Promise.all(
      Array.from({ length: 20 }, () => reader.getToken('alice', 'tiktok', { forceRefresh: true })),
    );
    assert.equal(api.requests.length, 1);
    assert.equal(reader.stats.tokenApiCalls, 1);
    assert.equal(reader.stats.tokenApiSharedCalls, 19);
    for (const token of tokens) {
      assertSecretEqual(token.accessToken, fresh);
    }
    // Once it ended, a new forced read is a new call.
    await reader.getToken('alice', 'tiktok', { forceRefresh: true });
    assert.equal(api.requests.length, 2);
  });

  it('refuses a token still too short after the refresh', async () => {
    const { api, reader, store } = fixture();
    store(4, NOW_S + 30);
    // The provider gives tokens that live 60 s: refreshed, yet shorter than asked.
    api.answer = () => {
      store(5, NOW_S + 60);
      return { ok: true, status: 'active', version: 5, refreshed: true, coalesced: false };
    };
    const error = await rejection(reader.getToken('alice', 'tiktok', { minValiditySeconds: 600 }));
    assert.ok(error instanceof TokenExpiredError);
    assert.equal(api.requests.length, 1);
  });

  it('maps each error answer to the reader error for it', async () => {
    const cases: Array<[Record<string, unknown>, (e: unknown) => boolean]> = [
      [{ code: 'NOT_FOUND', message: 'no item', retryable: false }, (e) => e instanceof TokenNotFoundError],
      [
        { code: 'NEEDS_REAUTH', message: 'dead', retryable: false, reason: 'invalid_grant' },
        (e) => e instanceof NeedsReauthError && e.reason === 'invalid_grant',
      ],
      [
        { code: 'BUSY', message: 'held', retryable: true },
        (e) => e instanceof RefreshFailedError && e.failure === 'BUSY' && e.retryable,
      ],
      [
        { code: 'REFRESH_FAILED', message: 'provider said no', retryable: false, reason: 'rejected' },
        (e) => e instanceof RefreshFailedError && e.reason === 'rejected' && !e.retryable,
      ],
      [
        { code: 'UNAVAILABLE', message: 'table down', retryable: true },
        (e) => e instanceof RefreshFailedError && e.failure === 'UNAVAILABLE' && e.retryable,
      ],
      [{ code: 'UNKNOWN_PLATFORM', message: 'configured are reddit', retryable: false }, (e) => e instanceof ConfigurationError],
      [{ code: 'BAD_REQUEST', message: 'unknown field', retryable: false }, (e) => e instanceof ConfigurationError],
    ];
    for (const [error, check] of cases) {
      const { api, reader, store } = fixture();
      store(4, NOW_S + 3600);
      api.answer = () => ({ ok: false, userId: 'alice', platform: 'tiktok', error });
      const thrown = await rejection(reader.getToken('alice', 'tiktok', { forceRefresh: true }));
      assert.ok(check(thrown), `${String(error['code'])}: ${String(thrown)}`);
    }
  });

  it('maps Lambda failures: function error, throttle, missing function', async () => {
    const { api, reader, store } = fixture();
    store(4, NOW_S + 3600);
    api.functionError = 'Unhandled';
    const failed = await rejection(reader.getToken('alice', 'tiktok', { forceRefresh: true }));
    assert.ok(failed instanceof RefreshFailedError && failed.failure === 'UNAVAILABLE' && failed.retryable);
    api.functionError = undefined;
    api.failWith = new TooManyRequestsException({ message: 'Rate Exceeded.', $metadata: {} });
    const throttled = await rejection(reader.getToken('alice', 'tiktok', { forceRefresh: true }));
    assert.ok(throttled instanceof RefreshFailedError && throttled.failure === 'THROTTLED' && throttled.retryable);
    api.failWith = new ResourceNotFoundException({ message: 'Function not found', $metadata: {} });
    const missing = await rejection(reader.getToken('alice', 'tiktok', { forceRefresh: true }));
    assert.ok(missing instanceof ConfigurationError && missing.message.includes('TokenApiFnArn'));
  });
});

/** An EventBridge client recording PutEvents entries; `failWith` makes the next entry fail. */
class FakeEvents {
  readonly entries: Array<Record<string, unknown>> = [];
  failWith: string | undefined;

  async send(command: PutEventsCommand): Promise<PutEventsCommandOutput> {
    const entries = command.input.Entries ?? [];
    this.entries.push(...entries.map((entry) => ({ ...entry })));
    if (this.failWith !== undefined) {
      return { $metadata: {}, FailedEntryCount: 1, Entries: [{ ErrorCode: this.failWith }] };
    }
    return { $metadata: {}, FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `event-${i}` })) };
  }
}

describe('requestRefresh', () => {
  it('puts one token.refresh-requested event on the stage bus, naming the token and never a value', async () => {
    const events = new FakeEvents();
    const reader = new TokenReader({ tableName: 't', eventBusName: 'oauth-tokens-test', eventBridge: events, dynamodb: new FakeTable() });
    assert.equal(await reader.requestRefresh('alice', 'tiktok', { force: true }), 'event-0');
    assert.deepEqual(events.entries, [
      {
        EventBusName: 'oauth-tokens-test',
        Source: 'oauth-refresher.reader',
        DetailType: 'token.refresh-requested',
        Detail: JSON.stringify({ userId: 'alice', platform: 'tiktok', force: true }),
      },
    ]);
    await reader.requestRefresh('bob', 'reddit');
    assert.equal(JSON.parse(String(events.entries[1]?.['Detail']))['force'], false);
    assert.equal(reader.stats.refreshRequestsSent, 2);
  });

  it('says what is wrong: no bus configured, an entry EventBridge refused, a bad argument', async () => {
    const events = new FakeEvents();
    const unconfigured = new TokenReader({ tableName: 't', eventBridge: events, dynamodb: new FakeTable() });
    const missing = await rejection(unconfigured.requestRefresh('alice', 'tiktok'));
    assert.ok(missing instanceof ConfigurationError && missing.message.includes('EventBusName'), String(missing));
    const reader = new TokenReader({ tableName: 't', eventBusName: 'bus', eventBridge: events, dynamodb: new FakeTable() });
    events.failWith = 'ThrottlingException';
    const refused = await rejection(reader.requestRefresh('alice', 'tiktok'));
    assert.ok(refused instanceof RefreshFailedError && refused.retryable, String(refused));
    assert.ok((await rejection(reader.requestRefresh('alice', 'a|b'))) instanceof InvalidArgumentError);
    assert.ok((await rejection(reader.requestRefresh('alice', 'tiktok', { force: 1 as unknown as boolean }))) instanceof InvalidArgumentError);
    assert.equal(reader.stats.refreshRequestsSent, 0);
  });
});

describe('getToken without the token API', () => {
  it('refuses a token too close to expiry, as before, and forceRefresh says what to configure', async () => {
    const { api, reader, store } = fixture(false);
    store(4, NOW_S + 30);
    assert.ok((await rejection(reader.getToken('alice', 'tiktok', { minValiditySeconds: 120 }))) instanceof TokenExpiredError);
    const forced = await rejection(reader.getToken('alice', 'tiktok', { forceRefresh: true }));
    assert.ok(forced instanceof ConfigurationError && forced.message.includes('TokenApiFnArn'), String(forced));
    assert.equal(api.requests.length, 0);
  });

  it('checks forceRefresh is a boolean', async () => {
    const { reader, store } = fixture();
    store(4, NOW_S + 3600);
    const error = await rejection(reader.getToken('alice', 'tiktok', { forceRefresh: 'yes' as unknown as boolean }));
    assert.ok(error instanceof InvalidArgumentError);
  });

  it('reads TokenApiFnArn, else TokenApiFnName, and EventBusName from the environment', () => {
    const both = TokenReader.fromEnv({ TokensTableName: 't', TokenApiFnArn: FUNCTION, TokenApiFnName: 'name' });
    assert.equal(both.tokenApiFunction, FUNCTION);
    const name = TokenReader.fromEnv({ TokensTableName: 't', TokenApiFnName: 'RefreshOAuthApi-test' });
    assert.equal(name.tokenApiFunction, 'RefreshOAuthApi-test');
    assert.equal(TokenReader.fromEnv({ TokensTableName: 't', TokenApiFnArn: ' ' }).tokenApiFunction, undefined);
    assert.equal(TokenReader.fromEnv({ TokensTableName: 't', EventBusName: 'oauth-tokens-x' }).eventBusName, 'oauth-tokens-x');
    for (const reader of [both, name]) reader.destroy();
  });
});
