// ztkube end to end on a real control plane: the controller and the agent as processes running the
// chart's pod specs with its RBAC, pods run by the rig kubelet through the CNI chain the agent's
// init container extended with ztkube-cni. What a user sees:
// networks become Ready, annotated pods get interfaces and addresses and reach each other, a
// StatefulSet pod keeps its address, and restarts and an apiserver outage lose nothing.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppsV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { NETWORKS_ANNOTATION, podIdentitySecretName, type NetworkStatusEntry } from '../../agent/lib/kube.js';
import type { ZeroTierNetwork } from '../../agent/lib/network-spec.js';
import { ZtkubeCluster } from './ztkube-cluster.js';
import { eventually } from './eventually.js';

const apps = 'zte-apps';
const network: ZeroTierNetwork = {
  apiVersion: 'ztkube.io/v1alpha1',
  kind: 'ZeroTierNetwork',
  metadata: { name: 'net-a', namespace: apps },
  spec: {
    managed: {
      ipv4: { pools: [{ start: '198.19.20.10', end: '198.19.20.250' }] },
      ipv6: { rfc4193: true },
      routes: [{ target: '198.19.20.0/24' }],
    },
  },
};

let cluster: ZtkubeCluster;
let apps1: AppsV1Api;
const output: string[] = [];

beforeAll(async () => {
  cluster = await ZtkubeCluster.start({ prefix: 'zte', subnet: '198.18.0.192/26', onLine: (line) => output.push(line) });
  apps1 = cluster.plane.kubeConfig.makeApiClient(AppsV1Api);
  await cluster.core.createNamespace({ body: { metadata: { name: apps } } });
  // Pods are refused until the controller-manager made the namespace's default ServiceAccount.
  await eventually('default ServiceAccount', () => cluster.core.readNamespacedServiceAccount({ namespace: apps, name: 'default' }));
});

afterAll(async () => {
  await cluster?.stop();
});

function podBody(name: string, networks: string): V1Pod {
  return {
    metadata: { name, annotations: { [NETWORKS_ANNOTATION]: networks } },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': cluster.rig.nodeName },
      containers: [{ name: 'main', image: 'example.invalid/app' }],
    },
  };
}

/** The pod's entry for net-a once it is OK with an IPv4 address. */
async function onNetwork(name: string, timeoutMs = 60_000): Promise<NetworkStatusEntry> {
  return eventually(`pod ${name} on net-a`, async () => {
    const entry = (await cluster.podNetworks(apps, name))?.find((e) => e.name === `${apps}/net-a`);
    return entry?.status === 'OK' && entry.ips?.some((ip) => ip.startsWith('198.19.20.')) ? entry : undefined;
  }, timeoutMs);
}

function ipv4(entry: NetworkStatusEntry): string {
  return entry.ips!.find((ip) => ip.startsWith('198.19.20.'))!.split('/')[0]!;
}

async function pingFrom(pod: string, target: string): Promise<boolean> {
  const object = await cluster.core.readNamespacedPod({ namespace: apps, name: pod });
  try {
    await cluster.rig.exec(object, ['ping', '-c', '1', '-W', '1', target]);
    return true;
  } catch {
    return false;
  }
}

async function pingsWithin(pod: string, target: string, timeoutMs = 30_000): Promise<void> {
  await eventually(`${pod} pings ${target}`, () => pingFrom(pod, target), timeoutMs);
}

test('a network applied becomes Ready with its id', async () => {
  await cluster.applyNetwork(network);
  const status = await eventually('net-a Ready', async () => {
    const s = await cluster.networkStatus(apps, 'net-a');
    return s?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? s : undefined;
  });
  expect(status.networkId).toMatch(/^[0-9a-f]{16}$/);
  expect(status.observedGeneration).toBe(1);
});

