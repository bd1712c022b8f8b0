// The data plane end to end, as root: real network namespaces, real TAPs, real UDP, real pings
// and TCP from inside the pods. One LocalNetwork (root, controller, three pods in one process)
// serves the suite; every namespace made is checked gone at the end.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalNetwork, type LocalPod } from '../../agent/demo/local-network.js';
import { Underlay } from '../../agent/demo/underlay.js';
import { repoPath } from '../../agent/lib/native.js';
import { readZeroTierNetwork } from '../../agent/lib/network-spec.js';

const PREFIX = `ztke${process.pid}`;
const network = readZeroTierNetwork(repoPath('examples', 'network.yaml'));
const logger = pino({ level: 'warn' }, pino.destination(2));
let stateDir: string;
let net: LocalNetwork;

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter((name) => name.startsWith(PREFIX));
}

function ips(pod: LocalPod, family: '.' | ':'): string[] {
  return (net.networkOf(pod)?.config.assignedAddresses ?? []).filter((a) => a.includes(family)).map((a) => a.split('/')[0]!);
}

/** True once a ping (sent every 0.2 s) came back within `seconds`. */
function ping(from: LocalPod, target: string, extra: string[] = [], seconds = 3): boolean {
  const args = ['ping', '-c', '1', '-i', '0.2', '-w', String(seconds), ...extra, target];
  return Underlay.exec(from.namespace, args, (seconds + 5) * 1000).status === 0;
}

async function start(): Promise<void> {
  net = await LocalNetwork.start({ prefix: PREFIX, network, stateDir, logger });
  for (const name of ['a', 'b', 'c']) await net.addPod(name);
  await net.ready(30_000);
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'ztkube-e2e-'));
  await start();
});

afterAll(async () => {
  await net?.close();
  rmSync(stateDir, { recursive: true, force: true });
  expect(namespaces()).toEqual([]);
});

describe('data plane end to end (root, namespaces, TAPs)', () => {
  it('gives every pod a TAP with its MAC, MTU and addresses, and every pair pings over IPv4 and IPv6', () => {
    for (const pod of net.pods) {
      const n = net.networkOf(pod)!;
      const link = JSON.parse(Underlay.exec(pod.namespace, ['ip', '-j', 'link', 'show', n.interfaceName]).stdout) as {
        address: string;
        mtu: number;
      }[];
      expect(link[0]?.address).toBe(n.config.mac);
      expect(link[0]?.mtu).toBe(n.config.mtu);
      expect(ips(pod, '.')).toHaveLength(1);
      expect(ips(pod, ':').length).toBeGreaterThanOrEqual(1);
    }
    for (const from of net.pods)
      for (const to of net.pods) {
        if (from === to) continue;
        expect(ping(from, ips(to, '.')[0]!), `${from.name} → ${to.name} IPv4`).toBe(true);
        expect(ping(from, ips(to, ':')[0]!), `${from.name} → ${to.name} IPv6`).toBe(true);
      }
  });

  it('carries frames at the network MTU without fragmenting them', () => {
    const [a, b] = net.pods as [LocalPod, LocalPod];
    const mtu = net.networkOf(a)!.config.mtu;
    expect(ping(a, ips(b, '.')[0]!, ['-M', 'do', '-s', String(mtu - 28)])).toBe(true);
  });

  it('moves 256 MiB over TCP intact (same sha256 on both ends)', async () => {
    const [a, b] = net.pods as [LocalPod, LocalPod];
    const target = ips(b, '.')[0]!;
    const server = spawn('ip', ['netns', 'exec', b.namespace.name, 'python3', '-c', `
import hashlib, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("${target}", 5201)); s.listen(1)
print("ready", flush=True)
c, _ = s.accept(); h = hashlib.sha256()
while True:
    d = c.recv(1 << 20)
    if not d: break
    h.update(d)
print(h.hexdigest(), flush=True)
`]);
    const output: string[] = [];
    server.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    const exited = new Promise<void>((resolve) => server.on('exit', () => resolve()));
    while (!output.join('').includes('ready')) await new Promise((r) => setTimeout(r, 20));
    const sent = Underlay.exec(a.namespace, ['python3', '-c', `
import hashlib, random, socket
rng = random.Random(7); h = hashlib.sha256(); s = socket.create_connection(("${target}", 5201))
for _ in range(256):
    block = rng.randbytes(1 << 20); h.update(block); s.sendall(block)
s.close(); print(h.hexdigest())
`], 120_000);
    expect(sent.status).toBe(0);
    await exited;
    const received = output.join('').split('\n').filter((l) => /^[0-9a-f]{64}$/.test(l));
    expect(received).toEqual([sent.stdout.trim()]);
  });

  it('keeps every pod address and IP across a restart of the process state', async () => {
    const before = net.pods.map((p) => [p.attached.address, net.networkOf(p)!.config.assignedAddresses]);
    await net.close();
    expect(namespaces()).toEqual([]);
    await start();
    expect(net.pods.map((p) => [p.attached.address, net.networkOf(p)!.config.assignedAddresses])).toEqual(before);
    const [a, b] = net.pods as [LocalPod, LocalPod];
    expect(ping(a, ips(b, '.')[0]!, [], 30)).toBe(true);
  });

  it("removes a detached pod's TAP and routes", async () => {
    const c = net.pods[2]!;
    const tap = net.networkOf(c)!.interfaceName;
    expect(Underlay.exec(c.namespace, ['ip', 'link', 'show', tap]).status).toBe(0);
    await net.dataplane.detach(c.key);
    expect(Underlay.exec(c.namespace, ['ip', 'link', 'show', tap]).status).not.toBe(0);
    expect(Underlay.exec(c.namespace, ['ip', 'route', 'show']).stdout).not.toContain('198.19.');
    expect(Underlay.exec(c.namespace, ['ip', '-6', 'route', 'show']).stdout).not.toContain(tap);
  });
});
