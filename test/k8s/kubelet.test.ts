// RigKubelet against the real control plane, and ztkube-cni in its CNI chain talking to a real
// CniServer: pods get scheduled, sandboxed and addressed, reach each other over the rig's bridge,
// are torn down on deletion and re-created by their controllers; the plugin's protocol carries the
// pod and the previous result, merges the agent's answer, surfaces its errors, and never blocks
// a deletion.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CniServer, type CniHandler, type CniRequest, type CniResult } from '../../agent/dataplane/cni-server.js';
import { NETWORKS_ANNOTATION } from '../../agent/lib/kube.js';
import { repoRoot } from '../helpers.js';
import { ControlPlane } from './control-plane.js';
import { leftovers, RigKubelet } from './kubelet.js';
import { eventually } from './eventually.js';

const run = promisify(execFile);
const namespace = 'rig-test';
const ztkubeCni = join(repoRoot, 'dist/bin/ztkube-cni');
/** ZTKUBE_TEST_LOG=debug shows the rigs' pod lifecycle on stderr. */
const logger = pino({ level: process.env.ZTKUBE_TEST_LOG ?? 'silent' }, pino.destination(2));

let plane: ControlPlane;
let core: CoreV1Api;
let plainRig: RigKubelet;
let cniRig: RigKubelet;
let socketDir: string;
let socket: string;
let server: CniServer | undefined;
const requests: CniRequest[] = [];

/** A minimal agent: for a pod annotated with ztkube.io/networks it makes a real TAP `zt0`
 * in the pod's netns and answers it; "fail" in the annotation makes ADD throw. */
const handler: CniHandler = {
  async add(request) {
    requests.push(request);
    const pod = await core.readNamespacedPod({ namespace: request.podNamespace, name: request.podName });
    const networks = pod.metadata?.annotations?.[NETWORKS_ANNOTATION];
    if (!networks) return { interfaces: [], ips: [] };
    if (networks.includes('fail')) throw new Error(`network ${networks} refused for pod ${request.podNamespace}/${request.podName}`);
    const address = `198.19.0.${requests.filter((r) => r.command === 'ADD').length}/16`;
    await inNetns(request.netns, ['ip', 'tuntap', 'add', 'zt0', 'mode', 'tap']);
    await inNetns(request.netns, ['ip', 'addr', 'add', address, 'dev', 'zt0']);
    const [link] = JSON.parse(await inNetns(request.netns, ['ip', '-j', 'link', 'show', 'zt0'])) as { address: string }[];
    const mac = link!.address;
    return { interfaces: [{ name: 'zt0', mac, sandbox: request.netns }], ips: [{ address, interface: 0 }] };
  },
  async del(request) {
    requests.push(request);
    if (request.netns && existsSync(request.netns)) await inNetns(request.netns, ['ip', 'link', 'del', 'zt0']).catch(() => undefined);
  },
  async check(request) {
    requests.push(request);
  },
};

async function inNetns(netns: string, command: string[]): Promise<string> {
  return (await run('nsenter', [`--net=${netns}`, ...command])).stdout;
}

beforeAll(async () => {
  await run('npm', ['run', 'build:cni'], { cwd: repoRoot });
  plane = await ControlPlane.start();
  core = plane.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await eventually('default ServiceAccount', async () =>
    core.readNamespacedServiceAccount({ namespace, name: 'default' }).then(() => true, () => false),
  );
  socketDir = await mkdtemp(join(tmpdir(), 'ztkube-cni-test-'));
  socket = join(socketDir, 'agent', 'cni.sock');
  server = await CniServer.listen(socket, handler);
  plainRig = await RigKubelet.start({ logger, kubeConfig: plane.kubeConfig, nodeName: 'ztc-node-a', prefix: 'ztc', subnet: '198.18.0.0/27' });
  cniRig = await RigKubelet.start({
    kubeConfig: plane.kubeConfig,
    nodeName: 'ztc-node-b',
    prefix: 'ztcz',
    subnet: '198.18.0.32/27',
    withZtkubeCni: true,
    cniSocket: socket,
    cniTimeoutSeconds: 20,
    logger,
  });
});

afterAll(async () => {
  await plainRig?.stop();
  await cniRig?.stop();
  await server?.close();
  await plane?.stop();
  if (socketDir) await rm(socketDir, { recursive: true, force: true });
});

