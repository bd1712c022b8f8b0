// `ztkube controller` against a real control plane, as a child process with the ServiceAccount and
// RBAC of charts/ztkube: it leads, runs the root and the controller node in this (host) network
// namespace, and reconciles ZeroTierNetworks. Pods are real Pod objects (never scheduled: no
// kubelet, membership does not need one) whose identity Secrets the test writes the way the agent
// does, and whose nodes are real nodes in namespaces of the test (on a bridge on 198.18.0.64/26)
// that join and get their config from the controller.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type V1ConfigMap,
  type V1Pod,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Dataplane, type PodNetwork } from '../../agent/dataplane/dataplane.js';
import {
  ADDRESS_LABEL,
  API_GROUP,
  API_VERSION,
  IDENTITY_PUBLIC_KEY,
  IDENTITY_SECRET_KEY,
  IDENTITY_SECRET_TYPE,
  KIND_LABEL,
  LEADER_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  NETWORK_PLURAL,
  NETWORKS_ANNOTATION,
  PLANET_CONFIGMAP,
  PLANET_KEY,
  POD_IDENTITY_KIND,
  POD_NAME_LABEL,
  POD_NAMESPACE_LABEL,
  POD_UID_LABEL,
  podIdentitySecretName,
} from '../../agent/lib/kube.js';
import { describeWorld, identityGenerate, identityGetPublic } from '../../agent/lib/native.js';
import { StateObjectType } from '../../agent/lib/node.js';
import { newIdentityData, SecretStateStore } from '../../agent/lib/secret-state-store.js';
import type { NetworkObject } from '../../agent/controller/status.js';
import { repoRoot } from '../helpers.js';
import { ControlPlane, toolsBin } from './control-plane.js';
import { eventually } from './eventually.js';

const NS = 'ztkube-system';
const BRIDGE = 'ztm-br';
const HOST_IP = '198.18.0.65';
const dir = mkdtempSync(join(tmpdir(), 'ztkube-controller-test-'));
const log = pino({ level: 'warn' }, pino.destination(join(dir, 'members.log')));

let plane: ControlPlane;
let core: CoreV1Api;
let objects: CustomObjectsApi;
let saKubeconfig: string;
let members: Dataplane;
let rootPort: number;
let controllerPort: number;
const namespaces: string[] = [];
const controllers: Controller[] = [];

// ---- the controller process

interface Controller {
  child: ChildProcess;
  logPath: string;
  metricsUrl: string;
  exited: Promise<number | null>;
}

async function startController(name: string, env: Record<string, string> = {}): Promise<Controller> {
  const metricsPort = await freeTcpPort();
  const logPath = join(dir, `${name}.log`);
  const logFd = openSync(logPath, 'a');
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'bin', 'ztkube.js'), 'controller', '--kubeconfig', saKubeconfig, '--namespace', NS,
      '--root-endpoint', `${HOST_IP}/${rootPort}`, '--root-bind', `0.0.0.0/${rootPort}`,
      '--controller-bind', `0.0.0.0/${controllerPort}`, '--metrics-port', String(metricsPort),
    ],
    { stdio: ['ignore', 'ignore', logFd], env: { ...process.env, ...env } },
  );
  closeSync(logFd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const controller = { child, logPath, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, exited };
  controllers.push(controller);
  return controller;
}

async function stopController(controller: Controller, signal: NodeJS.Signals): Promise<number | null> {
  controller.child.kill(signal);
  return controller.exited;
}

async function leaderGauge(controller: Controller): Promise<number | undefined> {
  try {
    const text = await (await fetch(controller.metricsUrl)).text();
    return Number(/^ztkube_controller_leader (\S+)$/m.exec(text)?.[1]);
  } catch {
    return undefined;
  }
}

/** ztkube_controller_members{network="apps/net-a",state="authorized"}: updated by every pass. */
async function authorisedGauge(controller: Controller): Promise<number | undefined> {
  const text = await (await fetch(controller.metricsUrl)).text();
  const value = /^ztkube_controller_members\{network="apps\/net-a",state="authorized"\} (\S+)$/m.exec(text)?.[1];
  return value === undefined ? undefined : Number(value);
}

