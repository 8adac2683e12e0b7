#!/usr/bin/env node
// Runs the compiled tests (build/test/*.test.js, from `tsc -p tsconfig.test.json`) with node's
// test runner, passing its output through, and fails the run if any token value shows up in that
// output: the fake tokens the tests write (act.ts-..., rft.ts-...), the plaintexts and data
// keys of the shared envelope vectors, and the token-item vectors' access tokens. Only the fact is reported, never the value.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const testDir = join(root, 'build', 'test');

if (!existsSync(testDir)) {
  console.error('build/test is missing: run `npm test` (it compiles the tests first).');
  process.exit(2);
}
// Explicit files, not a directory: node 20 and node 22 read a directory argument differently.
const files = readdirSync(testDir)
  .filter((name) => name.endsWith('.test.js'))
  .sort()
  .map((name) => join(testDir, name));

function vectorSecrets() {
  const path = resolve(root, '../../tests/vectors/envelope-v1.json');
  const vectors = JSON.parse(readFileSync(path, 'utf8'));
  const secrets = new Set();
  for (const c of [...vectors.valid, ...vectors.invalid]) {
    if (typeof c.plaintext === 'string' && c.plaintext.length >= 8) secrets.add(c.plaintext);
    if (typeof c.dataKey === 'string') secrets.add(c.dataKey);
  }
  const items = JSON.parse(readFileSync(resolve(root, '../../tests/vectors/token-items.json'), 'utf8'));
  for (const c of items.cases) {
    if (typeof c.token?.accessToken === 'string') secrets.add(c.token.accessToken);
  }
  return [...secrets];
}

const FAKE_TOKEN = /\b(?:act|rft)\.ts-[A-Za-z0-9]+/;
const secrets = vectorSecrets();

const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'pipe'],
  env: {
    // The SDK warns once per process that its releases after January 2027 need node 22; the
    // versions pinned here support node 20, so the warning is noise in the test output.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...process.env,
  },
});

let output = '';
child.stdout.setEncoding('utf8').on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
child.stderr.setEncoding('utf8').on('data', (chunk) => {
  output += chunk;
  process.stderr.write(chunk);
});

child.on('close', (code, signal) => {
  const leaks = [];
  if (FAKE_TOKEN.test(output)) leaks.push('a fake token written by the tests');
  if (secrets.some((secret) => output.includes(secret))) leaks.push('a plaintext or data key of the envelope vectors');
  if (leaks.length > 0) {
    console.error(`\ntoken scan FAILED: the test output contains ${leaks.join(' and ')} (not shown).`);
    process.exit(1);
  }
  process.exit(code ?? (signal === null ? 1 : 128));
});
