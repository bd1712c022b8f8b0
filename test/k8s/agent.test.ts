// `ztkube agent` and `ztkube sidecar` as real processes against a real control plane, with the
// agent's own ServiceAccount bound by the chart's RBAC, and pods run by the rig kubelet (netns,
// pause process in its pod cgroup, CNI chain with ztkube-cni). Until the controller runs here, a
// stand-in plays its part in this process: a root and a network controller on one Dataplane in
// the host namespace on the rig bridge's gateway, the planet ConfigMap, each network's
// status.networkId, and every pod identity Secret's address authorised.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type V1Pod,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Dataplane } from '../../agent/dataplane/dataplane.js';
import {
  ADDRESS_LABEL,
  IDENTITY_SECRET_KEY,
  KIND_LABEL,
  NETWORK_STATUS_ANNOTATION,
  NETWORKS_ANNOTATION,
  PLANET_CONFIGMAP,
  mergePatch,
  PLANET_KEY,
  POD_IDENTITY_KIND,
  POD_UID_LABEL,
  podIdentitySecretName,
  type NetworkStatusEntry,
} from '../../agent/lib/kube.js';
import { MemoryStateStore } from '../../agent/lib/memory-state-store.js';
import { createWorld, identityGenerate, identityGetPublic } from '../../agent/lib/native.js';
import { managedNetworkId, managedNetworkRecord, memberRecord, type ZeroTierNetwork } from '../../agent/lib/network-spec.js';
import { StateObjectType, type StateId } from '../../agent/lib/node.js';
import { repoRoot } from '../helpers.js';
import { ControlPlane, toolsBin } from './control-plane.js';
import { chartRbac } from './ztkube-cluster.js';
import { ZtkubeProcess } from './ztkube-process.js';
import { leftovers, RigKubelet } from './kubelet.js';
import { eventually } from './eventually.js';

const ztkubeNamespace = 'ztkube-system';
const apps = 'zta-apps';
const other = 'zta-other';
const nodeName = 'zta-node';
const prefix = 'zta';
const subnet = '198.18.0.128/27';
// A second node whose CNI chain lacks ztkube-cni, with its own agent.
const plainNodeName = 'zta-node2';
const plainPrefix = 'zta2';
const plainSubnet = '198.18.0.160/27';
const ZERO: StateId = ['0000000000000000', '0000000000000000'];
const ztkubeCni = process.env.ZTKUBE_CNI ?? join(repoRoot, 'dist', 'bin', 'ztkube-cni');

const netA: ZeroTierNetwork = {
  apiVersion: 'ztkube.io/v1alpha1',
  kind: 'ZeroTierNetwork',
  metadata: { name: 'net-a', namespace: apps },
  spec: { managed: { ipv4: { pools: [{ start: '198.19.10.10', end: '198.19.10.250' }] }, routes: [{ target: '198.19.10.0/24' }] } },
};
const netB: ZeroTierNetwork = {
  ...netA,
  metadata: { name: 'net-b', namespace: apps },
  spec: { managed: { ipv4: { pools: [{ start: '198.19.12.10', end: '198.19.12.250' }] }, routes: [{ target: '198.19.12.0/24' }] } },
};
// Another namespace's network that does not admit pods of `apps`.
const closed: ZeroTierNetwork = {
  apiVersion: 'ztkube.io/v1alpha1',
  kind: 'ZeroTierNetwork',
  metadata: { name: 'closed', namespace: other },
  spec: { managed: { ipv4: { pools: [{ start: '198.19.11.10', end: '198.19.11.250' }] } }, allowedNamespaces: ['somewhere-else'] },
};

let plane: ControlPlane;
let core: CoreV1Api;
let rig: RigKubelet;
let plainRig: RigKubelet;
let standIn: StandInController;
let dir: string;
let agentKubeconfig: string;
const output: string[] = [];

let agent: ZtkubeProcess;
let plainAgent: ZtkubeProcess;