function logTail(controller: Controller | undefined): string {
  if (!controller) return '';
  try {
    return readFileSync(controller.logPath, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

// ---- ports and the members' namespaces

async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '0.0.0.0', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function removeNetworking(): void {
  for (const name of [...namespaces, ...execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!)])
    if (name.startsWith('ztm-')) {
      try {
        ip('netns', 'del', name);
      } catch {
        // already gone
      }
    }
  try {
    ip('link', 'del', BRIDGE);
  } catch {
    // already gone
  }
}

/** A namespace for a member's node on the bridge (198.18.0.66 and up). */
function memberNamespace(): { path: string; ip: string } {
  const index = namespaces.length + 1;
  const name = `ztm-p${index}`;
  const address = `198.18.0.${65 + index}`;
  ip('netns', 'add', name);
  namespaces.push(name);
  ip('link', 'add', `ztm-v${index}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name);
  ip('link', 'set', `ztm-v${index}`, 'master', BRIDGE, 'up');
  ip('-n', name, 'link', 'set', 'lo', 'up');
  ip('-n', name, 'addr', 'add', `${address}/26`, 'dev', 'eth0');
  ip('-n', name, 'link', 'set', 'eth0', 'up');
  return { path: `/var/run/netns/${name}`, ip: address };
}

// ---- cluster objects

function network(namespace: string, name: string, spec: Record<string, unknown>) {
  return { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'ZeroTierNetwork', metadata: { name, namespace }, spec };
}

const networkApi = (namespace: string) => ({ group: API_GROUP, version: API_VERSION, namespace, plural: NETWORK_PLURAL });

async function readNetwork(namespace: string, name: string): Promise<NetworkObject> {
  return (await objects.getNamespacedCustomObject({ ...networkApi(namespace), name })) as NetworkObject;
}

async function readyNetwork(namespace: string, name: string): Promise<NetworkObject> {
  return eventually(`${namespace}/${name} Ready`, async () => {
    const current = await readNetwork(namespace, name);
    const ready = current.status?.conditions?.find((c) => c.type === 'Ready');
    return ready?.status === 'True' && current.status?.networkId ? current : undefined;
  });
}

async function ensureNamespace(name: string): Promise<void> {
  try {
    await core.createNamespace({ body: { metadata: { name } } });
  } catch (e) {
    if (!(e instanceof ApiException && e.code === 409)) throw e;
  }
  await eventually(`ServiceAccount default in ${name}`, () => core.readNamespacedServiceAccount({ namespace: name, name: 'default' }));
}

interface MemberPod {
  pod: V1Pod;
  key: string;
  secretName: string;
  address: string;
}

/** The identity Secret an agent writes for a pod; returns the identity's address. */
async function identitySecret(secretName: string, pod: { namespace: string; name: string; uid: string }): Promise<string> {
  const data = await newIdentityData();
  const address = data[IDENTITY_PUBLIC_KEY]!.toString('utf8').slice(0, 10);
  await core.createNamespacedSecret({
    namespace: NS,
    body: {
      metadata: {
        name: secretName,
        labels: {
          [MANAGED_BY_LABEL]: MANAGED_BY,
          [KIND_LABEL]: POD_IDENTITY_KIND,
          [POD_NAMESPACE_LABEL]: pod.namespace,
          [POD_NAME_LABEL]: pod.name,
          [POD_UID_LABEL]: pod.uid,
          [ADDRESS_LABEL]: address,
        },
      },
      type: IDENTITY_SECRET_TYPE,
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('base64')])),
    },
  });
  return address;
}

/** A Pod asking for `networks`, and the identity Secret its agent would write. */
async function podWithIdentity(namespace: string, name: string, networks: string): Promise<MemberPod> {
  const pod = await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, annotations: { [NETWORKS_ANNOTATION]: networks } },
      spec: { containers: [{ name: 'main', image: 'example.invalid/none' }] },
    },
  });
  const secretName = podIdentitySecretName(pod);
  const address = await identitySecret(secretName, { namespace, name, uid: pod.metadata!.uid! });
  return { pod, key: `${namespace}/${name}`, secretName, address };
}

/** The identity Secret of StatefulSet `statefulSet`'s first pod, which does not exist now. */
async function statefulSetIdentity(namespace: string, statefulSet: string): Promise<string> {
  const name = `${statefulSet}-0`;
  const secretName = podIdentitySecretName({
    metadata: { namespace, name, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: statefulSet, uid: 'x', controller: true }] },
  });
  await identitySecret(secretName, { namespace, name, uid: 'a-former-incarnation' });
  return secretName;
}

async function planet(): Promise<Buffer> {
  const configMap = await core.readNamespacedConfigMap({ namespace: NS, name: PLANET_CONFIGMAP });
  return Buffer.from(configMap.binaryData![PLANET_KEY]!, 'base64');
}

/** The member's node, in its own namespace, with its identity from its Secret, joining `networkId`. */
async function attachNode(member: MemberPod, networkId: string): Promise<void> {
  const namespace = memberNamespace();
  await members.attach({
    key: member.key,
    netns: namespace.path,
    bind: `${namespace.ip}/9993`,
    networks: [networkId],
    store: new SecretStateStore(core, NS, member.secretName, { planet: await planet() }),
  });
}

function nodeNetwork(member: MemberPod, networkId: string): PodNetwork | undefined {
  return members.networks(member.key).find((n) => n.networkId === networkId);
}

async function nodeStatus(member: MemberPod, networkId: string, status: string, timeoutMs = 30_000): Promise<PodNetwork> {
  return eventually(`${member.key} ${status} on ${networkId}`, () => {
    const current = nodeNetwork(member, networkId);
    return current?.config.status === status ? current : undefined;
  }, timeoutMs);
}

async function memberRecords(networkId: string, address: string): Promise<Record<string, unknown> | undefined> {
  try {
    const configMap: V1ConfigMap = await core.readNamespacedConfigMap({ namespace: NS, name: `ztkube-net-${networkId}-m${address[0]}` });
    const text = configMap.data?.[address];
    return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch (e) {
    if (e instanceof ApiException && e.code === 404) return undefined;
    throw e;
  }
}

beforeAll(async () => {
  removeNetworking();
  ip('link', 'add', BRIDGE, 'type', 'bridge');
  // A MAC of its own, so it does not follow the lowest port MAC as members come and go.
  ip('link', 'set', BRIDGE, 'address', readFileSync(`/sys/class/net/${BRIDGE}/address`, 'utf8').trim());
  ip('addr', 'add', `${HOST_IP}/26`, 'dev', BRIDGE);
  ip('link', 'set', BRIDGE, 'up');
  [rootPort, controllerPort] = [await freeUdpPort(), await freeUdpPort()];
  members = new Dataplane({ threads: 1, logger: log });
  plane = await ControlPlane.start();
  core = plane.kubeConfig.makeApiClient(CoreV1Api);
  objects = plane.kubeConfig.makeApiClient(CustomObjectsApi);
  await plane.apply(readFileSync(join(repoRoot, 'charts/ztkube/crds/zerotiernetworks.ztkube.io.yaml'), 'utf8'));
  await ensureNamespace(NS);
  const rbac = execFileSync(join(toolsBin, 'helm'), ['template', 'ztkube', join(repoRoot, 'charts/ztkube'), '--namespace', NS, '--show-only', 'templates/controller-rbac.yaml'], { encoding: 'utf8' });
  await plane.apply(rbac);
  saKubeconfig = (await plane.kubeconfigForServiceAccount(NS, 'ztkube-controller')).kubeconfigPath;
});

afterAll(async () => {
  for (const controller of controllers) if (controller.child.exitCode === null && controller.child.signalCode === null) controller.child.kill('SIGKILL');
  await Promise.all(controllers.map((c) => c.exited));
  await members?.close();
  await plane?.stop();
  removeNetworking();
  rmSync(dir, { recursive: true, force: true });
});

describe('SecretStateStore', () => {
  test('keeps only the identity, creates its Secret at the first write and skips unchanged writes', async () => {
    const name = 'ztkube-store-test';
    const ZERO = ['0000000000000000', '0000000000000000'] as const;
    const published = Buffer.from('the published planet');
    const store = new SecretStateStore(core, NS, name, { labels: { [MANAGED_BY_LABEL]: MANAGED_BY }, planet: published });
    expect(await store.load()).toEqual([{ type: StateObjectType.Planet, id: ZERO, data: published }]);
    const secret = identityGenerate();
    await store.put(StateObjectType.IdentitySecret, ZERO, Buffer.from(secret));
    await store.put(StateObjectType.IdentityPublic, ZERO, Buffer.from(identityGetPublic(secret)));
    await store.put(StateObjectType.Peer, ['0123456789', '0'], Buffer.from('a peer'));
    await store.put(StateObjectType.NetworkConfig, ['0123456789abcdef', '0'], Buffer.from('a config'));
    await store.put(StateObjectType.Planet, ZERO, Buffer.from('a newer planet'));
    const written = await core.readNamespacedSecret({ namespace: NS, name });
    expect(written.type).toBe(IDENTITY_SECRET_TYPE);
    expect(written.metadata?.labels).toEqual({ [MANAGED_BY_LABEL]: MANAGED_BY });
    expect(Object.keys(written.data ?? {}).sort()).toEqual([IDENTITY_PUBLIC_KEY, IDENTITY_SECRET_KEY]);
    await store.put(StateObjectType.IdentitySecret, ZERO, Buffer.from(secret));
    expect((await core.readNamespacedSecret({ namespace: NS, name })).metadata?.resourceVersion).toBe(written.metadata?.resourceVersion);
    const reloaded = await new SecretStateStore(core, NS, name, { planet: published }).load();
    expect(reloaded.map((e) => [e.type, e.data.toString()])).toEqual([
      [StateObjectType.IdentitySecret, secret],
      [StateObjectType.IdentityPublic, identityGetPublic(secret)],
      [StateObjectType.Planet, published.toString()],
    ]);
    await core.deleteNamespacedSecret({ namespace: NS, name });
  });
});

describe('ztkube controller', () => {
  let controller: Controller;
  let netA: NetworkObject;
  let podA: MemberPod;
  let podB: MemberPod;
  let orphanSecret: string;
  let orphanStatefulSetSecret: string;
  let statefulSetSecret: string;
  let podCDenied: Promise<unknown>;

  test('leads, publishes the planet and runs a managed network: Ready with its id', async () => {
    await ensureNamespace('apps');
    // An identity nobody owns: collected once older than the grace period (checked last).
    orphanSecret = (await podWithIdentity('apps', 'short-lived', 'net-a')).secretName;
    await core.deleteNamespacedPod({ namespace: 'apps', name: 'short-lived' });
    orphanStatefulSetSecret = await statefulSetIdentity('apps', 'gone');
    await plane.kubeConfig.makeApiClient(AppsV1Api).createNamespacedStatefulSet({
      namespace: 'apps',
      body: {
        metadata: { name: 'db' },
        spec: {
          replicas: 0,
          serviceName: 'db',
          selector: { matchLabels: { app: 'db' } },
          template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'main', image: 'example.invalid/none' }] } },
        },
      },
    });
    statefulSetSecret = await statefulSetIdentity('apps', 'db');

    controller = await startController('controller-1');
    await objects.createNamespacedCustomObject({
      ...networkApi('apps'),
      body: network('apps', 'net-a', { managed: { ipv4: { pools: [{ start: '198.19.0.10', end: '198.19.0.250' }] }, routes: [{ target: '198.19.0.0/16' }] } }),
    });
    netA = await readyNetwork('apps', 'net-a');
    const id = netA.status!.networkId!;
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(netA.status!.conditions![0]).toMatchObject({ reason: 'NetworkConfigured', observedGeneration: 1 });

    const world = describeWorld(await planet());
    expect(world.type).toBe('planet');
    expect(world.roots).toHaveLength(1);
    expect(world.roots[0]!.stableEndpoints).toEqual([`${HOST_IP}/${rootPort}`]);
    // Derivable from the spec, so written with the next durable change or within 10 s.
    const record = await eventually('network record ConfigMap', () => core.readNamespacedConfigMap({ namespace: NS, name: `ztkube-net-${id}` }));
    expect(JSON.parse(record.data!.network!)).toMatchObject({ id, private: true });
    const eventsOfNetA = async () =>
      (await core.listNamespacedEvent({ namespace: 'apps' })).items.filter((e) => e.involvedObject.name === 'net-a').map((e) => e.reason);
    expect(await eventually('an Event on net-a', async () => ((await eventsOfNetA()).length > 0 ? eventsOfNetA() : undefined))).toEqual(['NetworkConfigured']);
    const metrics = await (await fetch(controller.metricsUrl)).text();
    expect(metrics).toMatch(/^ztkube_controller_reconciles_total\{result="success"\} [1-9]/m);
    expect(metrics).toMatch(/^ztkube_controller_leader 1$/m);
  });

  test('authorises an annotated pod with an identity: its node gets an address from the pool', async () => {
    const id = netA.status!.networkId!;
    podA = await podWithIdentity('apps', 'pod-a', 'net-a');
    await attachNode(podA, id);
    const joined = await nodeStatus(podA, id, 'OK');
    expect(joined.config.assignedAddresses.some((a) => /^198\.19\.0\.\d+\/16$/.test(a))).toBe(true);
    const status = await eventually('pod-a in the member list', async () => {
      const current = await readNetwork('apps', 'net-a');
      return current.status?.memberList?.find((m) => m.address === podA.address && m.ips.length > 0) ? current.status : undefined;
    });
    expect(status.memberList!.find((m) => m.address === podA.address)).toMatchObject({ pod: 'apps/pod-a', state: 'Online' });
    expect(status.members).toMatchObject({ total: 1, authorized: 1, online: 1 });
    const metrics = await (await fetch(controller.metricsUrl)).text();
    expect(metrics).toMatch(/^ztkube_controller_members\{network="apps\/net-a",state="online"\} 1$/m);
  });

  test('a pod of a namespace the network does not admit is not authorised until it is admitted', async () => {
    const id = netA.status!.networkId!;
    await ensureNamespace('other');
    podB = await podWithIdentity('other', 'pod-b', 'apps/net-a');
    await attachNode(podB, id);
    await nodeStatus(podB, id, 'ACCESS_DENIED');
    expect((await memberRecords(id, podB.address))?.authorized).not.toBe(true);
    await objects.patchNamespacedCustomObject(
      { ...networkApi('apps'), name: 'net-a', body: [{ op: 'add', path: '/spec/allowedNamespaces', value: ['other'] }] },
    );
    await nodeStatus(podB, id, 'OK');
  });

  test('a deleted pod is deauthorised at once; its record goes with its Secret', async () => {
    const id = netA.status!.networkId!;
    const podC = await podWithIdentity('apps', 'pod-c', 'net-a');
    await attachNode(podC, id);
    await nodeStatus(podC, id, 'OK');
    await eventually('3 members authorised', async () => (await authorisedGauge(controller)) === 3);
    await core.deleteNamespacedPod({ namespace: 'apps', name: 'pod-c', gracePeriodSeconds: 0 });
    // At once in the controller; its record (derivable from the cluster) is written within 10 s.
    await eventually('pod-c deauthorised', async () => (await authorisedGauge(controller)) === 2, 3_000);
    await eventually('record of pod-c deauthorised', async () => (await memberRecords(id, podC.address))?.authorized === false, 15_000);
    // Kept while its Secret exists: a StatefulSet pod would come back to the same addresses.
    expect(((await memberRecords(id, podC.address))?.ipAssignments as string[]).length).toBeGreaterThan(0);
    // The node itself hears it at its next config request (a configured node asks every 60 s).
    podCDenied = nodeStatus(podC, id, 'ACCESS_DENIED', 90_000).then(() => undefined, (e: unknown) => e);

    const podE = await podWithIdentity('apps', 'pod-e', 'net-a');
    await eventually('record of pod-e authorised', async () => (await memberRecords(id, podE.address))?.authorized === true);
    await core.deleteNamespacedPod({ namespace: 'apps', name: 'pod-e', gracePeriodSeconds: 0 });
    await core.deleteNamespacedSecret({ namespace: NS, name: podE.secretName });
    await eventually('record of pod-e deleted', async () => (await memberRecords(id, podE.address)) === undefined);
    await eventually('pod-e out of the member list', async () =>
      (await readNetwork('apps', 'net-a')).status?.memberList?.every((m) => m.address !== podE.address));
  });

  test('a spec the controller refuses is Ready False InvalidSpec, with its message', async () => {
    await objects.createNamespacedCustomObject({
      ...networkApi('apps'),
      body: network('apps', 'net-bad', { managed: { ipv4: { pools: [{ start: '300.0.0.1', end: '300.0.0.9' }] } } }),
    });
    const ready = await eventually('net-bad InvalidSpec', async () =>
      (await readNetwork('apps', 'net-bad')).status?.conditions?.find((c) => c.type === 'Ready' && c.reason === 'InvalidSpec'));
    expect(ready.status).toBe('False');
    expect(ready.message).toMatch(/ipAssignmentPools|ipRange/);
    await eventually('a Warning Event InvalidSpec on net-bad', async () =>
      (await core.listNamespacedEvent({ namespace: 'apps' })).items.some((e) => e.involvedObject.name === 'net-bad' && e.reason === 'InvalidSpec' && e.type === 'Warning'),
    );
    expect(controller.child.exitCode).toBeNull();
  });

  test('a restart keeps the network id and every address; a new member gets a new one', async () => {
    const id = netA.status!.networkId!;
    const before = await memberRecords(id, podA.address);
    expect(await stopController(controller, 'SIGTERM')).toBe(0);
    const lease = await plane.kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: NS, name: 'ztkube-controller' });
    expect(lease.spec?.holderIdentity).toBeFalsy();

    controller = await startController('controller-2');
    await eventually('controller-2 leads', async () => (await leaderGauge(controller)) === 1);
    expect((await readyNetwork('apps', 'net-a')).status!.networkId).toBe(id);
    expect((await memberRecords(id, podA.address))?.ipAssignments).toEqual(before!.ipAssignments);
    const podD = await podWithIdentity('apps', 'pod-d', 'net-a');
    await attachNode(podD, id);
    const joined = await nodeStatus(podD, id, 'OK');
    const ipsOf = (n: PodNetwork) => n.config.assignedAddresses;
    expect(ipsOf(joined)).not.toEqual(ipsOf(nodeNetwork(podA, id)!));
    expect(ipsOf(nodeNetwork(podA, id)!).map((a) => a.split('/')[0])).toEqual(before!.ipAssignments);
  });

  test('leader election: one of two leads and labels its pod; the other takes over when it dies', async () => {
    for (const name of ['ctl-a', 'ctl-b'])
      await core.createNamespacedPod({ namespace: NS, body: { metadata: { name }, spec: { containers: [{ name: 'main', image: 'example.invalid/none' }] } } });
    await stopController(controller, 'SIGTERM');
    const a = await startController('controller-a', { POD_NAME: 'ctl-a' });
    await eventually('ctl-a leads', async () => (await leaderGauge(a)) === 1);
    const b = await startController('controller-b', { POD_NAME: 'ctl-b' });
    await eventually('ctl-b up as a candidate', async () => (await leaderGauge(b)) === 0);
    const labelled = async () =>
      (await core.listNamespacedPod({ namespace: NS, labelSelector: `${LEADER_LABEL}=true` })).items.map((p) => p.metadata!.name);
    expect(await eventually('ctl-a labelled', async () => ((await labelled()).length === 1 ? labelled() : undefined))).toEqual(['ctl-a']);

    await stopController(a, 'SIGKILL');
    const killedAt = Date.now();
    await eventually('ctl-b leads', async () => (await leaderGauge(b)) === 1, 30_000);
    expect(Date.now() - killedAt).toBeLessThan(25_000);
    await eventually('ctl-b labelled instead of ctl-a', async () => (await labelled()).join() === 'ctl-b');
    // The new leader runs the networks: a new one becomes Ready.
    await objects.createNamespacedCustomObject({ ...networkApi('apps'), body: network('apps', 'net-e', { external: { networkId: '0123456789abcdef' } }) });
    expect((await readyNetwork('apps', 'net-e')).status!.networkId).toBe('0123456789abcdef');
  });

  test('identities whose pod or StatefulSet is gone are collected after the grace period', async () => {
    const exists = async (name: string) => {
      try {
        return (await core.readNamespacedSecret({ namespace: NS, name })) !== undefined;
      } catch (e) {
        if (e instanceof ApiException && e.code === 404) return false;
        throw e;
      }
    };
    await eventually('orphan identities collected', async () => !(await exists(orphanSecret)) && !(await exists(orphanStatefulSetSecret)), 45_000);
    expect(await exists(statefulSetSecret)).toBe(true);
    expect(await exists(podA.secretName)).toBe(true);
  });

  test("the deleted pod's node is denied at its next config request", async () => {
    expect(await podCDenied).toBeUndefined();
  });

  test('a deleted network is deleted in the controller, with its ConfigMaps', async () => {
    await objects.deleteNamespacedCustomObject({ ...networkApi('apps'), name: 'net-bad' });
    const id = netA.status!.networkId!;
    await objects.deleteNamespacedCustomObject({ ...networkApi('apps'), name: 'net-a' });
    await eventually('net-a ConfigMaps deleted', async () => {
      const list = await core.listNamespacedConfigMap({ namespace: NS });
      return list.items.every((c) => !c.metadata!.name!.startsWith(`ztkube-net-${id}`));
    });
  });

});
