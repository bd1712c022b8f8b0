// The control plane rig itself: every component does its job with its own credentials, listens on
// 127.0.0.1 only, and nothing of it is left once stopped.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ControlPlane } from './control-plane.js';
import { eventually } from './eventually.js';

let plane: ControlPlane;
let core: CoreV1Api;

beforeAll(async () => {
  plane = await ControlPlane.start();
  core = plane.kubeConfig.makeApiClient(CoreV1Api);
});

afterAll(async () => {
  if (!plane) return;
  const pids = plane.pids;
  await plane.stop();
  for (const pid of pids) expect(() => process.kill(pid, 0), `process ${pid} still running`).toThrow(/ESRCH/);
  expect(existsSync(plane.dir)).toBe(false);
});

test('the four components run and listen on 127.0.0.1 only', () => {
  expect(plane.pids).toHaveLength(4);
  // ss -p names each listening socket's process as users:(("name",pid=N,fd=M)).
  const listening = execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => ({ local: line.split(/\s+/)[3] ?? '', pids: [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])) }))
    .filter((socket) => socket.pids.some((pid) => plane.pids.includes(pid)));
  const owners = new Set(listening.flatMap((socket) => socket.pids));
  expect([...owners].sort()).toEqual([...plane.pids].sort());
  for (const socket of listening) expect(socket.local).toMatch(/^127\.0\.0\.1:\d+$/);
});

test("the controller-manager gives a new namespace its default ServiceAccount and the cluster's CA", async () => {
  await core.createNamespace({ body: { metadata: { name: 'ztkube-rig' } } });
  await eventually('default ServiceAccount', () => core.readNamespacedServiceAccount({ namespace: 'ztkube-rig', name: 'default' }));
  const rootCa = await eventually('kube-root-ca.crt', () => core.readNamespacedConfigMap({ namespace: 'ztkube-rig', name: 'kube-root-ca.crt' }));
  expect(rootCa.data?.['ca.crt']).toContain('BEGIN CERTIFICATE');
});

test('the scheduler binds a pod to a node', async () => {
  await core.createNode({
    body: {
      metadata: { name: 'ztkube-rig-node' },
      status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' }, allocatable: { cpu: '4', memory: '8Gi', pods: '110' } },
    },
  });
  const namespace = 'ztkube-rig';
  await eventually('default ServiceAccount', () => core.readNamespacedServiceAccount({ namespace, name: 'default' }));
  const pod: V1Pod = {
    metadata: { name: 'scheduled' },
    // No kubelet reports this node ready, so it carries the not-ready taints.
    spec: { tolerations: [{ operator: 'Exists' }], containers: [{ name: 'main', image: 'example.invalid/none' }] },
  };
  await core.createNamespacedPod({ namespace, body: pod });
  const bound = await eventually('pod bound', async () => {
    const current = await core.readNamespacedPod({ namespace, name: 'scheduled' });
    return current.spec?.nodeName ? current : undefined;
  });
  expect(bound.spec?.nodeName).toBe('ztkube-rig-node');
});

test('the audit log records each write with its user, and an apiserver outage loses nothing', async () => {
  const namespace = 'ztkube-rig';
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'audited' }, data: { a: '1' } } });
  await plane.apiserverOutage(2_000);
  await core.patchNamespacedConfigMap(
    { namespace, name: 'audited', body: [{ op: 'replace', path: '/data/a', value: '2' }] },
  );
  const writes = (await plane.writes()).filter((w) => w.resource === 'configmaps' && w.name === 'audited');
  expect(writes.map((w) => [w.user, w.verb, w.code])).toEqual([
    ['ztkube-test-admin', 'create', 201],
    ['ztkube-test-admin', 'patch', 200],
  ]);
  expect((await core.readNamespacedConfigMap({ namespace, name: 'audited' })).data).toEqual({ a: '2' });
});
