/**
 * The errors a reader raises. Each has a stable `code` so callers (and the cross-language interop
 * tests) can branch on it without parsing messages; each message says what to do next.
 *
 * No error ever carries a token value, a data key or an envelope field's content: they name the
 * item (userId, platform) and, for a malformed item, the attribute path only.
 */

/** The stable codes of {@link TokenReaderError}. */
export type TokenReaderErrorCode =
  | 'NOT_FOUND'
  | 'NEEDS_REAUTH'
  | 'INACTIVE'
  | 'EXPIRED'
  | 'MALFORMED'
  | 'DECRYPTION'
  | 'CONFIGURATION'
  | 'INVALID_ARGUMENT'
  | 'REFRESH_FAILED';

/** Which item an error is about. */
export interface ItemKey {
  readonly userId: string;
  readonly platform: string;
}

/** The base class of every error this library raises on purpose. */
export abstract class TokenReaderError extends Error {
  abstract readonly code: TokenReaderErrorCode;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    // Subclasses get their own name without each restating it.
    this.name = new.target.name;
  }
}

/** Shared by the errors that are about one item. */
abstract class ItemError extends TokenReaderError {
  readonly userId: string;
  readonly platform: string;

  constructor(key: ItemKey, message: string, options?: ErrorOptions) {
    super(message, options);
    this.userId = key.userId;
    this.platform = key.platform;
  }
}

function describe(key: ItemKey): string {
  return `${key.platform} token of user ${JSON.stringify(key.userId)}`;
}

/** No item for this user and platform, or an item that holds no access token. */
export class TokenNotFoundError extends ItemError {
  readonly code = 'NOT_FOUND' as const;

  constructor(key: ItemKey, detail = 'no item in the tokens table') {
    super(
      key,
      `No ${describe(key)}: ${detail}. The user has not connected this account: send them ` +
        'through the connect flow (or `deployer tokens connect`).',
    );
  }
}

/** The grant is dead; only a new consent by the user brings the token back. */
export class NeedsReauthError extends ItemError {
  readonly code = 'NEEDS_REAUTH' as const;
  /** The refresher's reason code (`lastError`, e.g. `invalid_grant`), when the item has one. */
  readonly reason: string | null;

  constructor(key: ItemKey, reason: string | null) {
    super(
      key,
      `The ${describe(key)} needs re-authorisation${reason === null ? '' : ` (${reason})`}: ` +
        'the refresher will not refresh it again. Ask the user to reconnect the account.',
    );
    this.reason = reason;
  }
}

/** The account was disconnected (or its status is one this reader does not know). */
export class TokenInactiveError extends ItemError {
  readonly code = 'INACTIVE' as const;
  /** The item's `status` as stored (`inactive`, or an unknown value). */
  readonly status: string;

  constructor(key: ItemKey, status: string) {
    const known = status === 'inactive';
    super(
      key,
      `The ${describe(key)} is ${known ? 'inactive (disconnected)' : `in the unknown status ${JSON.stringify(status)}, read as inactive`}: ` +
        'nobody refreshes or returns it. The user must reconnect the account to use it again.',
    );
    this.status = status;
  }
}

/** The token expires sooner than the caller asked it to stay valid. */
export class TokenExpiredError extends ItemError {
  readonly code = 'EXPIRED' as const;
  /** When the stored token expires, epoch seconds. */
  readonly expiresAt: number;
  /** The validity the caller asked for. */
  readonly minValiditySeconds: number;

  constructor(key: ItemKey, expiresAt: number, minValiditySeconds: number, nowSeconds: number) {
    const left = Math.floor(expiresAt - nowSeconds);
    super(
      key,
      `The ${describe(key)} expires at ${new Date(expiresAt * 1000).toISOString()} ` +
        `(${left >= 0 ? `in ${left} s` : `${-left} s ago`}), sooner than the ${minValiditySeconds} s asked. ` +
        'The refresher refreshes it on its schedule: retry after its next run, or ask for less ' +
        'validity. If it stays expired, check the refresher (`deployer tokens check --all`).',
    );
    this.expiresAt = expiresAt;
    this.minValiditySeconds = minValiditySeconds;
  }
}

/** An attribute of the item does not have the shape the contract gives it. */
export class MalformedItemError extends ItemError {
  readonly code = 'MALFORMED' as const;
  /** The attribute's path, e.g. `accessToken.nonce`; never its value. */
  readonly attribute: string;

  constructor(key: ItemKey, attribute: string, problem: string) {
    super(
      key,
      `The ${describe(key)} is malformed: attribute \`${attribute}\` ${problem}. ` +
        'It was not written by a writer that follows docs/token-store.md; reconnect the account ' +
        'or have the writer fixed (`deployer tokens check --all` lists such items).',
    );
    this.attribute = attribute;
  }
}

