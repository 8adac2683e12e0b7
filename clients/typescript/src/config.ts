/**
 * The reader's configuration from the environment, under the names `deployer outputs --format env`
 * prints, so an app can load that file as it is. AWS settings (region, endpoint, credentials)
 * are not read here: the AWS SDK's default chain reads them, as it does for any other client.
 */
import { ConfigurationError } from './errors.js';

/** An environment: `process.env` or any map of names to values. */
export type Environment = Readonly<Record<string, string | undefined>>;

export interface EnvConfig {
  /** The stage's tokens table (`TokensTableName`). */
  readonly tableName: string;
  /** The stage's KMS key (`KmsKeyArn`); when set, every Decrypt is pinned to it. */
  readonly kmsKeyId: string | undefined;
  /** The stage's token API (`TokenApiFnArn`, else `TokenApiFnName`); refreshes on demand. */
  readonly tokenApiFunction: string | undefined;
  /** The stage's event bus (`EventBusName`), for `requestRefresh`. */
  readonly eventBusName: string | undefined;
}

export const TABLE_NAME_VARIABLE = 'TokensTableName';
export const KMS_KEY_VARIABLE = 'KmsKeyArn';
export const TOKEN_API_ARN_VARIABLE = 'TokenApiFnArn';
export const TOKEN_API_NAME_VARIABLE = 'TokenApiFnName';
export const EVENT_BUS_VARIABLE = 'EventBusName';

/**
 * Reads `TokensTableName` (required), `KmsKeyArn`, `TokenApiFnArn`/`TokenApiFnName` and
 * `EventBusName` (optional); blank counts as unset.
 */
export function readEnvConfig(env: Environment): EnvConfig {
  const tableName = env[TABLE_NAME_VARIABLE]?.trim() ?? '';
  if (tableName === '') {
    throw new ConfigurationError(
      `${TABLE_NAME_VARIABLE} is not set. Set it to the stage's tokens table: ` +
        '`deployer outputs --stage S --format env` prints it (with KmsKeyArn), ready to load ' +
        'into the environment.',
    );
  }
  return {
    tableName,
    kmsKeyId: optional(env, KMS_KEY_VARIABLE),
    tokenApiFunction: optional(env, TOKEN_API_ARN_VARIABLE) ?? optional(env, TOKEN_API_NAME_VARIABLE),
    eventBusName: optional(env, EVENT_BUS_VARIABLE),
  };
}

function optional(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim() ?? '';
  return value === '' ? undefined : value;
}
