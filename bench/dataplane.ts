// `npm run bench -- dataplane` (root): iperf3 and ping between two pods, in one run on this
// machine, through the raw veth underlay, through ztkube (this process's data plane) and through
// wireguard-go (the userspace WireGuard Tailscale builds on, configured with Debian's wg); then the
// memory each attached pod node adds, with 100 pods attached. Last line: one JSON object.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { LocalNetwork, type LocalPod } from '../agent/demo/local-network.js';
import { Underlay, type PodNamespace } from '../agent/demo/underlay.js';
import { repoPath } from '../agent/lib/native.js';
import { readZeroTierNetwork } from '../agent/lib/network-spec.js';

const SECONDS = Number(process.env.ZT_BENCH_SECONDS ?? 8);
const RSS_PODS = Number(process.env.ZT_BENCH_RSS_PODS ?? 100);
const WG_PORT = 51820;
const WG_NET = '198.19.250';

const children: ChildProcess[] = [];

function inPod(pod: PodNamespace, command: string[], timeoutMs = 60_000): string {
  return execFileSync('ip', ['netns', 'exec', pod.name, ...command], { encoding: 'utf8', timeout: timeoutMs });
}

function background(pod: PodNamespace, command: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', pod.name, ...command], { stdio: 'ignore', env: { ...process.env, ...env } });
  children.push(child);
  return child;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** iperf3 from `from` to `target` (a server runs in `to`); Gbit/s received. */
async function iperf(from: PodNamespace, to: PodNamespace, target: string, streams: number): Promise<number> {
  const server = background(to, ['iperf3', '-s', '-1', '-B', target]);
  await pause(300);
  try {
    const out = inPod(from, ['iperf3', '-c', target, '-t', String(SECONDS), '-P', String(streams), '-J'], (SECONDS + 30) * 1000);
    const report = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
    return report.end.sum_received.bits_per_second / 1e9;
  } finally {
    server.kill();
  }
}

/** Mean round trip of 50 pings 10 ms apart, in ms. */
function rtt(from: PodNamespace, target: string): number {
  const out = inPod(from, ['ping', '-c', '50', '-i', '0.01', '-q', target]);
  const m = /= [\d.]+\/([\d.]+)\//.exec(out);
  if (!m) throw new Error(`no ping summary from ${from.name} to ${target}: ${out}`);
  return Number(m[1]);
}

function ipv4Of(net: LocalNetwork, pod: LocalPod): string {
  const ip = net.networkOf(pod)?.config.assignedAddresses.find((a) => a.includes('.'))?.split('/')[0];
  if (!ip) throw new Error(`${pod.name} has no IPv4 on the network`);
  return ip;
}

/** A wireguard-go tunnel between the two pods' namespaces (198.19.250.1 and .2). */
async function wireguard(a: PodNamespace, b: PodNamespace, dir: string): Promise<void> {
  const wgGo = join(process.env.ZTKUBE_TOOLS ?? join(homedir(), '.cache', 'ztkube'), 'bin', 'wireguard-go');
  const keys = [a, b].map(() => {
    const secret = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
    return { secret, public: execFileSync('wg', ['pubkey'], { input: secret, encoding: 'utf8' }).trim() };
  });
  // Distinct names: wireguard-go's control socket (/var/run/wireguard/<name>.sock) is not per namespace.
  const names = [`ztkwg${process.pid}a`.slice(-15), `ztkwg${process.pid}b`.slice(-15)];
  for (const [i, pod] of [a, b].entries()) {
    background(pod, [wgGo, '-f', names[i]!], { LOG_LEVEL: 'error', WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' });
    const end = Date.now() + 10_000;
    while (Underlay.exec(pod, ['ip', 'link', 'show', names[i]!]).status !== 0) {
      if (Date.now() > end) throw new Error(`wireguard-go made no ${names[i]} in ${pod.name} within 10 s`);
      await pause(100);
    }
  }
  for (const [i, pod] of [a, b].entries()) {
    const peer = i === 0 ? b : a;
    const keyFile = join(dir, `wg${i}.key`);
    writeFileSync(keyFile, keys[i]!.secret, { mode: 0o600 });
    inPod(pod, ['wg', 'set', names[i]!, 'private-key', keyFile, 'listen-port', String(WG_PORT), 'peer', keys[1 - i]!.public,
      'allowed-ips', `${WG_NET}.${2 - i}/32`, 'endpoint', `${peer.ip}:${WG_PORT}`]);
    inPod(pod, ['ip', 'addr', 'add', `${WG_NET}.${i + 1}/24`, 'dev', names[i]!]);
    inPod(pod, ['ip', 'link', 'set', names[i]!, 'up']);
  }
}

function rssMiB(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m![1]) / 1024;
}

function row(name: string, value: string): void {
  console.log(`${name.padEnd(34)} ${value}`);
}

export async function run(): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error('bench dataplane: needs root (namespaces, TAPs)');
  const stateDir = mkdtempSync(join(tmpdir(), 'ztkube-bench-'));
  const net = await LocalNetwork.start({
    prefix: `ztkb${process.pid}`,
    network: readZeroTierNetwork(repoPath('examples', 'network.yaml')),
    stateDir,
    logger: pino({ level: 'warn' }, pino.destination(2)),
  });
  try {
    const [a, b] = [await net.addPod('a'), await net.addPod('b')];
    await net.ready(30_000);
    const ztB = ipv4Of(net, b);
    rtt(a.namespace, ztB); // paths settle (direct after the root's RENDEZVOUS)
    const result = {
      rawGbps: await iperf(a.namespace, b.namespace, b.namespace.ip, 1),
      tcp1Gbps: await iperf(a.namespace, b.namespace, ztB, 1),
      tcp4Gbps: await iperf(a.namespace, b.namespace, ztB, 4),
      wgGoGbps: 0,
      rawRttMs: rtt(a.namespace, b.namespace.ip),
      rttMs: rtt(a.namespace, ztB),
      wgGoRttMs: 0,
      rssPerNodeMiB: 0,
    };
    await wireguard(a.namespace, b.namespace, stateDir);
    result.wgGoGbps = await iperf(a.namespace, b.namespace, `${WG_NET}.2`, 1);
    result.wgGoRttMs = rtt(a.namespace, `${WG_NET}.2`);
    for (const child of children.splice(0)) child.kill();

    const before = rssMiB();
    for (let i = 0; i < RSS_PODS; i++) await net.addPod(`p${i}`);
    await net.ready(120_000);
    result.rssPerNodeMiB = (rssMiB() - before) / RSS_PODS;

    row('raw veth, 1 TCP stream', `${result.rawGbps.toFixed(2)} Gbit/s`);
    row('ztkube, 1 TCP stream', `${result.tcp1Gbps.toFixed(2)} Gbit/s (${((100 * result.tcp1Gbps) / result.rawGbps).toFixed(1)}% of raw)`);
    row('ztkube, 4 TCP streams', `${result.tcp4Gbps.toFixed(2)} Gbit/s`);
    row('wireguard-go, 1 TCP stream', `${result.wgGoGbps.toFixed(2)} Gbit/s (${((100 * result.wgGoGbps) / result.rawGbps).toFixed(1)}% of raw)`);
    row('ping RTT raw / ztkube / wireguard-go', `${result.rawRttMs} / ${result.rttMs} / ${result.wgGoRttMs} ms`);
    row(`RSS per attached pod (${RSS_PODS} pods)`, `${result.rssPerNodeMiB.toFixed(2)} MiB`);
    console.log(JSON.stringify(result));
    return 0;
  } finally {
    for (const child of children.splice(0)) child.kill();
    await net.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

