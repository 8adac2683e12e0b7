/**
 * The token API's wire format as the reader speaks it (docs/token-api.md): the `refresh` request
 * and the answer, mapped to the reader's own errors. Pure: the invocation is in reader.ts.
 */
import {
  ConfigurationError,
  MalformedItemError,
  NeedsReauthError,
  RefreshFailedError,
  TokenInactiveError,
  TokenNotFoundError,
  type ItemKey,
} from './errors.js';

/** The detail-type of an asynchronous refresh request on the stage's bus. */
export const REFRESH_REQUESTED = 'token.refresh-requested';
/** The source the readers put their requests under (the refresher's own is `oauth-refresher`). */
export const READER_EVENT_SOURCE = 'oauth-refresher.reader';

/** The token API refuses a `minValiditySeconds` above a day. */
export const MAX_MIN_VALIDITY_SECONDS = 86_400;

export interface RefreshRequest {
  readonly action: 'refresh';
  readonly userId: string;
  readonly platform: string;
  readonly force: boolean;
  readonly minValiditySeconds: number;
  readonly seenVersion?: number;
}

/** A successful answer: the stored token's state after the request (never its value). */
export interface RefreshAnswer {
  readonly status: string;
  readonly expiresAt: number | null;
  readonly version: number | null;
  /** This request called the provider. */
  readonly refreshed: boolean;
  /** It waited for another refresher's result. */
  readonly coalesced: boolean;
}

/**
 * The request for a token the caller read at `seenVersion` (null: an item without a version).
 * The reader's validity is whole seconds of at least 1, as its own expiry check counts them.
 */
export function refreshRequest(
  key: ItemKey,
  force: boolean,
  minValiditySeconds: number,
  seenVersion: number | null,
): RefreshRequest {
  const minimum = Math.min(Math.max(Math.ceil(minValiditySeconds), 1), MAX_MIN_VALIDITY_SECONDS);
  return {
    action: 'refresh',
    userId: key.userId,
    platform: key.platform,
    force,
    minValiditySeconds: minimum,
    ...(seenVersion === null ? {} : { seenVersion }),
  };
}

/**
 * The PutEvents entry of a `token.refresh-requested` event
 * (schemas/events/token.refresh-requested.schema.json): the key and `force`, never a token.
 */
export function refreshRequestedEntry(
  key: ItemKey,
  force: boolean,
  eventBusName: string,
): { EventBusName: string; Source: string; DetailType: string; Detail: string } {
  return {
    EventBusName: eventBusName,
    Source: READER_EVENT_SOURCE,
    DetailType: REFRESH_REQUESTED,
    Detail: JSON.stringify({ userId: key.userId, platform: key.platform, force }),
  };
}

/**
 * The answer's meaning: a successful answer's fields, or the reader error its code stands for.
 * `functionName` only names the function in configuration errors.
 */
export function interpretAnswer(key: ItemKey, payload: unknown, functionName: string): RefreshAnswer {
  if (!isRecord(payload) || typeof payload['ok'] !== 'boolean') {
    throw new RefreshFailedError(key, 'UNAVAILABLE', `${functionName} answered something that is not a token API answer.`, {
      retryable: false,
    });
  }
  if (payload['ok']) {
    return {
      status: typeof payload['status'] === 'string' ? payload['status'] : 'active',
      expiresAt: numberOrNull(payload['expiresAt']),
      version: numberOrNull(payload['version']),
      refreshed: payload['refreshed'] === true,
      coalesced: payload['coalesced'] === true,
    };
  }
  const error = isRecord(payload['error']) ? payload['error'] : {};
  const code = typeof error['code'] === 'string' ? error['code'] : 'UNAVAILABLE';
  const message = typeof error['message'] === 'string' ? error['message'] : '';
  const reason = typeof error['reason'] === 'string' ? error['reason'] : null;
  throw answerError(key, code, message, reason, error['retryable'] === true, functionName);
}

function answerError(
  key: ItemKey,
  code: string,
  message: string,
  reason: string | null,
  retryable: boolean,
  functionName: string,
): Error {
  switch (code) {
    case 'NOT_FOUND':
      return new TokenNotFoundError(key, 'the token API found no item');
    case 'NEEDS_REAUTH':
      return new NeedsReauthError(key, reason);
    case 'INACTIVE':
      return new TokenInactiveError(key, 'inactive');
    case 'MALFORMED_ITEM':
      return new MalformedItemError(key, '(item)', `cannot be refreshed: ${message}`);
    case 'UNKNOWN_PLATFORM':
      return new ConfigurationError(
        `${functionName} does not refresh ${JSON.stringify(key.platform)}: ${message} ` +
          "Use a provider of the stage, or check that TokenApiFnArn names this stage's token API.",
      );
    case 'BAD_REQUEST':
      return new ConfigurationError(
        `${functionName} refused the reader's request: ${message} Upgrade the reader to match the deployed stack.`,
      );
    case 'BUSY':
    case 'REFRESH_FAILED':
      return new RefreshFailedError(key, code, message, { reason, retryable });
    default:
      return new RefreshFailedError(key, 'UNAVAILABLE', message, { reason, retryable: true });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
