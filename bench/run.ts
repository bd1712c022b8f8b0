// `npm run bench -- [suite]`: runs a benchmark suite and passes its table through; every suite
// ends with one JSON line. Suites are native programs built by `npm run build`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// A suite is a native program (run with the remaining arguments) or a module with run().
type Suite = { what: string } & ({ program: string } | { module: string });

const suites: Record<string, Suite> = {
  crypto: { program: 'build/ztbench', what: 'identity generation; suites 1 and 3 against OpenSSL AES-256-GCM' },
  frames: { program: 'build/frames_bench', what: 'VL2 frames between two in-process nodes against suite-3 crypto alone' },
  offload: { program: 'build/offload_bench', what: 'TAP-to-TAP TCP with and without virtio-net offloads (root)' },
  dataplane: { module: './dataplane.js', what: 'iperf3/ping between two pods: raw veth, ztkube, wireguard-go; RSS per pod (root)' },
  k8s: { module: './k8s.js', what: 'on a real control plane: annotation to first ping, RSS per pod node, 1,000 pods authorised, API writes per pod (root)' },
};

function usage(): string {
  const lines = Object.entries(suites).map(([name, s]) => `  ${name.padEnd(8)} ${s.what}`);
  return `usage: npm run bench -- [suite]   (default: crypto)\n${lines.join('\n')}`;
}

const name = process.argv[2] ?? 'crypto';
const suite = suites[name];
if (!suite) {
  console.error(`bench: unknown suite '${name}'\n${usage()}`);
  process.exit(2);
}
if ('module' in suite) {
  const { run } = (await import(suite.module)) as { run(): Promise<number> };
  process.exit(await run());
}
const program = join(root, suite.program);
if (!existsSync(program)) {
  console.error(`bench: ${suite.program} is missing; run npm run build first`);
  process.exit(1);
}
const child = spawnSync(program, process.argv.slice(3), { stdio: 'inherit' });
process.exit(child.status ?? 1);
