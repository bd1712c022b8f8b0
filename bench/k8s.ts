// `npm run bench -- k8s` (root; needs scripts/tools.sh k8s): ztkube on the real control plane of
// the Kubernetes suites (test/k8s), the controller and the agents as processes with the chart's
// RBAC, pods run by the rig kubelet through ztkube-cni.
//  1. Attach: pods created one at a time on one agent (up to ZT_BENCH_ATTACH_PODS, default 100),
//     each timed from creation (annotated) to its first ZeroTier ping answered from another pod;
//     then the agent's memory per attached pod node.
//  2. Scale: ZT_BENCH_SCALE_PODS (default 1,000) annotated pods created at once, spread over
//     ZT_BENCH_SCALE_NODES (default 10) more Kubernetes nodes as a cluster would run them (kubelet
//     allows 110 pods per node), each with its agent, once every agent holds its node's share of
//     spare identities (--identity-pool: agents run long before a burst comes); timed until the
//     network's status shows every one authorised; the API writes of the controller and the
//     agents (from the apiserver's audit log) per pod. The agents make each pod's identity as soon
//     as it is bound, so authorisation does not wait for sandboxes; and these nodes' kubelets
//     start no sandbox (pods stay Pending), as if each ran on a machine of its own: 1,000
//     sandboxes made on this machine would share the control plane's cores and measure the rig.
//     ZT_BENCH_SCALE_SANDBOXES=1 runs them anyway (without underlay addresses: 1,000 do not fit
//     the 198.18.0.0/24 this machine may use, so their nodes never get a config). The agents hold
//     a transient status 2 s (--cni-wait) rather than 10.
// Last line: one JSON object.
import { execFile } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { NETWORKS_ANNOTATION } from '../agent/lib/kube.js';
import type { ZeroTierNetwork } from '../agent/lib/network-spec.js';
import { eventually } from '../test/k8s/eventually.js';
import { ZtkubeCluster, type ClusterNode } from '../test/k8s/ztkube-cluster.js';

const exec = promisify(execFile);
const ATTACH_PODS = Number(process.env.ZT_BENCH_ATTACH_PODS ?? 100);
const SCALE_PODS = Number(process.env.ZT_BENCH_SCALE_PODS ?? 1000);
const SCALE_NODES = Number(process.env.ZT_BENCH_SCALE_NODES ?? 10);
const SCALE_SANDBOXES = process.env.ZT_BENCH_SCALE_SANDBOXES === '1';
const NS = 'bench';
const ZTKUBE_USERS = /^system:serviceaccount:ztkube-system:ztkube-(agent|controller)$/;

const network: ZeroTierNetwork = {
  apiVersion: 'ztkube.io/v1alpha1',
  kind: 'ZeroTierNetwork',
  metadata: { name: 'bench', namespace: NS },
  spec: {
    managed: {
      ipv4: { pools: [{ start: '198.19.0.1', end: '198.19.255.254' }] },
      routes: [{ target: '198.19.0.0/16' }],
    },
  },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function pod(name: string, nodeName: string): V1Pod {
  return {
    metadata: { name, annotations: { [NETWORKS_ANNOTATION]: 'bench' } },
    spec: { nodeSelector: { 'kubernetes.io/hostname': nodeName }, containers: [{ name: 'main', image: 'example.invalid/app' }] },
  };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

async function rssKiB(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]);
}

/** The pod's IPv4 on the bench network once its status says OK. */
async function benchIp(cluster: ZtkubeCluster, name: string, timeoutMs: number): Promise<string> {
  return eventually(`${name} on the network`, async () => {
    const entry = (await cluster.podNetworks(NS, name))?.find((e) => e.name === `${NS}/bench` && e.status === 'OK');
    return entry?.ips?.find((ip) => ip.startsWith('198.19.'))?.split('/')[0];
  }, { timeoutMs, intervalMs: 50 });
}

/** With ZT_BENCH_LOG: the bench's own steps, among the components' log lines. */
let mark: (pod: string, msg: string) => void = () => {};

async function attachPhase(cluster: ZtkubeCluster): Promise<{ latencies: number[]; rssPerNodeMiB: number }> {
  await cluster.core.createNamespacedPod({ namespace: NS, body: pod('anchor', cluster.rig.nodeName) });
  await benchIp(cluster, 'anchor', 120_000);
  const anchor = await cluster.core.readNamespacedPod({ namespace: NS, name: 'anchor' });
  const rssBefore = await rssKiB(cluster.agent.pid);
  const latencies: number[] = [];
  for (let i = 0; i < ATTACH_PODS; i++) {
    const name = `attach-${i}`;
    const start = performance.now();
    mark(name, 'bench: creating pod');
    await cluster.core.createNamespacedPod({ namespace: NS, body: pod(name, cluster.rig.nodeName) });
    const ip = await benchIp(cluster, name, 60_000);
    mark(name, 'bench: status OK seen');
    await eventually(`anchor pings ${name}`, async () => {
      await exec('ip', ['netns', 'exec', cluster.rig.netnsName(anchor.metadata!.uid!), 'ping', '-c', '1', '-W', '0.2', ip]);
      return true;
    }, { timeoutMs: 60_000, intervalMs: 0 });
    mark(name, 'bench: ping answered');
    latencies.push((performance.now() - start) / 1000);
    process.stdout.write(`attach ${i + 1}/${ATTACH_PODS}: ${latencies[i]!.toFixed(3)} s\n`);
  }
  const rssAfter = await rssKiB(cluster.agent.pid);
  return { latencies, rssPerNodeMiB: (rssAfter - rssBefore) / 1024 / ATTACH_PODS };
}

