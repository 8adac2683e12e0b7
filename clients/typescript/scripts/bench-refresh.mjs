#!/usr/bin/env node
// Benchmark helper for the Rust suite (crates/deployer/tests/refresh_bench.rs; prints figures,
// passes or fails on nothing): N forced refreshes of one token, one after the other, through one
// reader of this package (from dist/), as an app that got N 401s would. Each call's wall time,
// and the AWS calls the reader made, counted at the SDK's first middleware step.
//
// Arguments: userId platform N. Environment: TokensTableName, KmsKeyArn, TokenApiFnArn and the
// standard AWS variables. stdout: one JSON line {"calls": N, "wallMs": [...], "commands": {...}}.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';

import { TokenReader } from '../dist/index.js';

const [userId, platform, countText] = process.argv.slice(2);
const count = Number(countText);
if (!userId || !platform || !Number.isInteger(count) || count < 1) {
  console.error('usage: bench-refresh.mjs USER_ID PLATFORM N');
  process.exit(2);
}

const commands = {};
function counted(client, service) {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = `${service}:${context.commandName.replace(/Command$/, '')}`;
      commands[name] = (commands[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'benchCount' },
  );
  return client;
}

const reader = new TokenReader({
  tableName: process.env.TokensTableName,
  kmsKeyId: process.env.KmsKeyArn,
  tokenApiFunction: process.env.TokenApiFnArn,
  dynamodb: counted(new DynamoDBClient({}), 'dynamodb'),
  kms: counted(new KMSClient({}), 'kms'),
  lambda: counted(new LambdaClient({}), 'lambda'),
});
const wallMs = [];
for (let i = 0; i < count; i += 1) {
  const started = process.hrtime.bigint();
  const token = await reader.getToken(userId, platform, { forceRefresh: true });
  wallMs.push(Number(process.hrtime.bigint() - started) / 1e6);
  if (token.version === null) throw new Error('no version');
}
process.stdout.write(`${JSON.stringify({ calls: count, wallMs, commands })}\n`);
