// Shared by the vitest suites: where the repository and the interop vectors are, and how to run
// the real CLI the way a user would (node bin/ztkube.js, built from dist/).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The nearest directory up with a package.json: test/ under vitest, dist/test/ when a benchmark
// compiled by tsc imports the rigs.
function findRepoRoot(dir: string): string {
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error('no package.json above the test helpers');
    dir = dirname(dir);
  }
  return dir;
}

export const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
export const vectors = resolve(repoRoot, '..', 'shared', 'vectors', 'zt-1.14');

export function vectorPath(...parts: string[]): string {
  return join(vectors, ...parts);
}

export function readVectorJson<T>(...parts: string[]): T {
  return JSON.parse(readFileSync(vectorPath(...parts), 'utf8')) as T;
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function cli(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'ztkube.js'), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
