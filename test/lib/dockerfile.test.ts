// The image's runtime stage must provide every shared library the addon links (ztkube-cni is
// static): each library ldd resolves here, mapped to its Debian package, is installed by the
// runtime stage or comes with the node:20 slim base (which needs libc, libgcc and libstdc++ itself).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { repoRoot } from '../helpers.js';

const BASE_PACKAGES = ['libc6', 'libgcc-s1', 'libstdc++6'];

function runtimePackages(): string[] {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
  const install = /apt-get install -y --no-install-recommends([^&]*)/.exec(runtime.replaceAll('\\\n', ' '));
  if (!install) throw new Error('no apt-get install in the runtime stage');
  return install[1]!.trim().split(/\s+/);
}

/** The package owning a library path; with merged /usr, dpkg knows /lib/x as /usr/lib/x or as is. */
function packageOf(library: string): string {
  const paths = library.startsWith('/usr/') ? [library] : [library, `/usr${library}`];
  for (const path of paths) {
    try {
      return execFileSync('dpkg', ['-S', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[0]!;
    } catch {
      // not known under this name
    }
  }
  return `(no package owns ${library})`;
}

test('every library the addon links is in the runtime stage', () => {
  const ldd = execFileSync('ldd', [join(repoRoot, 'build/Release/ztkube.node')], { encoding: 'utf8' });
  const libraries = [...ldd.matchAll(/=> (\/\S+)/g)].map((m) => m[1]!);
  expect(libraries.length).toBeGreaterThan(4);
  const provided = new Set([...runtimePackages(), ...BASE_PACKAGES]);
  const missing = libraries.filter((library) => !provided.has(packageOf(library)));
  expect(missing).toEqual([]);
});

test('ztkube-cni links nothing', () => {
  const plugin = join(repoRoot, 'dist/bin/ztkube-cni');
  let output = '';
  try {
    output = execFileSync('ldd', [plugin], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    output = String((e as { stdout?: string }).stdout ?? '') + String((e as { stderr?: string }).stderr ?? '');
  }
  expect(output).toMatch(/not a dynamic executable|statically linked/);
});