function startAgent(node = nodeName): ZtkubeProcess {
  return ZtkubeProcess.start([
    'agent',
    `--kubeconfig=${agentKubeconfig}`,
    `--namespace=${ztkubeNamespace}`,
    `--node-name=${node}`,
    `--cni-socket=${join(dir, node, 'cni.sock')}`,
    `--pod-records-dir=${join(dir, node, 'pods')}`,
    '--metrics-host=127.0.0.1',
    '--metrics-port=0',
    '--cni-wait=10',
  ], { onLine: collect });
}

const collect = (line: string) => void output.push(line);

/** A root and a network controller on the rig bridge's gateway (host namespace), publishing what
 * the controller will: the planet, each network's id, and every pod identity authorised. */
class StandInController {
  readonly networkIds = new Map<string, string>();
  private readonly authorised = new Set<string>();
  private timer?: NodeJS.Timeout;
  private controllerKey = 'infra/controller';

  private constructor(
    readonly dataplane: Dataplane,
    readonly planet: Buffer,
  ) {}

  static async start(gateway: string): Promise<StandInController> {
    const rootSecret = identityGenerate();
    const [, , publicKeyHex, privateKeyHex] = identityGenerate().split(':');
    const rootEndpoint = `${gateway}/19993`;
    const planet = createWorld(
      { type: 'planet', id: 0x7a6b7562, timestamp: Date.now(), roots: [{ identity: identityGetPublic(rootSecret), stableEndpoints: [rootEndpoint] }] },
      { publicKeyHex: publicKeyHex!, privateKeyHex: privateKeyHex! },
    );
    const dataplane = new Dataplane({ threads: 1, logger: pino({ level: 'warn' }) });
    const standIn = new StandInController(dataplane, planet);
    await dataplane.attach({
      key: 'infra/root',
      bind: rootEndpoint,
      rootMode: true,
      store: new MemoryStateStore([
        { type: StateObjectType.IdentitySecret, id: ZERO, data: Buffer.from(rootSecret) },
        { type: StateObjectType.Planet, id: ZERO, data: planet },
      ]),
    });
    return standIn;
  }

  async run(networks: ZeroTierNetwork[], gateway: string): Promise<void> {
    const controller = await this.dataplane.attach({
      key: this.controllerKey,
      bind: `${gateway}/19994`,
      store: new MemoryStateStore([{ type: StateObjectType.Planet, id: ZERO, data: this.planet }]),
      controller: { load: () => ({ networks: [], members: [] }), save: () => {} },
    });
    const custom = plane.kubeConfig.makeApiClient(CustomObjectsApi);
    for (const network of networks) {
      const id = managedNetworkId(controller.address, network);
      this.networkIds.set(`${network.metadata.namespace}/${network.metadata.name}`, id);
      await this.dataplane.setNetwork(this.controllerKey, managedNetworkRecord(id, network));
      await custom.patchNamespacedCustomObjectStatus(
        { group: 'ztkube.io', version: 'v1alpha1', plural: 'zerotiernetworks', namespace: network.metadata.namespace!, name: network.metadata.name, body: { status: { networkId: id } } },
        mergePatch,
      );
    }
    await core.createNamespacedConfigMap({
      namespace: ztkubeNamespace,
      body: { metadata: { name: PLANET_CONFIGMAP }, binaryData: { [PLANET_KEY]: this.planet.toString('base64') } },
    });
    const authorise = async () => {
      const secrets = await core.listSecretForAllNamespaces({ labelSelector: `${KIND_LABEL}=${POD_IDENTITY_KIND}` });
      for (const address of secrets.items.map((s) => s.metadata!.labels![ADDRESS_LABEL]!))
        if (!this.authorised.has(address)) {
          for (const id of this.networkIds.values()) await this.dataplane.setMember(this.controllerKey, memberRecord(id, address, true));
          this.authorised.add(address);
        }
    };
    this.timer = setInterval(() => void authorise().catch(() => undefined), 300);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.dataplane.close();
  }
}