function podSpec(name: string, node: string, annotations: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, namespace, annotations },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node },
      containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }],
      automountServiceAccountToken: false,
    },
  };
}

async function runningPods(selector: string, count: number): Promise<V1Pod[]> {
  let pods: V1Pod[] = [];
  await eventually(`${count} running pods ${selector}`, async () => {
    pods = (await core.listNamespacedPod({ namespace, labelSelector: selector })).items.filter(
      (p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp,
    );
    return pods.length === count;
  });
  return pods;
}

async function runningPod(name: string): Promise<V1Pod> {
  let pod: V1Pod | undefined;
  await eventually(`pod ${name} Running`, async () => {
    pod = await core.readNamespacedPod({ namespace, name });
    return pod.status?.phase === 'Running';
  }).catch((error: Error) => {
    throw new Error(`${error.message}; status ${JSON.stringify(pod?.status)}`);
  });
  return pod!;
}

async function deletedPod(name: string): Promise<void> {
  await core.deleteNamespacedPod({ namespace, name });
  let pod: V1Pod | undefined;
  await eventually(`pod ${name} gone`, async () =>
    core.readNamespacedPod({ namespace, name }).then(
      (current) => ((pod = current), false),
      () => true,
    ),
  ).catch((error: Error) => {
    throw new Error(`${error.message}; metadata ${JSON.stringify(pod?.metadata)}`);
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('RigKubelet', () => {
  test("a Deployment's pods run on the rig node, with subnet IPs, in their own netns and cgroup, and reach each other", async () => {
    const apps = plane.kubeConfig.makeApiClient(AppsV1Api);
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web', namespace },
        spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec('', 'ztc-node-a').spec! } },
      },
    });
    const pods = await runningPods('app=web', 2);
    for (const pod of pods) {
      expect(pod.spec?.nodeName).toBe('ztc-node-a');
      expect(pod.status?.podIP).toMatch(/^198\.18\.0\.([2-9]|[12][0-9]|3[01])$/);
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      expect(pod.status?.containerStatuses?.[0]?.state?.running).toBeDefined();
      const pid = plainRig.runningPods.get(pod.metadata!.uid!)!.pause!.pid!;
      expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`/ztc/kubepods/pod${pod.metadata!.uid}`);
      expect(statSync(`/proc/${pid}/ns/net`).ino).toBe(statSync(plainRig.netnsOf(pod.metadata!.uid!)).ino);
      // No default route in a test namespace.
      expect((await plainRig.exec(pod, ['ip', 'route'])).stdout).not.toContain('default');
    }
    const [a, b] = pods as [V1Pod, V1Pod];
    expect((await plainRig.exec(a, ['ping', '-c', '1', '-W', '5', b.status!.podIP!])).stdout).toContain('1 received');
  });

  test('deleting a pod removes its netns, pause process and cgroup, and the Deployment re-creates it', async () => {
    const [victim] = await runningPods('app=web', 2);
    const uid = victim!.metadata!.uid!;
    const pid = plainRig.runningPods.get(uid)!.pause!.pid!;
    await deletedPod(victim!.metadata!.name!);
    expect(existsSync(plainRig.netnsOf(uid))).toBe(false);
    expect(existsSync(plainRig.podCgroupDir(uid))).toBe(false);
    expect(processAlive(pid)).toBe(false);
    const pods = await runningPods('app=web', 2);
    expect(pods.map((p) => p.metadata!.uid)).not.toContain(uid);
  });
});

