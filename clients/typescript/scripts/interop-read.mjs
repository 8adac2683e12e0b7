#!/usr/bin/env node
// Interop helper for the Rust suite: reads tokens with this package (from dist/, so run
// `npm run build` first) and prints what it read without printing any token.
//
// Environment: TokensTableName (required), KmsKeyArn (optional), and the standard AWS variables
// (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
// stdin:  one JSON object per line, {"userId": "...", "platform": "..."}; blank lines are skipped.
// stdout: one JSON line per key, in input order:
//           {"userId","platform","ok":true,"status","version","expiresAt","scope","accessTokenSha256"}
//           {"userId","platform","ok":false,"code":"<TokenReaderError code>"}
//         (an error that is not a TokenReaderError, e.g. a network failure, has code "ERROR" and
//         its "errorName"), then a last line {"kmsDecryptCalls":N}.
// Exit status: 0 when every line was handled (whatever the reads' outcomes); 2 for bad
// configuration or input.
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';

import { TokenReader, TokenReaderError } from '../dist/index.js';

function emit(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function parseLine(line, number) {
  let key;
  try {
    key = JSON.parse(line);
  } catch {
    throw new Error(`stdin line ${number} is not JSON`);
  }
  if (typeof key?.userId !== 'string' || typeof key?.platform !== 'string') {
    throw new Error(`stdin line ${number} lacks a string userId and platform`);
  }
  return { userId: key.userId, platform: key.platform };
}

async function readOne(reader, { userId, platform }) {
  try {
    const token = await reader.getToken(userId, platform);
    return {
      userId,
      platform,
      ok: true,
      status: token.status,
      version: token.version,
      expiresAt: token.expiresAt,
      scope: token.scope,
      accessTokenSha256: createHash('sha256').update(token.accessToken, 'utf8').digest('hex'),
    };
  } catch (error) {
    if (error instanceof TokenReaderError) {
      return { userId, platform, ok: false, code: error.code };
    }
    return { userId, platform, ok: false, code: 'ERROR', errorName: error instanceof Error ? error.name : typeof error };
  }
}

async function main() {
  let reader;
  try {
    reader = TokenReader.fromEnv();
  } catch (error) {
    process.stderr.write(`interop-read: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  try {
    let number = 0;
    // Sequential on purpose: the KMS call count is then deterministic.
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      number += 1;
      if (line.trim() === '') continue;
      emit(await readOne(reader, parseLine(line, number)));
    }
    emit({ kmsDecryptCalls: reader.stats.kmsDecryptCalls });
    return 0;
  } catch (error) {
    process.stderr.write(`interop-read: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  } finally {
    reader.destroy();
  }
}

process.exitCode = await main();
