/**
 * The README's example: read a user's TikTok token right before calling TikTok.
 *
 * Configure with the stage's outputs (`deployer outputs --stage S --format env`: TokensTableName,
 * KmsKeyArn, TokenApiFnArn) and the usual AWS variables, then:
 *
 *   node build/examples/get-token.js <userId>
 *
 * The function takes its `fetch` as a parameter so a test can run it against moto with a fake
 * provider and check the Authorization header it sent.
 */
import { pathToFileURL } from 'node:url';

import { TokenReader } from '@oauth-refresher/token-reader';

/** One reader per process: it keeps the decrypted data keys, so steady reads make no KMS call. */
let reader: TokenReader | undefined;

function tokenReader(): TokenReader {
  reader ??= TokenReader.fromEnv();
  return reader;
}

/**
 * TikTok's "who is this user" call, with the token the refresher keeps fresh. After a 401 (TikTok
 * refused a token that looked valid), the token is refreshed now through the stage's token API
 * and the call retried once; a second 401 is returned as it is, never looped on.
 */
export async function fetchTikTokProfile(
  userId: string,
  fetchImpl: typeof fetch = fetch,
  tokens: TokenReader = tokenReader(),
): Promise<Response> {
  const response = await callTikTok(tokens, userId, fetchImpl, false);
  if (response.status !== 401) return response;
  return callTikTok(tokens, userId, fetchImpl, true);
}

async function callTikTok(
  tokens: TokenReader,
  userId: string,
  fetchImpl: typeof fetch,
  forceRefresh: boolean,
): Promise<Response> {
  const token = await tokens.getToken(userId, 'tiktok', { minValiditySeconds: 60, forceRefresh });
  return fetchImpl('https://open.tiktokapis.com/v2/user/info/?fields=open_id,display_name', {
    headers: { Authorization: `Bearer ${token.accessToken}` },
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const userId = process.argv[2];
  if (userId === undefined) {
    console.error('usage: node build/examples/get-token.js <userId>');
    process.exit(2);
  }
  const response = await fetchTikTokProfile(userId);
  // The status only: the body is the provider's, and the token is never printed.
  console.log(`TikTok answered ${response.status}`);
}