describe('ztkube-cni in the chain', () => {
  test('VERSION lists 1.0.0 and 0.4.0', async () => {
    const version = spawnSync(ztkubeCni, { env: { CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.0.0"}', encoding: 'utf8' });
    expect(version.status).toBe(0);
    expect(JSON.parse(version.stdout).supportedVersions).toEqual(expect.arrayContaining(['1.0.0', '0.4.0']));
  });

  test('ADD sends the pod and prevResult, and the result adds the agent interfaces after the bridge ones', async () => {
    await core.createNamespacedPod({ namespace, body: podSpec('zt-pod', 'ztc-node-b', { [NETWORKS_ANNOTATION]: 'net-a' }) });
    const pod = await runningPod('zt-pod');
    const uid = pod.metadata!.uid!;
    const add = requests.find((r) => r.command === 'ADD' && r.podUid === uid)!;
    expect(add).toMatchObject({ podNamespace: namespace, podName: 'zt-pod', netns: cniRig.netnsOf(uid), ifName: 'eth0' });
    expect(add.containerId).not.toBe('');
    const prev = add.prevResult as { interfaces: { name: string }[]; ips: { address: string; interface: number }[] };
    expect(prev.interfaces.map((i) => i.name)).toContain('eth0');
    expect(prev.ips[0]!.address).toBe(`${pod.status!.podIP}/27`);

    const result = cniRig.runningPods.get(uid)!.cniResult!;
    const zt = result.interfaces!.length - 1;
    expect(zt).toBe(prev.interfaces.length);
    expect(result.interfaces![zt]).toMatchObject({ name: 'zt0', sandbox: cniRig.netnsOf(uid) });
    expect(result.ips).toEqual([...prev.ips, expect.objectContaining({ address: expect.stringMatching(/^198\.19\.0\.\d+\/16$/), interface: zt })]);
    expect((await cniRig.exec(pod, ['ip', '-o', 'addr', 'show', 'zt0'])).stdout).toContain(result.ips![1]!.address);
    expect(pod.status?.podIP).toMatch(/^198\.18\.0\./);
  });

  test('a pod without the annotation gets the bridge result unchanged', async () => {
    await core.createNamespacedPod({ namespace, body: podSpec('plain-pod', 'ztc-node-b') });
    const pod = await runningPod('plain-pod');
    const result = cniRig.runningPods.get(pod.metadata!.uid!)!.cniResult!;
    const add = requests.find((r) => r.command === 'ADD' && r.podUid === pod.metadata!.uid)!;
    expect({ interfaces: result.interfaces, ips: result.ips }).toEqual({
      interfaces: (add.prevResult as CniResult).interfaces,
      ips: (add.prevResult as CniResult).ips,
    });
  });

  test("an ADD error keeps the pod from running, with the handler's message in its status", async () => {
    await core.createNamespacedPod({ namespace, body: podSpec('refused-pod', 'ztc-node-b', { [NETWORKS_ANNOTATION]: 'fail-net' }) });
    let ready: string | undefined;
    await eventually('refused-pod shows the CNI error', async () => {
      const pod = await core.readNamespacedPod({ namespace, name: 'refused-pod' });
      expect(pod.status?.phase).not.toBe('Running');
      ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.message;
      return ready !== undefined;
    });
    expect(ready).toContain(`network fail-net refused for pod ${namespace}/refused-pod`);
    await deletedPod('refused-pod');
  });

  test('deleting a pod sends DEL for it', async () => {
    const pod = await core.readNamespacedPod({ namespace, name: 'zt-pod' });
    await deletedPod('zt-pod');
    expect(requests.find((r) => r.command === 'DEL' && r.podUid === pod.metadata!.uid)).toMatchObject({
      podName: 'zt-pod',
      netns: cniRig.netnsOf(pod.metadata!.uid!),
    });
    expect(existsSync(cniRig.netnsOf(pod.metadata!.uid!))).toBe(false);
  });

  test('with the agent gone DEL still succeeds, and ADD fails naming the socket until the agent is back', async () => {
    await server!.close();
    server = undefined;
    expect(existsSync(socket)).toBe(false);
    await deletedPod('plain-pod');

    await core.createNamespacedPod({ namespace, body: podSpec('waiting-pod', 'ztc-node-b') });
    await eventually('waiting-pod shows the unreachable agent', async () => {
      const pod = await core.readNamespacedPod({ namespace, name: 'waiting-pod' });
      return pod.status?.conditions?.find((c) => c.type === 'Ready')?.message?.includes(`ztkube agent unreachable at ${socket}`) ?? false;
    });
    server = await CniServer.listen(socket, handler);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    await runningPod('waiting-pod');
  });

  test('stop() leaves no netns, pause process, cgroup dir or bridge', async () => {
    const pids = [...plainRig.runningPods.values(), ...cniRig.runningPods.values()].map((p) => p.pause!.pid!);
    expect(pids.length).toBeGreaterThan(0);
    await plainRig.stop();
    await cniRig.stop();
    expect(await leftovers('ztc')).toEqual([]);
    expect(await leftovers('ztcz')).toEqual([]);
    expect(pids.filter(processAlive)).toEqual([]);
  });
});