/**
 * An envelope of a version this reader does not know. A MalformedItemError (same code), so
 * callers that do not care about the difference need no extra branch.
 */
export class UnsupportedEnvelopeVersionError extends MalformedItemError {
  /** The envelope's `version`. */
  readonly envelopeVersion: number;

  constructor(key: ItemKey, attribute: string, envelopeVersion: number) {
    super(
      key,
      attribute,
      `is an envelope of version ${envelopeVersion}, which this reader does not know (it reads versions 1 and 2); ` +
        'upgrade @oauth-refresher/token-reader',
    );
    this.envelopeVersion = envelopeVersion;
  }
}

/** Why a {@link DecryptionError} happened. */
export type DecryptionFailure =
  /** KMS refused to decrypt the data key (`kmsErrorName` says why). */
  | 'kms'
  /** KMS answered with something that is not a 256-bit key. */
  | 'data-key'
  /** AES-GCM refused the ciphertext: moved to another item, tampered with, or another key. */
  | 'authentication'
  /** The ciphertext authenticated but its plaintext is not UTF-8. */
  | 'utf8';

/** An envelope that cannot be opened. */
export class DecryptionError extends ItemError {
  readonly code = 'DECRYPTION' as const;
  readonly failure: DecryptionFailure;
  /** The attribute whose envelope failed, e.g. `accessToken`. */
  readonly attribute: string;
  /** The name of the KMS error (e.g. `AccessDeniedException`), when KMS refused. */
  readonly kmsErrorName: string | null;

  constructor(
    key: ItemKey,
    attribute: string,
    failure: DecryptionFailure,
    kmsErrorName: string | null = null,
  ) {
    super(key, `Cannot decrypt \`${attribute}\` of the ${describe(key)}: ${decryptionAdvice(failure, kmsErrorName)}`);
    this.failure = failure;
    this.attribute = attribute;
    this.kmsErrorName = kmsErrorName;
  }
}

function decryptionAdvice(failure: DecryptionFailure, kmsErrorName: string | null): string {
  switch (failure) {
    case 'kms':
      return (
        `KMS refused to decrypt the data key (${kmsErrorName ?? 'unknown error'}). Check that the ` +
        "app's role has the stack's reader policy (output TokenReaderPolicyArn), that KmsKeyArn " +
        "names the stage's key, and that the key is enabled. A version 2 envelope's data key is " +
        'bound to the tokens table: TokensTableName must name the table its writer sealed it for.'
      );
    case 'data-key':
      return 'KMS returned a data key that is not 256 bits; the envelope was not sealed as its format requires.';
    case 'authentication':
      return (
        'the envelope does not authenticate (copied from another item, tampered with, or sealed ' +
        'with another key). Reconnect the account to store a fresh token.'
      );
    case 'utf8':
      return 'the decrypted token is not UTF-8; its writer does not follow the envelope format.';
  }
}

/**
 * Why a refresh asked of the token API did not happen: the token API's own code (`BUSY`,
 * `REFRESH_FAILED`, `UNAVAILABLE`), or `THROTTLED` when every instance of the function was busy
 * through the SDK's retries.
 */
export type RefreshFailure = 'BUSY' | 'REFRESH_FAILED' | 'UNAVAILABLE' | 'THROTTLED';

/**
 * The token API did not refresh the token (docs/token-api.md). `retryable` says whether asking
 * again later can succeed; the stored token is unchanged.
 */
export class RefreshFailedError extends ItemError {
  readonly code = 'REFRESH_FAILED' as const;
  readonly failure: RefreshFailure;
  /** The token API's reason (`transient`, `rate_limited`, `rejected`, `not_yet`...), if any. */
  readonly reason: string | null;
  readonly retryable: boolean;

  constructor(
    key: ItemKey,
    failure: RefreshFailure,
    detail: string,
    options: { reason?: string | null; retryable: boolean; cause?: unknown },
  ) {
    super(
      key,
      `The ${describe(key)} was not refreshed (${failure}${options.reason ? `, ${options.reason}` : ''}): ${detail} ` +
        (options.retryable
          ? 'Retry in a few seconds; the stored token is unchanged.'
          : "Retrying will not help: check the stage's provider configuration (`deployer verify`)."),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.failure = failure;
    this.reason = options.reason ?? null;
    this.retryable = options.retryable;
  }
}

/** The reader is not configured (environment, table, permissions). */
export class ConfigurationError extends TokenReaderError {
  readonly code = 'CONFIGURATION' as const;
}

/** The caller passed an argument the reader cannot use (e.g. a platform containing `|`). */
export class InvalidArgumentError extends TokenReaderError {
  readonly code = 'INVALID_ARGUMENT' as const;
}
