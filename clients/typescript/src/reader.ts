/**
 * The I/O half of the reader: one consistent GetItem, and KMS Decrypt of data keys through the
 * cache. What the item means is decided in item.ts and envelope.ts.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';

import {
  DynamoDBClient,
  GetItemCommand,
  type GetItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { DecryptCommand, KMSClient, type DecryptCommandOutput } from '@aws-sdk/client-kms';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';

import { DataKeyCache, DEFAULT_CACHE_OPTIONS, type CacheOptions, type Lookup } from './cache.js';
import { readEnvConfig, type Environment } from './config.js';
import { DATA_KEY_BYTES, kmsEncryptionContext, openEnvelope, type Envelope } from './envelope.js';
import {
  ConfigurationError,
  DecryptionError,
  InvalidArgumentError,
  TokenNotFoundError,
  type DecryptionFailure,
  type ItemKey,
} from './errors.js';
import { checkValidity, expiresTooSoon, interpretItem, READ_ATTRIBUTES, type Item, type StoredToken } from './item.js';
import { Token } from './token.js';
import { awsErrorName } from './aws.js';
import { Refresher, type InvokeClient, type PutEventsClient } from './refresh.js';
import { refreshRequest } from './token-api.js';

/** What the reader needs of a DynamoDB client: a `DynamoDBClient` fits; so does a test double. */
export interface GetItemClient {
  send(command: GetItemCommand): Promise<GetItemCommandOutput>;
  destroy?(): void;
}

/** What the reader needs of a KMS client: a `KMSClient` fits; so does a test double. */
export interface DecryptClient {
  send(command: DecryptCommand): Promise<DecryptCommandOutput>;
  destroy?(): void;
}

export interface TokenReaderOptions {
  /** The stage's tokens table (stack output `TokensTableName`). */
  tableName: string;
  /** Pins every KMS Decrypt to this key (stack output `KmsKeyArn`); else the envelope's keyId. */
  kmsKeyId?: string | undefined;
  /** Defaults to `new DynamoDBClient({})`: region, endpoint and credentials from the SDK chain. */
  dynamodb?: GetItemClient | undefined;
  /** Defaults to `new KMSClient({})`. */
  kms?: DecryptClient | undefined;
  /**
   * The stage's token API (stack output `TokenApiFnArn` or `TokenApiFnName`): lets `getToken`
   * refresh a token on demand. Without it, a token too close to expiry is refused as before.
   */
  tokenApiFunction?: string | undefined;
  /** Defaults to `new LambdaClient({})`, created on the first refresh. */
  lambda?: InvokeClient | undefined;
  /** The stage's event bus (stack output `EventBusName`), for `requestRefresh`. */
  eventBusName?: string | undefined;
  /** Defaults to `new EventBridgeClient({})`, created on the first `requestRefresh`. */
  eventBridge?: PutEventsClient | undefined;
  /** Data-key cache bounds; defaults to 100 keys, 15 minutes. */
  cache?: Partial<CacheOptions> | undefined;
  /** Epoch milliseconds; defaults to `Date.now`. For expiry checks and the cache's age. */
  clock?: (() => number) | undefined;
}

/** `fromEnv`'s options: everything but what the environment gives. */
export type FromEnvOptions = Omit<TokenReaderOptions, 'tableName' | 'kmsKeyId' | 'tokenApiFunction' | 'eventBusName'>;

export interface RequestRefreshOptions {
  /** Refresh even if the stored token is valid (after a 401). Default false. */
  force?: boolean | undefined;
}

export interface GetTokenOptions {
  /**
   * The token must stay valid this many seconds. Default 0. A stored token that expires sooner
   * is refreshed through the token API when the reader has one, else refused (TokenExpiredError).
   */
  minValiditySeconds?: number | undefined;
  /**
   * Refresh the token now, even if it looks valid: after the provider answered 401 to it. Needs
   * the token API. Concurrent forced calls for one token share one refresh, in this process
   * (one token API call) and across processes (the token API's claim: one provider call).
   */
  forceRefresh?: boolean | undefined;
}

