/**
 * Test doubles for the AWS calls the reader makes, recording every command. They stand in
 * for moto where a test needs control (timing, errors, a given data key per encryptedKey).
 */
import type { AttributeValue, GetItemCommand, GetItemCommandOutput } from '@aws-sdk/client-dynamodb';
import type { DecryptCommand, DecryptCommandOutput } from '@aws-sdk/client-kms';
import type { InvokeCommand, InvokeCommandOutput } from '@aws-sdk/client-lambda';

import type { DecryptClient, GetItemClient } from '../../src/reader.js';

type Item = Record<string, AttributeValue>;

/** A table in memory, keyed by userId and platform. */
export class FakeTable implements GetItemClient {
  readonly commands: GetItemCommand[] = [];
  readonly items = new Map<string, Item>();
  failWith: unknown = undefined;

  put(item: Item): void {
    this.items.set(`${item['userId']?.S}\u0000${item['platform']?.S}`, item);
  }

  async send(command: GetItemCommand): Promise<GetItemCommandOutput> {
    this.commands.push(command);
    if (this.failWith !== undefined) {
      throw this.failWith;
    }
    const key = command.input.Key ?? {};
    const item = this.items.get(`${key['userId']?.S}\u0000${key['platform']?.S}`);
    return { $metadata: {}, ...(item === undefined ? {} : { Item: item }) };
  }
}

/** KMS whose "ciphertext blobs" map to data keys given by the test. */
export class FakeKms implements DecryptClient {
  readonly commands: DecryptCommand[] = [];
  readonly keys = new Map<string, Uint8Array>();
  /** Errors to throw, one per call, before answering normally. */
  readonly failures: unknown[] = [];
  delayMs = 0;

  addKey(encryptedKeyBase64: string, dataKey: Uint8Array): void {
    this.keys.set(encryptedKeyBase64, dataKey);
  }

  async send(command: DecryptCommand): Promise<DecryptCommandOutput> {
    this.commands.push(command);
    if (this.delayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    }
    const failure = this.failures.shift();
    if (failure !== undefined) {
      throw failure;
    }
    const blob = Buffer.from(command.input.CiphertextBlob ?? new Uint8Array()).toString('base64');
    const key = this.keys.get(blob);
    if (key === undefined) {
      throw new Error(`FakeKms: unknown blob`);
    }
    // A copy, as the SDK hands out a fresh buffer the reader may zero.
    return { $metadata: {}, Plaintext: Uint8Array.from(key), KeyId: command.input.KeyId };
  }
}

/**
 * A token API: answers each Invoke with `answer(request)` after `delayMs`, recording the
 * requests. `onRefresh` runs before the answer (a test writes the refreshed item there).
 */
export class FakeTokenApi {
  readonly requests: Array<Record<string, unknown>> = [];
  readonly functionNames: string[] = [];
  delayMs = 0;
  failWith: unknown = undefined;
  functionError: string | undefined = undefined;
  answer: (request: Record<string, unknown>) => unknown = () => ({ ok: true, status: 'active', refreshed: true, coalesced: false });

  async send(command: InvokeCommand): Promise<InvokeCommandOutput> {
    const request = JSON.parse(new TextDecoder().decode(command.input.Payload as Uint8Array)) as Record<string, unknown>;
    this.requests.push(request);
    this.functionNames.push(command.input.FunctionName ?? '');
    if (this.delayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    }
    if (this.failWith !== undefined) {
      throw this.failWith;
    }
    const body = new TextEncoder().encode(JSON.stringify(this.answer(request)));
    return {
      $metadata: {},
      StatusCode: 200,
      // The SDK's Uint8ArrayBlobAdapter is a Uint8Array with helpers the reader does not use.
      Payload: body as NonNullable<InvokeCommandOutput['Payload']>,
      ...(this.functionError === undefined ? {} : { FunctionError: this.functionError }),
    };
  }
}