test('annotated pods get a ZeroTier interface with their addresses and ping each other', async () => {
  for (const name of ['alpha', 'beta']) await cluster.core.createNamespacedPod({ namespace: apps, body: podBody(name, 'net-a') });
  const [alpha, beta] = [await onNetwork('alpha'), await onNetwork('beta')];
  expect(alpha.interface).toMatch(/^zt[0-9a-f]{10}$/);
  expect(alpha.address).toMatch(/^[0-9a-f]{10}$/);
  expect(alpha.address).not.toBe(beta.address);
  const pod = await cluster.core.readNamespacedPod({ namespace: apps, name: 'alpha' });
  const { stdout } = await cluster.rig.exec(pod, ['ip', '-o', 'addr', 'show', 'dev', alpha.interface!]);
  expect(stdout).toContain(`${ipv4(alpha)}/24`);
  await pingsWithin('alpha', ipv4(beta));
  await pingsWithin('beta', ipv4(alpha));
  await eventually('status counts both members', async () => (await cluster.networkStatus(apps, 'net-a'))?.members?.authorized === 2);
});

test('a StatefulSet pod keeps its address and IPs when re-created; a deleted pod takes its identity with it', async () => {
  await apps1.createNamespacedStatefulSet({
    namespace: apps,
    body: {
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db',
        replicas: 1,
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' }, annotations: { [NETWORKS_ANNOTATION]: 'net-a' } }, spec: podBody('db', 'net-a').spec! },
      },
    },
  });
  const before = await onNetwork('db-0', 90_000);
  const oldUid = (await cluster.core.readNamespacedPod({ namespace: apps, name: 'db-0' })).metadata!.uid!;
  await cluster.core.deleteNamespacedPod({ namespace: apps, name: 'db-0' });
  await eventually('db-0 re-created', async () => {
    const pod = await cluster.core.readNamespacedPod({ namespace: apps, name: 'db-0' });
    return pod.metadata!.uid !== oldUid && pod.status?.phase === 'Running';
  }, 90_000);
  const after = await onNetwork('db-0', 90_000);
  expect(after.address).toBe(before.address);
  expect(after.ips).toEqual(before.ips);
  await pingsWithin('alpha', ipv4(after));

  const beta = await cluster.core.readNamespacedPod({ namespace: apps, name: 'beta' });
  const secret = podIdentitySecretName(beta);
  await cluster.core.deleteNamespacedPod({ namespace: apps, name: 'beta' });
  await eventually(`Secret ${secret} deleted with its pod`, async () => {
    const secrets = await cluster.core.listNamespacedSecret({ namespace: cluster.namespace });
    return !secrets.items.some((s) => s.metadata?.name === secret);
  });
  await eventually('status counts the members left', async () => (await cluster.networkStatus(apps, 'net-a'))?.members?.authorized === 2);
});

test('an agent crash and a controller restart keep every address', async () => {
  const before = [await onNetwork('alpha'), await onNetwork('db-0')];
  await cluster.agent.stop('SIGKILL');
  cluster.startAgent();
  await cluster.controller.stop('SIGTERM');
  cluster.startController();
  // Re-attached by the new agent (the TAPs went with the old one) with the same identities.
  await pingsWithin('alpha', ipv4(before[1]!), 60_000);
  const after = [await onNetwork('alpha'), await onNetwork('db-0')];
  expect(after.map((e) => [e.address, e.ips])).toEqual(before.map((e) => [e.address, e.ips]));
  await cluster.core.createNamespacedPod({ namespace: apps, body: podBody('gamma', 'net-a') });
  const gamma = await onNetwork('gamma');
  expect(before.map(ipv4)).not.toContain(ipv4(gamma));
  await pingsWithin('gamma', ipv4(before[0]!));
});