/** Counters, so tests and operators can see that steady reads make no KMS call. */
export interface ReaderStats {
  readonly getItemCalls: number;
  readonly kmsDecryptCalls: number;
  /** Data keys served from the cache. */
  readonly dataKeyCacheHits: number;
  /** Data keys that joined a KMS call already under way for the same key. */
  readonly dataKeySharedLoads: number;
  /** Refresh requests sent to the token API. */
  readonly tokenApiCalls: number;
  /** Refreshes that joined a token API call already under way for the same token. */
  readonly tokenApiSharedCalls: number;
  /** `token.refresh-requested` events put on the bus. */
  readonly refreshRequestsSent: number;
}

/** KMS error names that say "try again later", not "no": they are passed on as they are. */
const TRANSIENT_KMS_ERRORS = new Set([
  'ThrottlingException',
  'DependencyTimeoutException',
  'KMSInternalException',
  'KeyUnavailableException',
]);

/**
 * A data-key load that failed for a reason that belongs in a DecryptionError. Item-neutral,
 * because one load can serve reads of several items; each reader call wraps it with its own key.
 */
class DataKeyRefused extends Error {
  constructor(
    readonly failure: DecryptionFailure,
    readonly kmsErrorName: string | null,
  ) {
    super(failure);
  }
}

