// `ztkube node` as people run it outside Kubernetes: three processes in three namespaces, one the
// root of a private planet and the controller of a network (from a ZeroTierNetwork file), two
// members joining it; they come up, `ztkube node status` shows them, and the members ping.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Underlay, type PodNamespace } from '../../agent/demo/underlay.js';
import { DirStateStore } from '../../agent/lib/dir-store.js';
import { createWorld, identityGenerate } from '../../agent/lib/native.js';
import { StateObjectType, type StateId } from '../../agent/lib/node.js';
import { cli, repoRoot } from '../helpers.js';

const ZERO: StateId = ['0000000000000000', '0000000000000000'];
const dir = mkdtempSync(join(tmpdir(), 'ztkube-node-e2e-'));
const underlay = Underlay.create(`ztkn${process.pid}`);
const processes: ChildProcess[] = [];

interface NodeStatus {
  address: string;
  online: boolean;
  peers: { address: string; path: string }[];
  networks: { id: string; status: string; interface: string; assignedAddresses: string[] }[];
}

/** A home directory with a fresh identity and the planet; returns the address. */
function home(name: string, planet?: Buffer): { path: string; secret: string } {
  const path = join(dir, name);
  const store = new DirStateStore(path);
  const secret = identityGenerate();
  store.put(StateObjectType.IdentitySecret, ZERO, Buffer.from(secret));
  if (planet) store.put(StateObjectType.Planet, ZERO, planet);
  return { path, secret };
}

function startNode(ns: PodNamespace, homePath: string, args: string[]): void {
  const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, join(repoRoot, 'bin', 'ztkube.js'), 'node',
    '--home', homePath, '--bind', ns.ip, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  processes.push(child);
}

function status(homePath: string): NodeStatus | undefined {
  const r = cli('node', 'status', '--home', homePath);
  return r.status === 0 ? (JSON.parse(r.stdout) as NodeStatus) : undefined;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

afterAll(async () => {
  await Promise.all(
    processes.map((p) => new Promise<void>((resolve) => (p.exitCode !== null ? resolve() : (p.on('exit', () => resolve()), p.kill('SIGTERM'))))),
  );
  underlay.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('ztkube node in three namespaces', () => {
  it('forms a network with a root and controller node and two members that ping each other', async () => {
    const [rootNs, m1Ns, m2Ns] = ['root', 'm1', 'm2'].map((n) => underlay.addPod(n)) as [PodNamespace, PodNamespace, PodNamespace];
    const root = home('root');
    const [, , publicKeyHex, privateKeyHex] = identityGenerate().split(':');
    const planet = createWorld(
      { type: 'planet', id: 0x7a6b7562, timestamp: Date.now(), roots: [{ identity: root.secret.split(':').slice(0, 3).join(':'), stableEndpoints: [`${rootNs.ip}/9993`] }] },
      { publicKeyHex: publicKeyHex!, privateKeyHex: privateKeyHex! },
    );
    const planetFile = join(dir, 'planet');
    writeFileSync(planetFile, planet);
    const m1 = home('m1', planet), m2 = home('m2', planet);
    const networkFile = join(dir, 'network.yaml');
    writeFileSync(networkFile, `apiVersion: ztkube.io/v1alpha1
kind: ZeroTierNetwork
metadata: {name: standalone}
spec:
  managed:
    networkNumber: 1
    ipv4: {pools: [{start: 198.19.9.10, end: 198.19.9.20}]}
    routes: [{target: 198.19.9.0/24}]
    members: [${[m1, m2].map((m) => m.secret.slice(0, 10)).join(', ')}]
`);
    const networkId = `${root.secret.slice(0, 10)}000001`;
    startNode(rootNs, root.path, ['--planet', planetFile, '--root', '--controller', networkFile]);
    startNode(m1Ns, m1.path, ['--join', networkId]);
    startNode(m2Ns, m2.path, ['--join', networkId]);

    const s1 = await until('m1 configured', () => {
      const s = status(m1.path);
      return s?.networks.find((n) => n.id === networkId && n.status === 'OK' && n.assignedAddresses.length) ? s : undefined;
    });
    const s2 = await until('m2 configured', () => {
      const s = status(m2.path);
      return s?.networks.find((n) => n.id === networkId && n.status === 'OK' && n.assignedAddresses.length) ? s : undefined;
    });
    expect(s1.online).toBe(true);
    expect(s1.peers.find((p) => p.address === root.secret.slice(0, 10))?.path).toBe('direct');
    const ip2 = s2.networks[0]!.assignedAddresses[0]!.split('/')[0]!;
    expect(ip2).toMatch(/^198\.19\.9\./);
    expect(Underlay.exec(m1Ns, ['ping', '-c', '2', '-W', '2', ip2]).status).toBe(0);
    expect(status(root.path)?.online).toBe(true);
  });

  it('says clearly when no node runs, and refuses a bad network id', () => {
    const idle = cli('node', 'status', '--home', join(dir, 'nothing-here'));
    expect(idle.status).toBe(1);
    expect(idle.stderr).toMatch(/^ztkube: node status: no node running with home .*nothing-here/);
    const bad = cli('node', '--home', join(dir, 'bad'), '--join', 'xyz');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^ztkube: node: --join takes a network id of 16 lowercase hex digits: 'xyz'/);
  });
});
