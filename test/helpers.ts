// Shared by the vitest suites: where the repository and the interop vectors are, and how to run
// the real CLI the way a user would (node bin/ztkube.js, built from dist/).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
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
