#!/usr/bin/env node
// Helper for the Rust suite (crates/deployer/tests/readers_refresh.rs): one requestRefresh with
// this package (from dist/), configured from the environment (EventBusName and the standard AWS
// variables). Arguments: userId platform [force]. stdout: {"eventId": "..."} or
// {"code": "...", "message": "..."} (exit 1). Never a token: a request carries none.
import { TokenReader, TokenReaderError } from '../dist/index.js';

const [userId, platform, force] = process.argv.slice(2);
if (!userId || !platform) {
  console.error('usage: request-refresh.mjs USER_ID PLATFORM [force]');
  process.exit(2);
}
const reader = TokenReader.fromEnv();
try {
  const eventId = await reader.requestRefresh(userId, platform, { force: force === 'force' });
  process.stdout.write(`${JSON.stringify({ eventId })}\n`);
} catch (error) {
  if (!(error instanceof TokenReaderError)) throw error;
  process.stdout.write(`${JSON.stringify({ code: error.code, message: error.message })}\n`);
  process.exitCode = 1;
} finally {
  reader.destroy();
}
