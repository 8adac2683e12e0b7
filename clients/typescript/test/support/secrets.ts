/**
 * Assertions about token values that never print one: node:assert would show `actual` and
 * `expected` on failure, and the suite's output is scanned for token values.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { format, inspect } from 'node:util';

/** A fresh fake access token; the `act.ts-` prefix is what scripts/run-tests.mjs scans for. */
export function fakeAccessToken(): string {
  return `act.ts-${randomBytes(12).toString('hex')}`;
}

/** A fresh fake refresh token (stored by the test writer, never read). */
export function fakeRefreshToken(): string {
  return `rft.ts-${randomBytes(12).toString('hex')}`;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Fails, naming only `what`, when `actual` is not `expected`. */
export function assertSecretEqual(actual: string, expected: string, what = 'access token'): void {
  if (actual !== expected) {
    assert.fail(`${what} differs from the one written (sha256 ${sha256(actual).slice(0, 12)} != ${sha256(expected).slice(0, 12)})`);
  }
}

/** Fails, without showing either, when `secret` occurs in `text`. */
export function assertNotShown(text: string, secret: string, where: string): void {
  if (secret !== '' && text.includes(secret)) {
    assert.fail(`the token value appears in ${where}`);
  }
}

/** Every ordinary way of showing an object, so redaction tests cover them all. */
export function renderings(value: object): Record<string, string> {
  return {
    'util.inspect': inspect(value),
    'util.inspect (showHidden, getters)': inspect(value, { showHidden: true, getters: true, depth: 10 }),
    'util.inspect nested': inspect({ wrapped: [value] }, { depth: 10 }),
    'util.format %o': format('%o', value),
    'util.format %O': format('%O', value),
    'util.format %s': format('%s', value),
    'util.format %j': format('%j', value),
    'JSON.stringify': JSON.stringify(value),
    'JSON.stringify nested': JSON.stringify({ wrapped: [value] }),
    'String()': String(value),
    'template string': `${String(value)}|${value as unknown as string}`,
    'object spread': inspect({ ...value }),
    'Object.entries': JSON.stringify(Object.entries(value)),
    structuredClone: inspect(structuredClone(value)),
  };
}