export class TokenReader {
  readonly tableName: string;
  readonly kmsKeyId: string | undefined;
  readonly #dynamodb: GetItemClient;
  readonly #kms: DecryptClient;
  readonly tokenApiFunction: string | undefined;
  readonly eventBusName: string | undefined;
  readonly #refresher: Refresher;
  readonly #owned: Array<{ destroy?(): void }>;
  readonly #cache: DataKeyCache<KeyObject>;
  readonly #clock: () => number;
  readonly #stats = {
    getItemCalls: 0,
    kmsDecryptCalls: 0,
    dataKeyCacheHits: 0,
    dataKeySharedLoads: 0,
  };

  constructor(options: TokenReaderOptions) {
    if (typeof options.tableName !== 'string' || options.tableName.trim() === '') {
      throw new ConfigurationError(
        'tableName is empty: pass the stage\'s tokens table (TokensTableName from `deployer outputs --stage S --format env`).',
      );
    }
    this.tableName = options.tableName;
    this.kmsKeyId = options.kmsKeyId === '' ? undefined : options.kmsKeyId;
    const owned: Array<{ destroy?(): void }> = [];
    this.#dynamodb = options.dynamodb ?? remember(owned, new DynamoDBClient({}));
    this.#kms = options.kms ?? remember(owned, new KMSClient({}));
    this.tokenApiFunction = options.tokenApiFunction === '' ? undefined : options.tokenApiFunction;
    this.eventBusName = options.eventBusName === '' ? undefined : options.eventBusName;
    let lambda = options.lambda;
    let eventBridge = options.eventBridge;
    this.#refresher = new Refresher({
      functionName: this.tokenApiFunction,
      eventBusName: this.eventBusName,
      lambda: () => (lambda ??= remember(owned, new LambdaClient({}))),
      events: () => (eventBridge ??= remember(owned, new EventBridgeClient({}))),
    });
    this.#owned = owned;
    this.#clock = options.clock ?? Date.now;
    this.#cache = new DataKeyCache<KeyObject>({ ...DEFAULT_CACHE_OPTIONS, ...definedOnly(options.cache) }, this.#clock);
  }

  /**
   * A reader configured from the environment: `TokensTableName` (required), `KmsKeyArn` and
   * `TokenApiFnArn` (or `TokenApiFnName`) (optional), and the AWS SDK's default chain for region,
   * endpoint and credentials.
   */
  static fromEnv(env: Environment = process.env, options: FromEnvOptions = {}): TokenReader {
    const config = readEnvConfig(env);
    return new TokenReader({
      ...options,
      tableName: config.tableName,
      kmsKeyId: config.kmsKeyId,
      tokenApiFunction: config.tokenApiFunction,
      eventBusName: config.eventBusName,
    });
  }

  /** A snapshot of the counters. */
  get stats(): ReaderStats {
    return {
      ...this.#stats,
      tokenApiCalls: this.#refresher.calls,
      tokenApiSharedCalls: this.#refresher.sharedCalls,
      refreshRequestsSent: this.#refresher.eventsSent,
    };
  }

  /**
   * The user's access token for the platform, read right before a provider call: one consistent
   * GetItem; the status, the item's shape and the expiry checked; then the envelope opened (KMS
   * only for a data key not yet cached). With the token API configured, a token valid for less
   * than `minValiditySeconds`, or any with `forceRefresh`, is refreshed first (one Lambda
   * invocation) and read again. Throws a TokenReaderError subclass for every outcome but a usable
   * token; AWS errors that are worth a retry (throttling, network) are passed on as the SDK raised
   * them.
   */
  async getToken(userId: string, platform: string, options: GetTokenOptions = {}): Promise<Token> {
    const key = checkKey(userId, platform);
    const minValiditySeconds = checkMinValidity(options.minValiditySeconds);
    const force = checkBoolean('forceRefresh', options.forceRefresh);
    let stored = interpretItem(key, await this.#getItem(key));
    if (force || (this.tokenApiFunction !== undefined && expiresTooSoon(stored.expiresAt, minValiditySeconds, Math.floor(this.#clock() / 1000)))) {
      await this.#refresher.refresh(key, refreshRequest(key, force, minValiditySeconds, stored.version));
      stored = interpretItem(key, await this.#getItem(key));
    }
    // Before opening: an expired token is refused without a KMS call.
    checkValidity(key, stored.expiresAt, minValiditySeconds, Math.floor(this.#clock() / 1000));
    const accessToken = await this.#open(key, 'accessToken', stored.accessToken);
    if (accessToken === '') {
      // The contract's "an empty string counts as absent", applied to a sealed empty string too.
      throw new TokenNotFoundError(key, 'the item holds an empty access token');
    }
    return new Token({
      userId,
      platform,
      accessToken,
      expiresAt: stored.expiresAt,
      scope: stored.scope,
      version: stored.version,
    });
  }

  /** Forgets every cached data key. */
  clearCache(): void {
    this.#cache.clear();
  }

  /**
   * Asks for a refresh without waiting for it: a `token.refresh-requested` event on the stage's
   * bus, which its rule delivers to the token API (retried, then the DLQ). For a job that will
   * need the token later; read it with `getToken` when needed. Resolves to the event's id.
   */
  async requestRefresh(userId: string, platform: string, options: RequestRefreshOptions = {}): Promise<string> {
    const key = checkKey(userId, platform);
    return this.#refresher.requestEvent(key, checkBoolean('force', options.force));
  }

  /** Closes the AWS clients this reader created (not the ones it was given). */
  destroy(): void {
    for (const client of this.#owned) {
      client.destroy?.();
    }
  }

  /** Only the attributes a reader uses are fetched: the refresh token never leaves the table. */
  async #getItem(key: ItemKey): Promise<Item | undefined> {
    const names = Object.fromEntries(READ_ATTRIBUTES.map((name, i) => [`#a${i}`, name]));
    const command = new GetItemCommand({
      TableName: this.tableName,
      Key: { userId: { S: key.userId }, platform: { S: key.platform } },
      ConsistentRead: true,
      ProjectionExpression: Object.keys(names).join(', '),
      ExpressionAttributeNames: names,
    });
    this.#stats.getItemCalls += 1;
    try {
      return (await this.#dynamodb.send(command)).Item;
    } catch (error) {
      throw this.#tableError(error);
    }
  }

  /** The two GetItem failures that are configuration, said as such; anything else unchanged. */
  #tableError(error: unknown): unknown {
    const name = awsErrorName(error);
    if (name === 'ResourceNotFoundException') {
      return new ConfigurationError(
        `The tokens table ${JSON.stringify(this.tableName)} does not exist in this account and region. ` +
          'Check TokensTableName and AWS_REGION against `deployer outputs --stage S --format env`.',
        { cause: error },
      );
    }
    if (name === 'AccessDeniedException') {
      return new ConfigurationError(
        `Not allowed to read the tokens table ${JSON.stringify(this.tableName)}. Attach the stack's ` +
          "reader policy (output TokenReaderPolicyArn) to the app's role.",
        { cause: error },
      );
    }
    return error;
  }

  async #open(key: ItemKey, attribute: string, stored: StoredToken): Promise<string> {
    if (stored.format === 'plaintext') {
      return stored.value;
    }
    let dataKey: KeyObject;
    try {
      dataKey = await this.#dataKey(stored.envelope);
    } catch (error) {
      if (error instanceof DataKeyRefused) {
        throw new DecryptionError(key, attribute, error.failure, error.kmsErrorName);
      }
      throw error;
    }
    return openEnvelope(key, attribute, stored.envelope, dataKey);
  }

  /**
   * The envelope's data key, from the cache or KMS. The cache key holds everything the reader
   * sends to KMS: the KeyId it names (so a pinned and an unpinned lookup of one blob never share
   * an answer), the EncryptionContext (none for v1, the table for v2: a v1 and a v2 envelope
   * carrying one blob never share an answer either) and the blob.
   */
  #dataKey(envelope: Envelope): Promise<KeyObject> {
    const keyId = this.kmsKeyId ?? envelope.keyId;
    const context = kmsEncryptionContext(envelope, this.tableName);
    return this.#cache.get(
      JSON.stringify([keyId, context ?? null, envelope.encryptedKeyBase64]),
      () => this.#decryptDataKey(keyId, envelope.encryptedKey, context),
      (lookup: Lookup) => {
        if (lookup === 'hit') this.#stats.dataKeyCacheHits += 1;
        if (lookup === 'shared') this.#stats.dataKeySharedLoads += 1;
      },
    );
  }

  /**
   * One KMS Decrypt, with the EncryptionContext only when there is one (v1 sends none at all).
   * The plaintext key is kept only as a KeyObject; the SDK's bytes are zeroed.
   */
  async #decryptDataKey(
    keyId: string,
    encryptedKey: Uint8Array,
    context: Readonly<Record<string, string>> | undefined,
  ): Promise<KeyObject> {
    this.#stats.kmsDecryptCalls += 1;
    let output: DecryptCommandOutput;
    try {
      const command = new DecryptCommand({
        CiphertextBlob: encryptedKey,
        KeyId: keyId,
        ...(context === undefined ? {} : { EncryptionContext: { ...context } }),
      });
      output = await this.#kms.send(command);
    } catch (error) {
      if (isKmsRefusal(error)) {
        throw new DataKeyRefused('kms', awsErrorName(error));
      }
      throw error;
    }
    const plaintext = output.Plaintext;
    try {
      if (plaintext === undefined || plaintext.length !== DATA_KEY_BYTES) {
        throw new DataKeyRefused('data-key', null);
      }
      return createSecretKey(plaintext);
    } finally {
      plaintext?.fill(0);
    }
  }
}

function checkBoolean(name: string, value: unknown): boolean {
  if (value === undefined) {
    return false;
  }
  if (typeof value !== 'boolean') {
    throw new InvalidArgumentError(`${name} must be true or false.`);
  }
  return value;
}

function remember<T extends { destroy?(): void }>(owned: Array<{ destroy?(): void }>, client: T): T {
  owned.push(client);
  return client;
}

/** `{ maxEntries: undefined }` must not override a default. */
function definedOnly(options: Partial<CacheOptions> | undefined): Partial<CacheOptions> {
  const out: { maxEntries?: number; maxAgeMs?: number } = {};
  if (options?.maxEntries !== undefined) out.maxEntries = options.maxEntries;
  if (options?.maxAgeMs !== undefined) out.maxAgeMs = options.maxAgeMs;
  return out;
}

/**
 * The key must be what a writer could have stored: non-empty strings, and a platform without
 * `|`, which would make the envelope's associated data ambiguous (docs/token-store.md).
 */
function checkKey(userId: unknown, platform: unknown): ItemKey {
  if (typeof userId !== 'string' || userId === '') {
    throw new InvalidArgumentError('userId must be a non-empty string.');
  }
  if (typeof platform !== 'string' || platform === '') {
    throw new InvalidArgumentError('platform must be a non-empty string (e.g. "tiktok").');
  }
  if (platform.includes('|')) {
    throw new InvalidArgumentError(
      'platform must not contain "|": platforms are the stage file\'s provider names (lower-case letters, digits, _ and -).',
    );
  }
  return { userId, platform };
}

function checkMinValidity(value: unknown): number {
  if (value === undefined) {
    return 0;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError('minValiditySeconds must be a non-negative number of seconds.');
  }
  return value;
}

/**
 * KMS said no (access denied, wrong key, invalid ciphertext, disabled key...): a client fault
 * that retrying will not change. Throttling and KMS's own failures are not refusals.
 */
function isKmsRefusal(error: unknown): boolean {
  const name = awsErrorName(error);
  if (name === null || TRANSIENT_KMS_ERRORS.has(name)) {
    return false;
  }
  const fault = (error as { $fault?: unknown }).$fault;
  const retryable = (error as { $retryable?: unknown }).$retryable;
  return fault === 'client' && retryable === undefined;
}
