/**
 * @oauth-refresher/token-reader: reads the access tokens the oauth-refresher keeps alive, from
 * the stage's tokens table, per docs/token-store.md.
 */
export {
  TokenReader,
  type DecryptClient,
  type FromEnvOptions,
  type GetItemClient,
  type RequestRefreshOptions,
  type GetTokenOptions,
  type ReaderStats,
  type TokenReaderOptions,
} from './reader.js';
export { Token, REDACTED, type TokenView } from './token.js';
export {
  TokenReaderError,
  TokenNotFoundError,
  NeedsReauthError,
  TokenInactiveError,
  TokenExpiredError,
  MalformedItemError,
  UnsupportedEnvelopeVersionError,
  DecryptionError,
  ConfigurationError,
  InvalidArgumentError,
  RefreshFailedError,
  type DecryptionFailure,
  type RefreshFailure,
  type ItemKey,
  type TokenReaderErrorCode,
} from './errors.js';
export { DEFAULT_CACHE_OPTIONS, type CacheOptions } from './cache.js';
export {
  TABLE_NAME_VARIABLE,
  KMS_KEY_VARIABLE,
  TOKEN_API_ARN_VARIABLE,
  TOKEN_API_NAME_VARIABLE,
  EVENT_BUS_VARIABLE,
  type Environment,
} from './config.js';
export {
  MAX_MIN_VALIDITY_SECONDS,
  REFRESH_REQUESTED,
  READER_EVENT_SOURCE,
  type RefreshAnswer,
  type RefreshRequest,
} from './token-api.js';
export { type InvokeClient, type PutEventsClient } from './refresh.js';