function annotated(name: string, networks?: string, extra: Partial<V1Pod['metadata']> = {}): V1Pod {
  return {
    metadata: { name, namespace: apps, ...(networks ? { annotations: { [NETWORKS_ANNOTATION]: networks } } : {}), ...extra },
    spec: { nodeName, containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
  };
}

async function readPod(name: string, namespace = apps): Promise<V1Pod> {
  return core.readNamespacedPod({ namespace, name });
}

function statusOf(pod: V1Pod): NetworkStatusEntry[] | undefined {
  const value = pod.metadata?.annotations?.[NETWORK_STATUS_ANNOTATION];
  return value ? (JSON.parse(value) as NetworkStatusEntry[]) : undefined;
}

/** The pod's status entries once `accept` holds for them. */
async function waitStatus(name: string, accept: (entries: NetworkStatusEntry[]) => boolean, timeoutMs = 60_000): Promise<NetworkStatusEntry[]> {
  return eventually(`network status of ${name}`, async () => {
    const entries = statusOf(await readPod(name));
    return entries && accept(entries) ? entries : undefined;
  }, timeoutMs);
}

const onNetA = (entries: NetworkStatusEntry[]) => entries.length === 1 && entries[0]!.status === 'OK' && (entries[0]!.ips?.length ?? 0) > 0;

async function podIps(pod: V1Pod, iface: string, on = rig): Promise<string[]> {
  const { stdout } = await on.exec(pod, ['ip', '-j', '-4', 'addr', 'show', 'dev', iface]);
  const [link] = JSON.parse(stdout) as { addr_info: { local: string; prefixlen: number }[] }[];
  return link!.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
}

async function ping(from: V1Pod, ip: string): Promise<boolean> {
  return rig.exec(from, ['ping', '-c', '2', '-W', '2', ip.split('/')[0]!]).then(
    () => true,
    () => false,
  );
}

async function agentWrites(): Promise<{ verb: string; resource: string; name?: string; namespace?: string }[]> {
  return (await plane.writes()).filter((w) => w.user === `system:serviceaccount:${ztkubeNamespace}:ztkube-agent`);
}

async function metric(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

beforeAll(async () => {
  for (const tool of ['cnitool', 'bridge', 'host-local']) if (!existsSync(join(toolsBin, tool))) throw new Error(`${tool} missing: run scripts/tools.sh k8s`);
  if (!existsSync(ztkubeCni)) throw new Error(`${ztkubeCni} missing: npm run build:cni`);
  dir = await mkdtemp(join(tmpdir(), 'ztkube-agent-test-'));
  plane = await ControlPlane.start();
  core = plane.kubeConfig.makeApiClient(CoreV1Api);
  for (const name of [apps, other]) await core.createNamespace({ body: { metadata: { name } } });
  agentKubeconfig = (await plane.kubeconfigForServiceAccount(ztkubeNamespace, 'ztkube-agent')).kubeconfigPath;
  // The chart's RBAC, the sidecar's granted to the ServiceAccount the sidecar test runs with.
  await plane.apply(await chartRbac(ztkubeNamespace, [`sidecar.serviceAccounts[0].namespace=${apps}`, 'sidecar.serviceAccounts[0].name=zta-sidecar']));
  await plane.apply(readFileSync(join(repoRoot, 'charts/ztkube/crds/zerotiernetworks.ztkube.io.yaml'), 'utf8'));
  const custom = plane.kubeConfig.makeApiClient(CustomObjectsApi);
  for (const network of [netA, netB, closed])
    await custom.createNamespacedCustomObject({ group: 'ztkube.io', version: 'v1alpha1', plural: 'zerotiernetworks', namespace: network.metadata.namespace!, body: network });
  rig = await RigKubelet.start({ kubeConfig: plane.kubeConfig, nodeName, prefix, subnet, withZtkubeCni: true, cniSocket: join(dir, nodeName, 'cni.sock'), ztkubeCniPath: ztkubeCni,
    logger: pino({ base: { component: 'rig' } }, { write: (line: string) => void output.push(line.trimEnd()) }) });
  plainRig = await RigKubelet.start({ kubeConfig: plane.kubeConfig, nodeName: plainNodeName, prefix: plainPrefix, subnet: plainSubnet });
  standIn = await StandInController.start(rig.gateway);
  await standIn.run([netA, netB, closed], rig.gateway);
  agent = startAgent();
  plainAgent = startAgent(plainNodeName);
  for (const started of [agent, plainAgent]) {
    const url = await started.metricsUrl();
    await eventually('agent ready', async () => (await fetch(`${url}/readyz`)).status === 200, 60_000);
  }
}, 300_000);

afterAll(async () => {
  await agent?.stop();
  // The processes' logs, for a failure's post-mortem.
  if (process.env.ZTKUBE_TEST_LOG) writeFileSync(process.env.ZTKUBE_TEST_LOG, `${output.join('\n')}\n`);
  await plainAgent?.stop();
  await rig?.stop();
  await plainRig?.stop();
  await standIn?.close();
  await plane?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  expect([...(await leftovers(prefix)), ...(await leftovers(plainPrefix))]).toEqual([]);
}, 120_000);

describe('ztkube agent', () => {
  const seen = new Map<string, NetworkStatusEntry>();

  test('annotated pods get their ZeroTier interface and IPs, ping each other, and carry their network status', async () => {
    await core.createNamespacedPod({ namespace: apps, body: annotated('a1', 'net-a') });
    await core.createNamespacedPod({ namespace: apps, body: annotated('a2', 'net-a') });
    const [a1] = await waitStatus('a1', onNetA);
    const [a2] = await waitStatus('a2', onNetA);
    for (const [name, entry] of [['a1', a1!], ['a2', a2!]] as const) {
      const pod = await readPod(name);
      const secret = await core.readNamespacedSecret({ namespace: ztkubeNamespace, name: podIdentitySecretName(pod) });
      expect(entry).toMatchObject({ name: `${apps}/net-a`, networkId: standIn.networkIds.get(`${apps}/net-a`), status: 'OK', address: secret.metadata!.labels![ADDRESS_LABEL] });
      expect(entry.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      expect(entry.ips![0]).toMatch(/^198\.19\.10\.\d+\/24$/);
      expect(await podIps(pod, entry.interface!)).toEqual(entry.ips);
      seen.set(name, entry);
    }
    expect(await eventually('a1 pings a2', async () => ping(await readPod('a1'), a2!.ips![0]!), 30_000)).toBe(true);
    expect(await eventually('a2 pings a1', async () => ping(await readPod('a2'), a1!.ips![0]!), 30_000)).toBe(true);
    // The agent's API writes per pod: its identity Secret and its status annotation.
    const writes = await agentWrites();
    for (const name of ['a1', 'a2']) {
      const pod = await readPod(name);
      expect(writes.filter((w) => w.resource === 'secrets' && w.name === podIdentitySecretName(pod)).map((w) => w.verb)).toEqual(['create']);
      expect(writes.filter((w) => w.resource === 'pods' && w.name === name).length).toBeLessThanOrEqual(2);
    }
  });

  test('a deleted pod is detached and its identity Secret deleted', async () => {
    const url = await agent.metricsUrl();
    const a2 = await readPod('a2');
    expect(await metric(url, 'ztkube_pods_attached')).toBe(2);
    await core.deleteNamespacedPod({ namespace: apps, name: 'a2' });
    let left: V1Pod | undefined;
    await eventually('pod a2 gone', async () => readPod('a2').then((p) => ((left = p), false), () => true), 30_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(left?.metadata)}`);
    });
    await eventually('a2 detached', async () => (await metric(url, 'ztkube_pods_attached')) === 1, 30_000);
    await eventually('Secret of a2 deleted', async () =>
      core.readNamespacedSecret({ namespace: ztkubeNamespace, name: podIdentitySecretName(a2) }).then(
        () => false,
        (e: { code?: number }) => e.code === 404,
      ), 30_000);
    expect(agent.logs().some((l) => l.pod === `${apps}/a2` && l.msg === 'detached')).toBe(true);
    expect(existsSync(join(dir, nodeName, 'pods', `${a2.metadata!.uid}.json`))).toBe(false);
  });

  test('a pod bound to a node gets its identity before it runs, and loses it with the pod', async () => {
    // A node with an agent but no kubelet: the pod is bound there and never gets a sandbox.
    const ghost = startAgent('zta-ghost-node');
    try {
      const pod = await core.createNamespacedPod({
        namespace: apps,
        body: { ...annotated('unstarted', 'net-a'), spec: { nodeName: 'zta-ghost-node', containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] } },
      });
      const secret = await eventually('identity Secret of the unstarted pod', () =>
        core.readNamespacedSecret({ namespace: ztkubeNamespace, name: podIdentitySecretName(pod) }).catch(() => undefined), 30_000);
      expect(secret.metadata!.labels![POD_UID_LABEL]).toBe(pod.metadata!.uid);
      expect((await readPod('unstarted')).status?.phase).toBe('Pending');
      await core.deleteNamespacedPod({ namespace: apps, name: 'unstarted', body: { gracePeriodSeconds: 0 } });
      await eventually('Secret of the unstarted pod deleted', async () =>
        core.readNamespacedSecret({ namespace: ztkubeNamespace, name: podIdentitySecretName(pod) }).then(
          () => false,
          (e: { code?: number }) => e.code === 404,
        ), 30_000);
    } finally {
      await ghost.stop();
    }
  });

  test('a StatefulSet pod keeps its address and IPs when re-created', async () => {
    const appsApi = plane.kubeConfig.makeApiClient(AppsV1Api);
    const template = annotated('db', 'net-a');
    await appsApi.createNamespacedStatefulSet({
      namespace: apps,
      body: {
        metadata: { name: 'db' },
        spec: {
          serviceName: 'db',
          replicas: 1,
          selector: { matchLabels: { app: 'db' } },
          template: { metadata: { labels: { app: 'db' }, annotations: template.metadata!.annotations }, spec: template.spec! },
        },
      },
    });
    const [first] = await waitStatus('db-0', onNetA, 90_000);
    const uid = (await readPod('db-0')).metadata!.uid;
    await core.deleteNamespacedPod({ namespace: apps, name: 'db-0' });
    const [second] = await eventually('db-0 re-created and on net-a', async () => {
      const pod = await readPod('db-0');
      const entries = statusOf(pod);
      return pod.metadata!.uid !== uid && entries && onNetA(entries) && podIps(pod, entries[0]!.interface!).then((ips) => ips.length > 0 && entries);
    }, 90_000);
    expect(second!.address).toBe(first!.address);
    expect(second!.ips).toEqual(first!.ips);
    seen.set('db-0', second!);
  });

  test('a bad annotation gives a Warning Event and an Error entry; the agent stays healthy', async () => {
    await core.createNamespacedPod({ namespace: apps, body: annotated('bad', 'net-a/x/y') });
    const [entry] = await waitStatus('bad', (e) => e[0]?.status === 'Error');
    expect(entry!.error).toMatch(/net-a\/x\/y/);
    const pod = await readPod('bad');
    const events = await eventually('Warning Event on bad', async () => {
      const list = await core.listNamespacedEvent({ namespace: apps, fieldSelector: `involvedObject.uid=${pod.metadata!.uid}` });
      return list.items.length > 0 ? list.items : undefined;
    }, 30_000);
    expect(events[0]).toMatchObject({ type: 'Warning', reason: 'BadNetworkAnnotation' });
    expect((await fetch(`${await agent.metricsUrl()}/healthz`)).status).toBe(200);
    expect(agent.child.exitCode).toBeNull();
  });

  test('a network of another namespace that does not admit the pod gives an Error entry', async () => {
    await core.createNamespacedPod({ namespace: apps, body: annotated('nosy', `${other}/closed, net-a`) });
    const entries = await waitStatus('nosy', (e) => e.length === 2 && e[1]!.status === 'OK' && (e[1]!.ips?.length ?? 0) > 0);
    expect(entries[0]).toMatchObject({ name: `${other}/closed`, status: 'Error' });
    expect(entries[0]!.error).toMatch(/does not allow pods of namespace zta-apps/);
  });

  test('a pod annotated after it started is found from its processes (no CNI record)', async () => {
    await core.createNamespacedPod({ namespace: apps, body: annotated('late') });
    await eventually('late running', async () => (await readPod('late')).status?.phase === 'Running', 60_000);
    await core.patchNamespacedPod({ namespace: apps, name: 'late', body: { metadata: { annotations: { [NETWORKS_ANNOTATION]: 'net-a' } } } }, mergePatch);
    const [entry] = await waitStatus('late', onNetA);
    const pod = await readPod('late');
    expect(await podIps(pod, entry!.interface!)).toEqual(entry!.ips);
    expect(existsSync(join(dir, nodeName, 'pods', `${pod.metadata!.uid}.json`))).toBe(false);
    expect(await eventually('late pings a1', async () => ping(pod, seen.get('a1')!.ips![0]!), 30_000)).toBe(true);
    seen.set('late', entry!);
  });

  test('on a node without ztkube-cni, a pod annotated from the start is attached once it runs', async () => {
    await core.createNamespacedPod({ namespace: apps, body: { ...annotated('plain', 'net-a'), spec: { ...annotated('plain').spec!, nodeName: plainNodeName } } });
    const pod = await eventually('plain running', async () => {
      const current = await readPod('plain');
      return current.status?.phase === 'Running' && current;
    }, 60_000);
    // The stand-in root listens on the other bridge's gateway: a route there, as a cluster's pod network gives.
    await plainRig.exec(pod, ['ip', 'route', 'add', subnet, 'via', plainRig.gateway]);
    const [entry] = await waitStatus('plain', onNetA);
    expect(await podIps(pod, entry!.interface!, plainRig)).toEqual(entry!.ips);
    expect(existsSync(join(dir, plainNodeName, 'pods', `${pod.metadata!.uid}.json`))).toBe(false);
    expect(plainAgent.logs().some((l) => l.pod === `${apps}/plain` && l.msg === 'pod attached' && String(l.netns).startsWith('/proc/'))).toBe(true);
  });

  test('editing the annotation joins and leaves networks', async () => {
    const pod = await readPod('late');
    const setNetworks = (networks: string) =>
      core.patchNamespacedPod({ namespace: apps, name: 'late', body: { metadata: { annotations: { [NETWORKS_ANNOTATION]: networks } } } }, mergePatch);
    await setNetworks('net-a, net-b');
    const both = await waitStatus('late', (e) => e.length === 2 && e.every((n) => n.status === 'OK' && (n.ips?.length ?? 0) > 0));
    expect(both.map((e) => e.name)).toEqual([`${apps}/net-a`, `${apps}/net-b`]);
    expect(both[0]).toEqual(seen.get('late'));
    expect(both[1]!.ips![0]).toMatch(/^198\.19\.12\.\d+\/24$/);
    expect(await podIps(pod, both[1]!.interface!)).toEqual(both[1]!.ips);
    await setNetworks('net-a');
    await waitStatus('late', (e) => e.length === 1);
    await eventually('net-b interface gone', async () => rig.exec(pod, ['ip', 'link', 'show', 'dev', both[1]!.interface!]).then(() => false, () => true), 30_000);
    expect(await podIps(pod, seen.get('late')!.interface!)).toEqual(seen.get('late')!.ips);
  });

  test('an agent restart re-attaches every pod with the same addresses', async () => {
    expect(await agent.stop()).toBe(0);
    const a1 = await readPod('a1');
    // Stopping took the TAPs away.
    await expect(rig.exec(a1, ['ip', 'link', 'show', 'dev', seen.get('a1')!.interface!])).rejects.toThrow();
    agent = startAgent();
    for (const name of ['a1', 'db-0', 'late']) {
      const pod = await readPod(name);
      const before = seen.get(name)!;
      await eventually(`${name} re-attached`, async () => (await podIps(pod, before.interface!)).length > 0, 60_000);
      expect(await podIps(pod, before.interface!)).toEqual(before.ips);
      expect(statusOf(await readPod(name))![0]).toMatchObject({ address: before.address, ips: before.ips });
    }
    expect(await eventually('a1 pings late', async () => ping(a1, seen.get('late')!.ips![0]!), 30_000)).toBe(true);
  });

  test('ztkube sidecar attaches its own pod in its own namespace and writes its status', async () => {
    await core.createNamespacedPod({ namespace: apps, body: annotated('side') });
    await eventually('side running', async () => (await readPod('side')).status?.phase === 'Running', 60_000);
    expect(await agent.stop()).toBe(0);
    await core.patchNamespacedPod({ namespace: apps, name: 'side', body: { metadata: { annotations: { [NETWORKS_ANNOTATION]: 'net-a' } } } }, mergePatch);
    const pod = await readPod('side');
    const relay = await apiserverRelay();
    const kubeconfig = await sidecarKubeconfig(relay.server);
    const sidecar = ZtkubeProcess.start(['sidecar', `--kubeconfig=${kubeconfig}`, `--namespace=${ztkubeNamespace}`, '--metrics-host=127.0.0.1', '--metrics-port=0'], {
      netns: rig.netnsName(pod.metadata!.uid!),
      env: { POD_NAMESPACE: apps, POD_NAME: 'side', POD_UID: pod.metadata!.uid! },
      onLine: collect,
    });
    try {
      const [entry] = await waitStatus('side', onNetA);
      const secret = await core.readNamespacedSecret({ namespace: apps, name: podIdentitySecretName(pod) });
      expect(entry!.address).toBe(secret.metadata!.labels![ADDRESS_LABEL]);
      expect(await podIps(pod, entry!.interface!)).toEqual(entry!.ips);
    } finally {
      relay.close();
      expect(await sidecar.stop()).toBe(0);
    }
  });

  test('no log line holds a secret identity', async () => {
    const secrets = await core.listSecretForAllNamespaces({ labelSelector: `${KIND_LABEL}=${POD_IDENTITY_KIND}` });
    const privateKeys = secrets.items.map((s) => Buffer.from(s.data![IDENTITY_SECRET_KEY]!, 'base64').toString('utf8').split(':')[3]!);
    expect(privateKeys.length).toBeGreaterThan(3);
    expect(output.length).toBeGreaterThan(20);
    for (const key of privateKeys) expect(output.filter((line) => line.includes(key))).toEqual([]);
  });
});

/** The apiserver (on the host's loopback) as a pod sees it: a TCP relay on the rig bridge's
 * gateway. The serving certificate names localhost, which the kubeconfig asks for. */
async function apiserverRelay(): Promise<{ server: string; close(): void }> {
  const target = new URL(plane.server);
  const relay = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    client.pipe(upstream).pipe(client);
    const end = () => (client.destroy(), upstream.destroy());
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => relay.listen(0, rig.gateway, resolve));
  return { server: `https://${rig.gateway}:${(relay.address() as AddressInfo).port}`, close: () => relay.close() };
}

/** The sidecar's ServiceAccount in the pods' namespace (bound by the chart's sidecar RBAC),
 * reaching the apiserver at `server`. */
async function sidecarKubeconfig(server: string): Promise<string> {
  const { kubeconfigPath } = await plane.kubeconfigForServiceAccount(apps, 'zta-sidecar');
  const config = JSON.parse(readFileSync(kubeconfigPath, 'utf8')) as { clusters: { cluster: Record<string, string> }[] };
  Object.assign(config.clusters[0]!.cluster, { server, 'tls-server-name': 'localhost' });
  writeFileSync(kubeconfigPath, JSON.stringify(config));
  return kubeconfigPath;
}
