/**
 * Envelope formats v1 and v2 (docs/token-store.md#envelope-format-v1): parsing and opening, with
 * no I/O. The two share every field and the AES-GCM layer; they differ only in how KMS was asked
 * for the data key (v2: with an encryption context naming the tokens table, see
 * {@link kmsEncryptionContext}).
 *
 * The data key comes from the caller (the reader asks KMS through its cache; the vector tests use
 * a fake key source), so everything here is deterministic and testable without AWS.
 */
import { createDecipheriv, type KeyObject } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

import {
  DecryptionError,
  MalformedItemError,
  UnsupportedEnvelopeVersionError,
  type ItemKey,
} from './errors.js';

/** The envelope versions this reader knows. */
export const ENVELOPE_VERSIONS = [1, 2] as const;

export type EnvelopeVersion = (typeof ENVELOPE_VERSIONS)[number];

/** The KMS encryption-context key of a v2 data key; its value is the tokens table's name. */
export const TOKENS_TABLE_CONTEXT_KEY = 'tokensTable';

/** An AES-GCM nonce is 96 bits. */
export const NONCE_BYTES = 12;

/** The AES-GCM tag is 128 bits, appended to the ciphertext. */
export const TAG_BYTES = 16;

/** A data key is AES-256. */
export const DATA_KEY_BYTES = 32;

/** The five attributes of an envelope, exactly. */
const FIELDS = ['version', 'keyId', 'encryptedKey', 'nonce', 'ciphertext'] as const;

/** A parsed envelope: every field present, typed, and its base64 decoded. */
export interface Envelope {
  readonly version: EnvelopeVersion;
  /** The KMS key ARN that encrypted the data key, as the writer stored it. */
  readonly keyId: string;
  /** KMS's CiphertextBlob of the data key, base64 as stored: the data-key cache's key. */
  readonly encryptedKeyBase64: string;
  readonly encryptedKey: Uint8Array;
  readonly nonce: Uint8Array;
  /** The AES-GCM ciphertext with its tag (last 16 bytes). */
  readonly ciphertext: Uint8Array;
}

/**
 * One field as found, reduced to its DynamoDB type and text. The JSON form (DLQ records) and the
 * DynamoDB form both reduce to this, so one validator states the format once.
 */
type RawField = { readonly type: 'N' | 'S'; readonly text: string } | { readonly type: 'other' };

/**
 * Standard-alphabet base64 with padding (RFC 4648 section 4). Node's Buffer.from(.., 'base64')
 * accepts URL-safe characters, missing padding and junk, so the shape is checked first and the
 * decoded bytes re-encoded to catch non-zero trailing bits: only the canonical text is accepted.
 */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes canonical base64, or returns null for anything else. */
export function decodeCanonicalBase64(text: string): Buffer | null {
  if (!BASE64.test(text)) {
    return null;
  }
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

/** Parses an envelope stored as a DynamoDB map (`M`). */
export function parseEnvelopeAttribute(
  key: ItemKey,
  attribute: string,
  map: Record<string, AttributeValue>,
): Envelope {
  const raw = new Map<string, RawField>();
  for (const [name, value] of Object.entries(map)) {
    raw.set(name, rawFromAttribute(value));
  }
  return parseRaw(key, attribute, raw);
}

/** Parses the JSON form of an envelope (same five names; `version` a JSON number). */
export function parseEnvelopeJson(key: ItemKey, attribute: string, value: unknown): Envelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedItemError(key, attribute, 'is not an envelope object');
  }
  const raw = new Map<string, RawField>();
  for (const [name, field] of Object.entries(value)) {
    raw.set(name, rawFromJson(field));
  }
  return parseRaw(key, attribute, raw);
}

function rawFromAttribute(value: AttributeValue): RawField {
  if (value.N !== undefined) {
    return { type: 'N', text: value.N };
  }
  if (value.S !== undefined) {
    return { type: 'S', text: value.S };
  }
  return { type: 'other' };
}

function rawFromJson(value: unknown): RawField {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? { type: 'N', text: String(value) } : { type: 'other' };
  }
  if (typeof value === 'string') {
    return { type: 'S', text: value };
  }
  return { type: 'other' };
}

/**
 * The format's rules, in an order that keeps errors useful: the version first (a future version
 * may have other fields, and "unknown version" is the actionable message), then the exact field
 * set, then each field.
 */
