/**
 * @oauth-refresher/token-reader: reads the access tokens the oauth-refresher keeps alive, from
 * the stage's tokens table, per docs/token-store.md.
 */
export {
  TokenReader,
  type DecryptClient,
  type FromEnvOptions,
  type GetItemClient,
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
  type DecryptionFailure,
  type ItemKey,
  type TokenReaderErrorCode,
} from './errors.js';
export { DEFAULT_CACHE_OPTIONS, type CacheOptions } from './cache.js';
export { TABLE_NAME_VARIABLE, KMS_KEY_VARIABLE, type Environment } from './config.js';
