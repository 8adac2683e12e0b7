/**
 * A test-only writer: what the refresher or an app's connect flow stores, in both formats, so the
 * reader is tested against items it did not produce. Seals with node:crypto directly (not the
 * library) and takes its data key from KMS GenerateDataKey, as docs/token-store.md prescribes.
 */
import { createCipheriv, randomBytes } from 'node:crypto';

import { PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';

export interface DataKey {
  readonly plaintext: Buffer;
  readonly encryptedKey: string;
  readonly keyId: string;
}

export interface EnvelopeJson {
  version: number;
  keyId: string;
  encryptedKey: string;
  nonce: string;
  ciphertext: string;
}

/**
 * One data key for a "run", as the refresher generates one per run: without an encryption context
 * for envelope v1, with `{ tokensTable: <table> }` for envelope v2.
 */
export async function generateDataKey(
  kms: KMSClient,
  keyId: string,
  encryptionContext?: Record<string, string>,
): Promise<DataKey> {
  const out = await kms.send(
    new GenerateDataKeyCommand({
      KeyId: keyId,
      KeySpec: 'AES_256',
      ...(encryptionContext === undefined ? {} : { EncryptionContext: encryptionContext }),
    }),
  );
  if (out.Plaintext === undefined || out.CiphertextBlob === undefined || out.KeyId === undefined) {
    throw new Error('GenerateDataKey returned no key');
  }
  return {
    plaintext: Buffer.from(out.Plaintext),
    encryptedKey: Buffer.from(out.CiphertextBlob).toString('base64'),
    keyId: out.KeyId,
  };
}

/** Envelope v1 (or `version`: the AES layer is the same) of `value` for the item (userId, platform). */
export function seal(dataKey: DataKey, userId: string, platform: string, value: string, version = 1): EnvelopeJson {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey.plaintext, nonce);
  cipher.setAAD(Buffer.from(`${userId}|${platform}`, 'utf8'));
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return {
    version,
    keyId: dataKey.keyId,
    encryptedKey: dataKey.encryptedKey,
    nonce: nonce.toString('base64'),
    ciphertext: Buffer.concat([body, cipher.getAuthTag()]).toString('base64'),
  };
}

/** The DynamoDB map (M) form of an envelope. */
export function envelopeAttribute(envelope: EnvelopeJson): AttributeValue {
  return {
    M: {
      version: { N: String(envelope.version) },
      keyId: { S: envelope.keyId },
      encryptedKey: { S: envelope.encryptedKey },
      nonce: { S: envelope.nonce },
      ciphertext: { S: envelope.ciphertext },
    },
  };
}

export interface ItemSpec {
  userId: string;
  platform: string;
  accessToken?: AttributeValue;
  refreshToken?: AttributeValue;
  expiresAt?: number;
  scope?: string;
  status?: string;
  version?: number;
  extra?: Record<string, AttributeValue>;
}

/** The item as a writer stores it; attributes not given are left out (as an app may). */
export function item(spec: ItemSpec): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {
    userId: { S: spec.userId },
    platform: { S: spec.platform },
    ...spec.extra,
  };
  if (spec.accessToken !== undefined) out['accessToken'] = spec.accessToken;
  if (spec.refreshToken !== undefined) out['refreshToken'] = spec.refreshToken;
  if (spec.expiresAt !== undefined) out['expiresAt'] = { N: String(spec.expiresAt) };
  if (spec.scope !== undefined) out['scope'] = { S: spec.scope };
  if (spec.status !== undefined) out['status'] = { S: spec.status };
  if (spec.version !== undefined) out['version'] = { N: String(spec.version) };
  return out;
}

export async function putItem(dynamodb: DynamoDBClient, tableName: string, spec: ItemSpec): Promise<void> {
  await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: item(spec) }));
}