test('thirty seconds without the apiserver lose nothing', async () => {
  const before = await onNetwork('alpha');
  await cluster.plane.apiserverOutage(30_000);
  expect(cluster.agent.child.exitCode).toBeNull();
  expect(cluster.controller.child.exitCode).toBeNull();
  await pingsWithin('alpha', ipv4(await onNetwork('gamma')));
  await cluster.core.createNamespacedPod({ namespace: apps, body: podBody('delta', 'net-a') });
  const delta = await onNetwork('delta', 90_000);
  await pingsWithin('delta', ipv4(before));
  expect((await onNetwork('alpha')).ips).toEqual(before.ips);
}, 240_000);

test('a bad annotation is a Warning Event and an Error entry, and the agent carries on', async () => {
  await cluster.core.createNamespacedPod({ namespace: apps, body: podBody('typo', 'net-a, Not A Network') });
  const entries = await eventually('typo has a status', () => cluster.podNetworks(apps, 'typo'));
  expect(entries.some((e) => e.status === 'Error' && e.error?.includes('Not A Network'))).toBe(true);
  const events = await eventually('a Warning Event on typo', async () => {
    const list = await cluster.core.listNamespacedEvent({ namespace: apps, fieldSelector: 'involvedObject.name=typo' });
    return list.items.some((e) => e.type === 'Warning') ? list.items : undefined;
  });
  expect(events.length).toBeGreaterThan(0);
  expect(cluster.agent.child.exitCode).toBeNull();
  await pingsWithin('alpha', ipv4(await onNetwork('delta')));
});

test('the agent runs with only NET_ADMIN, SYS_ADMIN and SYS_PTRACE, the controller with no capability, as their containers', async () => {
  const effective = async (pid: number) => BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]}`);
  const [NET_ADMIN, SYS_PTRACE, SYS_ADMIN] = [12n, 19n, 21n];
  expect(await effective(cluster.agent.pid)).toBe((1n << NET_ADMIN) | (1n << SYS_PTRACE) | (1n << SYS_ADMIN));
  expect(await effective(cluster.controller.pid)).toBe(0n);
});

test('no log line of either program holds a secret key', async () => {
  const secrets = await cluster.core.listNamespacedSecret({ namespace: cluster.namespace });
  const privateKeys = secrets.items
    .flatMap((s) => Object.values(s.data ?? {}))
    .map((b64) => Buffer.from(b64, 'base64').toString('utf8'))
    .flatMap((text) => [...text.matchAll(/:0:[0-9a-f]{128}:([0-9a-f]{128})/g)].map((m) => m[1]!));
  expect(privateKeys.length).toBeGreaterThan(2);
  const logs = [...cluster.agent.lines, ...cluster.controller.lines, ...output].join('\n');
  for (const key of privateKeys) expect(logs).not.toContain(key);
});

test("the DaemonSet's init container installs and chains ztkube-cni, the agent keeps it chained and unchains it when it stops", async () => {
  const spare = await cluster.addNode('ztes', '198.18.0.248/30', { underlay: false });
  const conflist = join(spare.rig.confDir, `${spare.rig.networkName}.conflist`);
  const plugins = () => (JSON.parse(readFileSync(conflist, 'utf8')) as { plugins: { type: string }[] }).plugins;
  expect(plugins()).toEqual([{ type: 'loopback' }, { type: 'ztkube-cni', socket: join(spare.dir, 'cni.sock'), timeoutSeconds: 30 }]);
  expect(statSync(join(spare.dir, 'cni-bin', 'ztkube-cni')).mode & 0o111).not.toBe(0);
  await spare.agent.waitForLog('agent ready', (l) => l.msg === 'ready');
  // The cluster's CNI rewrites its configuration: the agent chains again.
  writeFileSync(conflist, JSON.stringify({ cniVersion: '1.0.0', name: spare.rig.networkName, plugins: [{ type: 'loopback' }] }));
  await eventually('re-chained', async () => plugins().some((p) => p.type === 'ztkube-cni'), 30_000);
  expect(await spare.agent.stop()).toBe(0);
  expect(plugins().map((p) => p.type)).toEqual(['loopback']);
});
