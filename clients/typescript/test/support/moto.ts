/**
 * The local AWS stand-in: `moto_server` on a free loopback port, started once per test file and
 * stopped by its process id. Which binary: env MOTO_SERVER, else <repo>/.venv/bin/moto_server
 * (created by scripts/setup.sh). A missing binary fails the suite, never skips it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { repoRoot } from './paths.js';

export interface Moto {
  /** `http://127.0.0.1:<port>`, for AWS_ENDPOINT_URL. */
  readonly endpoint: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Region and dummy credentials for the stand-in. */
export const MOTO_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
} as const;

export function motoBinary(): string {
  const configured = process.env['MOTO_SERVER'];
  const binary = configured !== undefined && configured !== '' ? configured : join(repoRoot(), '.venv', 'bin', 'moto_server');
  if (!existsSync(binary)) {
    throw new Error(
      `moto_server not found at ${binary}. Run scripts/setup.sh from the repository root (it creates ` +
        ".venv with moto), or set MOTO_SERVER to a moto_server (pip install 'moto[server]==5.2.5').",
    );
  }
  return binary;
}

/** Starts moto and waits until it answers; a port taken between probe and bind is retried. */
export async function startMoto(): Promise<Moto> {
  const binary = motoBinary();
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      return await tryStart(binary);
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
  }
  throw new Error(`moto_server did not start: ${lastError}`);
}

async function tryStart(binary: string): Promise<Moto> {
  const port = await freePort();
  const logDir = mkdtempSync(join(tmpdir(), 'tsreader-moto-'));
  const logPath = join(logDir, 'moto.log');
  const log = openSync(logPath, 'w');
  const child = spawn(binary, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(logDir, { recursive: true, force: true });
  };
  try {
    await waitReady(child, endpoint, logPath);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, pid: child.pid ?? -1, stop };
}

async function waitReady(child: ChildProcess, endpoint: string, logPath: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`it exited (${child.exitCode ?? child.signalCode}): ${tail(logPath)}`);
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`no answer at ${endpoint} within 30 s: ${tail(logPath)}`);
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') {
          resolve(address.port);
        } else {
          reject(new Error('no port'));
        }
      });
    });
  });
}
