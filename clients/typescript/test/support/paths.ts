/** Where the package and the repository are, from a test's compiled location (build/test/...). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = '@oauth-refresher/token-reader';

/** The package directory (clients/typescript): the nearest ancestor whose package.json is ours. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`no package.json of ${PACKAGE_NAME} above ${fileURLToPath(import.meta.url)}`);
    }
    dir = parent;
  }
}

/** The repository root (holds docs/, tests/vectors/, .venv/). */
export function repoRoot(): string {
  return resolve(packageRoot(), '../..');
}
