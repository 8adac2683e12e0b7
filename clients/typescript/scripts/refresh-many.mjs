#!/usr/bin/env node
// Concurrency helper for the Rust suite (crates/deployer/tests/readers_refresh.rs): N readers of
// this package (from dist/), each its own TokenReader (so nothing is shared in this process),
// force a refresh of one token at the same moment, as N app instances would after a 401.
//
// Arguments: userId platform N.
// Environment: what TokenReader.fromEnv reads (TokensTableName, KmsKeyArn, TokenApiFnArn) and the
//              standard AWS variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_LAMBDA, ...).
// Protocol:    each reader first reads the token once (unforced), then {"ready":N} is printed;
//              on the next stdin line, all N call getToken(.., {forceRefresh: true}) at once.
// stdout:      one line per reader, {"ok":true,"version","accessTokenSha256"} or
//              {"ok":false,"code","message"}, then {"tokenApiCalls":N}. Never a token.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

import { TokenReader, TokenReaderError } from '../dist/index.js';

const [userId, platform, countText] = process.argv.slice(2);
const count = Number(countText);
if (!userId || !platform || !Number.isInteger(count) || count < 1) {
  console.error('usage: refresh-many.mjs USER_ID PLATFORM N');
  process.exit(2);
}

function emit(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function sha256(text) {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

const readers = Array.from({ length: count }, () => TokenReader.fromEnv());
await Promise.all(readers.map((reader) => reader.getToken(userId, platform)));
emit({ ready: count });
const lines = createInterface({ input: process.stdin });
await once(lines, 'line');
lines.close();

const results = await Promise.all(
  readers.map(async (reader) => {
    try {
      const token = await reader.getToken(userId, platform, { forceRefresh: true });
      return { ok: true, version: token.version, accessTokenSha256: sha256(token.accessToken) };
    } catch (error) {
      if (error instanceof TokenReaderError) {
        return { ok: false, code: error.code, message: error.message };
      }
      return { ok: false, code: 'UNEXPECTED', message: String(error?.name ?? error) };
    }
  }),
);
for (const result of results) emit(result);
emit({ tokenApiCalls: readers.reduce((sum, reader) => sum + reader.stats.tokenApiCalls, 0) });
for (const reader of readers) reader.destroy();