function parseRaw(key: ItemKey, attribute: string, raw: ReadonlyMap<string, RawField>): Envelope {
  const version = checkVersion(key, attribute, raw.get('version'));
  for (const name of raw.keys()) {
    if (!(FIELDS as readonly string[]).includes(name)) {
      // The name is the writer's, not a secret, but bound its length in the message.
      throw new MalformedItemError(
        key,
        `${attribute}.${name.slice(0, 64)}`,
        `is not an attribute of envelope v${version} (it has exactly version, keyId, encryptedKey, nonce, ciphertext)`,
      );
    }
  }
  const keyId = requireString(key, attribute, raw, 'keyId');
  if (keyId === '') {
    throw new MalformedItemError(key, `${attribute}.keyId`, 'is empty');
  }
  const encryptedKeyBase64 = requireString(key, attribute, raw, 'encryptedKey');
  const encryptedKey = requireBase64(key, attribute, 'encryptedKey', encryptedKeyBase64);
  if (encryptedKey.length === 0) {
    throw new MalformedItemError(key, `${attribute}.encryptedKey`, 'is empty');
  }
  const nonce = requireBase64(key, attribute, 'nonce', requireString(key, attribute, raw, 'nonce'));
  if (nonce.length !== NONCE_BYTES) {
    throw new MalformedItemError(
      key,
      `${attribute}.nonce`,
      `decodes to ${nonce.length} bytes, not the ${NONCE_BYTES} of an AES-GCM nonce`,
    );
  }
  const ciphertext = requireBase64(
    key,
    attribute,
    'ciphertext',
    requireString(key, attribute, raw, 'ciphertext'),
  );
  return { version, keyId, encryptedKeyBase64, encryptedKey, nonce, ciphertext };
}

function checkVersion(key: ItemKey, attribute: string, field: RawField | undefined): EnvelopeVersion {
  const path = `${attribute}.version`;
  if (field === undefined) {
    throw new MalformedItemError(key, path, 'is missing');
  }
  if (field.type !== 'N') {
    throw new MalformedItemError(key, path, 'is not a number (N)');
  }
  const version = Number(field.text);
  if (!Number.isSafeInteger(version)) {
    throw new MalformedItemError(key, path, 'is not an integer');
  }
  if (!isKnownVersion(version)) {
    throw new UnsupportedEnvelopeVersionError(key, attribute, version);
  }
  return version;
}

function isKnownVersion(version: number): version is EnvelopeVersion {
  return (ENVELOPE_VERSIONS as readonly number[]).includes(version);
}

/**
 * The EncryptionContext KMS Decrypt must be given for the envelope's data key, read from the
 * table `tableName`: none for v1 (its key was generated without one), `{ tokensTable: tableName }`
 * for v2 (generated with the stage's table name, so a key sealed for another table fails at KMS).
 */
export function kmsEncryptionContext(
  envelope: Pick<Envelope, 'version'>,
  tableName: string,
): Readonly<Record<string, string>> | undefined {
  return envelope.version === 2 ? { [TOKENS_TABLE_CONTEXT_KEY]: tableName } : undefined;
}

function requireString(
  key: ItemKey,
  attribute: string,
  raw: ReadonlyMap<string, RawField>,
  name: (typeof FIELDS)[number],
): string {
  const field = raw.get(name);
  if (field === undefined) {
    throw new MalformedItemError(key, `${attribute}.${name}`, 'is missing');
  }
  if (field.type !== 'S') {
    throw new MalformedItemError(key, `${attribute}.${name}`, 'is not a string (S)');
  }
  return field.text;
}

function requireBase64(key: ItemKey, attribute: string, name: string, text: string): Buffer {
  const bytes = decodeCanonicalBase64(text);
  if (bytes === null) {
    throw new MalformedItemError(
      key,
      `${attribute}.${name}`,
      'is not canonical base64 (standard alphabet with padding, RFC 4648 section 4)',
    );
  }
  return bytes;
}

/** The associated data that binds an envelope to its item. */
export function associatedData(key: ItemKey): Buffer {
  return Buffer.from(`${key.userId}|${key.platform}`, 'utf8');
}

/**
 * Strict UTF-8: a writer that sealed other bytes is refused rather than read with replacement
 * characters; `ignoreBOM` keeps a leading U+FEFF as part of the token instead of dropping it.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Opens an envelope with its data key: AES-256-GCM, the tag the last 16 bytes of the ciphertext,
 * the item's key as associated data. Any authentication failure (moved, tampered, wrong key, too
 * short to hold a tag) is a DecryptionError; the cause is not told apart on purpose.
 */
export function openEnvelope(
  key: ItemKey,
  attribute: string,
  envelope: Envelope,
  dataKey: KeyObject | Uint8Array,
): string {
  const { nonce, ciphertext } = envelope;
  if (ciphertext.length < TAG_BYTES) {
    throw new DecryptionError(key, attribute, 'authentication');
  }
  const body = ciphertext.subarray(0, ciphertext.length - TAG_BYTES);
  const tag = ciphertext.subarray(ciphertext.length - TAG_BYTES);
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(key));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    // OpenSSL's message says nothing useful and the cause is deliberately not distinguished.
    throw new DecryptionError(key, attribute, 'authentication');
  }
  try {
    return UTF8.decode(plaintext);
  } catch {
    throw new DecryptionError(key, attribute, 'utf8');
  } finally {
    plaintext.fill(0);
  }
}
