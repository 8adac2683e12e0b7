/**
 * A token item, interpreted per docs/token-store.md ("A token item", "Reading"), with no I/O:
 * status, the access token's format, and the attributes a reader returns. Decryption and the
 * clock are the caller's, so the rules here are testable on plain objects.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

import { parseEnvelopeAttribute, type Envelope } from './envelope.js';
import {
  MalformedItemError,
  NeedsReauthError,
  TokenExpiredError,
  TokenInactiveError,
  TokenNotFoundError,
  type ItemKey,
} from './errors.js';

/** A DynamoDB item as GetItem returns it. */
export type Item = Record<string, AttributeValue>;

/** The attributes a reader needs: everything else (the refresh token above all) is not fetched. */
export const READ_ATTRIBUTES = ['accessToken', 'expiresAt', 'scope', 'status', 'version', 'lastError'] as const;

/** How the access token is stored: the attribute's DynamoDB type tells (M envelope, S plaintext). */
export type StoredToken =
  | { readonly format: 'plaintext'; readonly value: string }
  | { readonly format: 'envelope'; readonly envelope: Envelope };

/** An item a reader may return, before its token is opened. */
export interface ActiveItem {
  readonly accessToken: StoredToken;
  readonly expiresAt: number | null;
  readonly scope: string | null;
  readonly version: number;
}

/**
 * Applies steps 2 and 3 of "Reading" up to decryption: no item is NOT_FOUND, a non-active status
 * its error, then the access token's format and the other attributes' types. Throws the typed
 * error; returns what is left to open.
 */
export function interpretItem(key: ItemKey, item: Item | undefined): ActiveItem {
  if (item === undefined) {
    throw new TokenNotFoundError(key);
  }
  checkStatus(key, item);
  const accessToken = readStoredToken(key, item, 'accessToken');
  if (accessToken === null) {
    // The run lock and any other item that is not a token answer "not found" (contract).
    throw new TokenNotFoundError(key, 'the item holds no access token');
  }
  return {
    accessToken,
    expiresAt: readNumber(key, item, 'expiresAt'),
    scope: readString(key, item, 'scope'),
    version: readVersion(key, item),
  };
}

/** `status`: absent or `active` is readable; `needs_reauth` and everything else are not. */
function checkStatus(key: ItemKey, item: Item): void {
  const status = readString(key, item, 'status');
  if (status === null || status === 'active') {
    return;
  }
  if (status === 'needs_reauth') {
    throw new NeedsReauthError(key, reasonCode(item));
  }
  // "any other value is read as inactive (never refreshed blindly)". Bounded: it is not ours.
  throw new TokenInactiveError(key, status.slice(0, 64));
}

/**
 * `lastError` is documented as a reason code, never a token value; it is passed on only when it
 * looks like one, so a writer that broke that rule cannot leak through an error message.
 */
function reasonCode(item: Item): string | null {
  const value = item['lastError']?.S;
  return value !== undefined && /^[A-Za-z0-9_.:-]{1,64}$/.test(value) ? value : null;
}

/**
 * A token attribute: M is an envelope, S plaintext; no attribute, an empty string and `NULL` are
 * absent (`NULL` as the Rust and Python readers read it: some SDKs marshal a null that way).
 */
export function readStoredToken(key: ItemKey, item: Item, attribute: string): StoredToken | null {
  const value = present(item, attribute);
  if (value === undefined) {
    return null;
  }
  if (value.S !== undefined) {
    return value.S === '' ? null : { format: 'plaintext', value: value.S };
  }
  if (value.M !== undefined) {
    return { format: 'envelope', envelope: parseEnvelopeAttribute(key, attribute, value.M) };
  }
  throw new MalformedItemError(
    key,
    attribute,
    'is neither an envelope map (M) nor a plaintext string (S)',
  );
}

/** An attribute, or undefined when it is absent or `NULL` (the contract: NULL counts as absent). */
function present(item: Item, attribute: string): AttributeValue | undefined {
  const value = item[attribute];
  return value === undefined || value.NULL === true ? undefined : value;
}

function readString(key: ItemKey, item: Item, attribute: string): string | null {
  const value = present(item, attribute);
  if (value === undefined) {
    return null;
  }
  if (value.S === undefined) {
    throw new MalformedItemError(key, attribute, 'is not a string (S)');
  }
  return value.S;
}

/** The largest number the Rust writers and readers store (epoch seconds and versions are u64). */
const UINT64_MAX = 2n ** 64n - 1n;

/** A whole DynamoDB number from 0 to 2**64 - 1, as every reader reads `expiresAt` and `version`. */
function readNumber(key: ItemKey, item: Item, attribute: string): number | null {
  const value = present(item, attribute);
  if (value === undefined) {
    return null;
  }
  if (value.N === undefined) {
    throw new MalformedItemError(key, attribute, 'is not a number (N)');
  }
  if (!/^[0-9]+$/.test(value.N) || BigInt(value.N) > UINT64_MAX) {
    throw new MalformedItemError(key, attribute, 'is not a whole number from 0 to 2**64 - 1');
  }
  return Number(value.N);
}

/** `version`: absent means 0 (an app that keeps no version); otherwise a non-negative integer. */
function readVersion(key: ItemKey, item: Item): number {
  const version = readNumber(key, item, 'version');
  if (version === null) {
    return 0;
  }
  if (!Number.isSafeInteger(version)) {
    throw new MalformedItemError(key, 'version', 'is above 2**53 - 1, which this reader cannot hold exactly');
  }
  return version;
}

/**
 * Step 4 of "Reading": a token whose expiry is closer than `minValiditySeconds` is EXPIRED; an
 * item without `expiresAt` has no known expiry and is returned. At least one second is always
 * asked (as the Rust reader does), so with the default 0 a token expiring in the current second,
 * or already past, is EXPIRED too: it would be refused by the provider anyway.
 */
export function checkValidity(
  key: ItemKey,
  expiresAt: number | null,
  minValiditySeconds: number,
  nowSeconds: number,
): void {
  if (expiresAt !== null && expiresTooSoon(expiresAt, minValiditySeconds, nowSeconds)) {
    throw new TokenExpiredError(key, expiresAt, minValiditySeconds, nowSeconds);
  }
}

/** The token expires within `minValiditySeconds` (at least 1) of now; unknown expiry never does. */
export function expiresTooSoon(expiresAt: number | null, minValiditySeconds: number, nowSeconds: number): boolean {
  return expiresAt !== null && expiresAt < nowSeconds + Math.max(minValiditySeconds, 1);
}
