// `ztkube demo` (`npm run demo`): the product on one machine. Network namespaces stand in for pods
// (veths to a bridge on 198.18.0.0/24); one process runs a root, a controller serving the
// ZeroTierNetwork in examples/network.yaml, and a node per pod whose TAP lives in the pod's
// namespace. Prints each pod's ZeroTier address, MAC and IPs, then a ping matrix (real pings from
// inside the pods) every 5 s with Prometheus metrics served, until Ctrl-C; everything it made is
// removed on the way out.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { LocalNetwork, type LocalPod } from '../demo/local-network.js';
import { registerDataplaneMetrics } from '../dataplane/metrics.js';
import { onTermination } from '../lib/termination.js';
import { serveMetrics, type MetricsServer } from '../lib/metrics-server.js';
import { readZeroTierNetwork } from '../lib/network-spec.js';
import { repoPath } from '../lib/native.js';
import { Failure, integerArg, options, UsageError } from './args.js';

export const usage = `Usage: ztkube demo [--pods N] [--once] [--network FILE] [--metrics-port P] [--verbose]
  As root: makes N network namespaces standing in for pods, runs a root, a controller and one
  ZeroTier node per pod in this process, joins the pods to the network FILE describes (a
  ZeroTierNetwork, default examples/network.yaml) and prints each pod's ZeroTier address, MAC and
  IPs, then a ping matrix between the pods over the network (IPv4, and IPv6 when assigned) every
  5 s, serving Prometheus metrics on 127.0.0.1:P/metrics (default 9464, 0 picks a port), until
  Ctrl-C. Removes every namespace, interface and file it made on the way out.
  --pods N          pods, 2 to 16 (default 3)
  --once            one matrix, then exit: 0 only if every pair answered
  --verbose         log the data plane (JSON lines on stderr)
`;

const READY_TIMEOUT_MS = 30_000;
const execFileAsync = promisify(execFile);

interface PingResult {
  ok: boolean;
  ms?: number;
}

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function addressesOf(net: LocalNetwork, pod: LocalPod): { v4?: string; v6?: string; all: string[] } {
  const all = net.networkOf(pod)?.config.assignedAddresses ?? [];
  const ips = all.map((a) => a.split('/')[0]!);
  return { v4: ips.find((ip) => ip.includes('.')), v6: ips.find((ip) => ip.includes(':')), all };
}

async function ping(from: LocalPod, target: string): Promise<PingResult> {
  const family = target.includes(':') ? '-6' : '-4';
  try {
    // Three tries: the first also waits for address resolution and, on first contact, for the
    // peers to find each other (WHOIS, then a direct path).
    const { stdout } = await execFileAsync('ip', ['netns', 'exec', from.namespace.name, 'ping', family, '-c3', '-i0.2', '-W2', '-q', target]);
    const rtt = /= ([\d.]+)\//.exec(stdout); // the best of the three
    return { ok: true, ms: rtt ? Number(rtt[1]) : undefined };
  } catch {
    return { ok: false };
  }
}

/** Pings every ordered pair over each family; returns the printed matrix and whether all answered. */
async function pingMatrix(net: LocalNetwork): Promise<{ lines: string[]; allAnswered: boolean }> {
  const pods = net.pods;
  const cells = await Promise.all(
    pods.map((from) =>
      Promise.all(
        pods.map(async (to) => {
          if (from === to) return '';
          const { v4, v6 } = addressesOf(net, to);
          const results = await Promise.all([v4, v6].filter((ip): ip is string => !!ip).map((ip) => ping(from, ip)));
          return results.map((r) => (r.ok ? `${r.ms?.toFixed(2) ?? '?'}ms` : 'FAIL')).join(' / ');
        }),
      ),
    ),
  );
  const width = Math.max(12, ...cells.flat().map((c) => c.length)) + 2;
  const lines = [
    `${'from \\ to'.padEnd(10)}${pods.map((p) => p.name.padEnd(width)).join('')}`,
    ...pods.map((p, i) => `${p.name.padEnd(10)}${cells[i]!.map((c) => (c || '·').padEnd(width)).join('')}`),
  ];
  return { lines, allAnswered: !cells.flat().some((c) => c.includes('FAIL')) };
}

function printPods(net: LocalNetwork): void {
  print(`network ${net.networkId} (${net.options.network.metadata.name})`);
  for (const pod of net.pods) {
    const n = net.networkOf(pod);
    print(
      `  ${pod.name.padEnd(8)} zt ${pod.attached.address}  ${n?.interfaceName ?? '-'}  mac ${n?.config.mac ?? '-'}  ${addressesOf(net, pod).all.join(' ')}`,
    );
  }
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = options(args, {
    pods: { type: 'string' },
    once: { type: 'boolean' },
    network: { type: 'string' },
    'metrics-port': { type: 'string' },
    verbose: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const podCount = values.pods === undefined ? 3 : integerArg(values.pods, '--pods');
  if (podCount < 2 || podCount > 16) throw new UsageError('--pods must be 2 to 16');
  const metricsPort = values['metrics-port'] === undefined ? 9464 : integerArg(values['metrics-port'], '--metrics-port');
  const network = readZeroTierNetwork(values.network ?? repoPath('examples', 'network.yaml'));
  if (!network.spec.managed) throw new Failure(`demo: ${network.metadata.name} must be a managed network`);
  if (process.getuid?.() !== 0) throw new Failure('demo: needs root (it creates network namespaces and TAP devices)');

  const logger = pino({ level: values.verbose ? 'info' : 'warn' }, pino.destination(2));
  const stateDir = mkdtempSync(join(tmpdir(), 'ztkube-demo-'));
  let net: LocalNetwork | undefined;
  let server: MetricsServer | undefined;
  const termination = onTermination();
  try {
    net = await LocalNetwork.start({ prefix: `ztkdemo${process.pid}`, network, stateDir, logger });
    for (let i = 1; i <= podCount; i++) await net.addPod(`pod${i}`);
    await net.ready(READY_TIMEOUT_MS);
    printPods(net);
    server = await serveMetrics(registerDataplaneMetrics(net.dataplane), { port: metricsPort });
    print(`metrics: ${server.url}/metrics`);
    for (;;) {
      const { lines, allAnswered } = await pingMatrix(net);
      print();
      print(`ping matrix (IPv4 / IPv6 round trips) at ${new Date().toISOString()}`);
      for (const line of lines) print(line);
      if (values.once) {
        if (!allAnswered) throw new Failure('demo: some pairs did not answer');
        return 0;
      }
      const next = await Promise.race([termination.signalled.then(() => 'stop'), new Promise((r) => setTimeout(() => r('tick'), 5000))]);
      if (next === 'stop') return 0;
    }
  } finally {
    termination.dispose();
    await server?.close();
    await net?.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