/** Resolves once the node's agent reports `spares` spare identities. */
async function poolFilled(node: ClusterNode, spares: number): Promise<void> {
  const url = await node.agent.metricsUrl();
  await eventually(`${node.rig.nodeName}: ${spares} spare identities`, async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(/^ztkube_identity_pool_spares (\S+)$/m.exec(text)?.[1]) >= spares;
  }, { timeoutMs: 900_000, intervalMs: 1000 });
}

async function scalePhase(cluster: ZtkubeCluster): Promise<{ seconds: number; writesPerPod: number; authorized: number }> {
  const perNode = Math.ceil(SCALE_PODS / SCALE_NODES);
  const nodes: ClusterNode[] = [];
  for (let n = 0; n < SCALE_NODES; n++)
    nodes.push(await cluster.addNode(`ztbs${n}`, '198.18.0.252/30', { underlay: false, runsPods: SCALE_SANDBOXES, agentArgs: ['--cni-wait=2', `--identity-pool=${perNode}`] }));
  const warmup = performance.now();
  await Promise.all(nodes.map((node) => poolFilled(node, perNode)));
  process.stdout.write(`scale: kubelets ${SCALE_SANDBOXES ? 'start' : 'do not start'} the pods' sandboxes\n`);
  process.stdout.write(`scale: ${SCALE_NODES} agents hold ${perNode} spare identities each after ${((performance.now() - warmup) / 1000).toFixed(1)} s\n`);
  const before = (await cluster.plane.writes()).length;
  const baseline = (await cluster.networkStatus(NS, 'bench'))?.members?.authorized ?? 0;
  const start = performance.now();
  const names = Array.from({ length: SCALE_PODS }, (_, i) => `scale-${i}`);
  for (let i = 0; i < names.length; i += 50)
    await Promise.all(
      names.slice(i, i + 50).map((name, j) => cluster.core.createNamespacedPod({ namespace: NS, body: pod(name, nodes[(i + j) % SCALE_NODES]!.rig.nodeName) })),
    );
  let authorized = 0;
  await eventually(`${SCALE_PODS} more members authorised`, async () => {
    authorized = ((await cluster.networkStatus(NS, 'bench'))?.members?.authorized ?? 0) - baseline;
    return authorized >= SCALE_PODS;
  }, { timeoutMs: 600_000, intervalMs: 500 });
  const seconds = (performance.now() - start) / 1000;
  // The writes ztkube made for these pods, including the status writes that followed them.
  await sleep(6_000);
  const writes = (await cluster.plane.writes()).slice(before).filter((w) => ZTKUBE_USERS.test(w.user));
  const byKind = new Map<string, number>();
  for (const w of writes) {
    const kind = `${w.user.split(':').pop()} ${w.verb} ${w.resource}${w.subresource ? `/${w.subresource}` : ''}`;
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  }
  for (const [kind, count] of [...byKind].sort()) process.stdout.write(`writes: ${kind}: ${count}\n`);
  return { seconds, writesPerPod: writes.length / SCALE_PODS, authorized };
}

export async function run(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('bench k8s: needs root (network namespaces, TAPs)');
    return 1;
  }
  // ZT_BENCH_LOG=<file>: every line the controller and the agents log, for a slow run's story.
  const logFile = process.env.ZT_BENCH_LOG;
  const onLine = logFile ? (line: string) => appendFileSync(logFile, `${line}\n`) : undefined;
  if (onLine) mark = (name, msg) => onLine(JSON.stringify({ time: Date.now(), component: 'bench', pod: `${NS}/${name}`, msg }));
  const cluster = await ZtkubeCluster.start({ prefix: 'ztba', subnet: '198.18.0.0/25', ...(onLine ? { onLine } : {}) });
  try {
    await cluster.core.createNamespace({ body: { metadata: { name: NS } } });
    await cluster.applyNetwork(network);
    await eventually('network Ready', async () =>
      (await cluster.networkStatus(NS, 'bench'))?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), 120_000);
    const attach = await attachPhase(cluster);
    const sorted = [...attach.latencies].sort((a, b) => a - b);
    const scale = await scalePhase(cluster);
    const result = {
      pods1000Seconds: Number(scale.seconds.toFixed(1)),
      writesPerPod: Number(scale.writesPerPod.toFixed(2)),
      attachMedianSeconds: Number(quantile(sorted, 0.5).toFixed(3)),
      attachP99Seconds: Number(quantile(sorted, 0.99).toFixed(3)),
      rssPerNodeMiB: Number(attach.rssPerNodeMiB.toFixed(3)),
    };
    process.stdout.write(`scale: ${scale.authorized} pods authorised in ${result.pods1000Seconds} s; attach over ${ATTACH_PODS} pods\n`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } finally {
    await cluster.stop();
  }
}
