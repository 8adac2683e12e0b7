/**
 * The reader's two ways to ask for a refresh (docs/token-api.md): a synchronous invocation of
 * the token API, shared by concurrent callers asking for the same refresh, and a
 * `token.refresh-requested` event on the stage's bus, for fire-and-forget. The wire formats are
 * token-api.ts; this is the I/O.
 */
import { InvokeCommand, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { PutEventsCommand, type PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';

import { awsErrorName } from './aws.js';
import { ConfigurationError, RefreshFailedError, type ItemKey } from './errors.js';
import {
  interpretAnswer,
  refreshRequestedEntry,
  type RefreshAnswer,
  type RefreshRequest,
} from './token-api.js';

/** What the reader needs of a Lambda client: a `LambdaClient` fits; so does a test double. */
export interface InvokeClient {
  send(command: InvokeCommand): Promise<InvokeCommandOutput>;
  destroy?(): void;
}

/** What the reader needs of an EventBridge client: an `EventBridgeClient` fits. */
export interface PutEventsClient {
  send(command: PutEventsCommand): Promise<PutEventsCommandOutput>;
  destroy?(): void;
}

export interface RefresherOptions {
  /** The token API function (`TokenApiFnArn`), or undefined when the reader has none. */
  readonly functionName: string | undefined;
  /** The stage's bus (`EventBusName`), or undefined. */
  readonly eventBusName: string | undefined;
  /** The Lambda client, created on first use. */
  readonly lambda: () => InvokeClient;
  /** The EventBridge client, created on first use. */
  readonly events: () => PutEventsClient;
}

export class Refresher {
  readonly functionName: string | undefined;
  readonly eventBusName: string | undefined;
  readonly #lambda: () => InvokeClient;
  readonly #events: () => PutEventsClient;
  /** Calls under way, by item key, force and the version the caller read. */
  readonly #flights = new Map<string, Promise<RefreshAnswer>>();
  calls = 0;
  sharedCalls = 0;
  eventsSent = 0;

  constructor(options: RefresherOptions) {
    this.functionName = options.functionName;
    this.eventBusName = options.eventBusName;
    this.#lambda = options.lambda;
    this.#events = options.events;
  }

  /** The token API's answer to `request`; a caller asking the same while a call is under way shares it. */
  refresh(key: ItemKey, request: RefreshRequest): Promise<RefreshAnswer> {
    const functionName = this.functionName;
    if (functionName === undefined) {
      return Promise.reject(
        new ConfigurationError(
          'forceRefresh needs the token API: pass tokenApiFunction, or set TokenApiFnArn from ' +
            '`deployer outputs --stage S --format env` (the stage needs `token_api` enabled).',
        ),
      );
    }
    const flight = JSON.stringify([key.userId, key.platform, request.force, request.seenVersion ?? null]);
    const shared = this.#flights.get(flight);
    if (shared !== undefined) {
      this.sharedCalls += 1;
      return shared;
    }
    const call = this.#invoke(key, functionName, request).finally(() => this.#flights.delete(flight));
    this.#flights.set(flight, call);
    return call;
  }

  /** Puts a `token.refresh-requested` event on the stage's bus; its EventBridge event id. */
  async requestEvent(key: ItemKey, force: boolean): Promise<string> {
    const busName = this.eventBusName;
    if (busName === undefined) {
      throw new ConfigurationError(
        'requestRefresh needs the stage\'s event bus: pass eventBusName, or set EventBusName from ' +
          '`deployer outputs --stage S --format env`.',
      );
    }
    let output: PutEventsCommandOutput;
    try {
      output = await this.#events().send(new PutEventsCommand({ Entries: [refreshRequestedEntry(key, force, busName)] }));
    } catch (error) {
      throw eventsError(busName, error);
    }
    const entry = output.Entries?.[0];
    if ((output.FailedEntryCount ?? 0) > 0 || entry?.EventId === undefined) {
      throw new RefreshFailedError(
        key,
        'UNAVAILABLE',
        `EventBridge did not accept the request (${entry?.ErrorCode ?? 'no event id'}).`,
        { retryable: true },
      );
    }
    this.eventsSent += 1;
    return entry.EventId;
  }

  async #invoke(key: ItemKey, functionName: string, request: RefreshRequest): Promise<RefreshAnswer> {
    this.calls += 1;
    let output: InvokeCommandOutput;
    try {
      output = await this.#lambda().send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(request)),
        }),
      );
    } catch (error) {
      throw invokeError(key, functionName, error);
    }
    if (output.FunctionError !== undefined) {
      throw new RefreshFailedError(
        key,
        'UNAVAILABLE',
        `${functionName} failed (${output.FunctionError}); its log has the cause (\`deployer invoke\` shows it).`,
        { retryable: true },
      );
    }
    let payload: unknown;
    try {
      payload = JSON.parse(output.Payload === undefined ? '' : new TextDecoder().decode(output.Payload));
    } catch {
      payload = undefined;
    }
    return interpretAnswer(key, payload, functionName);
  }
}

/** Lambda's refusals that are configuration or capacity, said as such; others unchanged. */
function invokeError(key: ItemKey, functionName: string, error: unknown): unknown {
  switch (awsErrorName(error)) {
    case 'ResourceNotFoundException':
      return new ConfigurationError(
        `The token API ${JSON.stringify(functionName)} does not exist in this account and region. Check ` +
          'TokenApiFnArn against `deployer outputs --stage S --format env`.',
        { cause: error },
      );
    case 'AccessDeniedException':
      return new ConfigurationError(
        `Not allowed to invoke the token API ${JSON.stringify(functionName)}. Attach the stack's reader ` +
          "policy (output TokenReaderPolicyArn) to the app's role; redeploy a stack older than the token API.",
        { cause: error },
      );
    case 'TooManyRequestsException':
      return new RefreshFailedError(
        key,
        'THROTTLED',
        `every instance of ${functionName} was busy (token_api.reserved_concurrency).`,
        { retryable: true, cause: error },
      );
    default:
      return error;
  }
}

/** EventBridge's refusals that are configuration, said as such; others unchanged. */
function eventsError(busName: string, error: unknown): unknown {
  switch (awsErrorName(error)) {
    case 'ResourceNotFoundException':
      return new ConfigurationError(
        `The event bus ${JSON.stringify(busName)} does not exist in this account and region. Check ` +
          'EventBusName against `deployer outputs --stage S --format env`.',
        { cause: error },
      );
    case 'AccessDeniedException':
      return new ConfigurationError(
        `Not allowed to put token.refresh-requested events on ${JSON.stringify(busName)}. Attach the ` +
          "stack's reader policy (output TokenReaderPolicyArn) to the app's role.",
        { cause: error },
      );
    default:
      return error;
  }
}
