// ztkube installed on the test control plane the way the chart installs it, minus the images: the
// CRD and the chart's RBAC applied, `ztkube controller` and `ztkube agent` as processes holding
// tokens of the chart's ServiceAccounts, and a RigKubelet playing the node (pods in network
// namespaces on a bridge, CNI chain with ztkube-cni). The controller runs in the host namespace and
// its root is reached on the rig bridge's gateway, as pods reach the ztkube-root ClusterIP in a
// cluster. Used by the end-to-end suite and `npm run bench -- k8s`.
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, NETWORK_PLURAL, NETWORK_STATUS_ANNOTATION, type NetworkStatusEntry } from '../../agent/lib/kube.js';
import type { ZeroTierNetwork } from '../../agent/lib/network-spec.js';
import { repoRoot } from '../helpers.js';
import { ControlPlane, toolsBin } from './control-plane.js';
import { RigKubelet } from './kubelet.js';
import { ZtkubeProcess } from './ztkube-process.js';

const run = promisify(execFile);
const RBAC_KINDS = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);

export interface ZtkubeClusterOptions {
  /** Names the rig's netns, bridge and cgroup dirs (at most 10 characters). */
  prefix: string;
  /** The rig's pod subnet (198.18.0.0/24 or a part of it). */
  subnet: string;
  /** Every line the controller and agent log (default: kept in memory only). */
  onLine?: (line: string) => void;
}

export interface NetworkStatusOf {
  networkId?: string;
  observedGeneration?: number;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
  members?: { total?: number; authorized?: number; awaitingAuthorization?: number; online?: number };
  memberList?: { pod?: string; address?: string; state?: string; ips?: string[] }[];
}

/** A Kubernetes node of the cluster: the rig playing its kubelet and the agent running on it. */
export interface ClusterNode {
  rig: RigKubelet;
  agent: ZtkubeProcess;
  /** The agent's CNI socket and pod records. */
  dir: string;
}

export class ZtkubeCluster {
  readonly namespace = 'ztkube-system';
  readonly core: CoreV1Api;
  readonly objects: CustomObjectsApi;
  readonly nodes: ClusterNode[] = [];
  controller!: ZtkubeProcess;
  #controllerKubeconfig = '';
  #agentKubeconfig = '';
  #rootPort = 0;
  #controllerPort = 0;

  private constructor(
    readonly options: ZtkubeClusterOptions,
    readonly plane: ControlPlane,
    readonly dir: string,
  ) {
    this.core = plane.kubeConfig.makeApiClient(CoreV1Api);
    this.objects = plane.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  static async start(options: ZtkubeClusterOptions): Promise<ZtkubeCluster> {
    const plane = await ControlPlane.start();
    const dir = await mkdtemp(join(tmpdir(), 'ztkube-cluster-'));
    let cluster: ZtkubeCluster | undefined;
    try {
      await plane.apply(await readFile(join(repoRoot, 'charts/ztkube/crds/zerotiernetworks.ztkube.io.yaml'), 'utf8'));
      const core = plane.kubeConfig.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: 'ztkube-system' } } });
      await plane.apply(await chartRbac('ztkube-system'));
      cluster = new ZtkubeCluster(options, plane, dir);
      cluster.#controllerKubeconfig = (await plane.kubeconfigForServiceAccount('ztkube-system', 'ztkube-controller')).kubeconfigPath;
      cluster.#agentKubeconfig = (await plane.kubeconfigForServiceAccount('ztkube-system', 'ztkube-agent')).kubeconfigPath;
      [cluster.#rootPort, cluster.#controllerPort] = await Promise.all([freeUdpPort(), freeUdpPort()]);
      await cluster.addNode(options.prefix, options.subnet);
      cluster.startController();
      return cluster;
    } catch (e) {
      await (cluster ? cluster.stop() : plane.stop());
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** The first node's rig and agent. */
  get rig(): RigKubelet {
    return this.nodes[0]!.rig;
  }

  get agent(): ZtkubeProcess {
    return this.nodes[0]!.agent;
  }

  /** Another Kubernetes node with its agent; `underlay: false` runs pods without underlay
   * addresses (see RigKubelet). The first node's bridge gateway is the root's address. */
  async addNode(prefix: string, subnet: string, options: { underlay?: boolean; agentArgs?: string[] } = {}): Promise<ClusterNode> {
    const dir = join(this.dir, prefix);
    const rig = await RigKubelet.start({
      kubeConfig: this.plane.kubeConfig,
      nodeName: `${prefix}-node`,
      prefix,
      subnet,
      underlay: options.underlay ?? true,
      withZtkubeCni: true,
      cniSocket: join(dir, 'cni.sock'),
    });
    const node: ClusterNode = { rig, dir, agent: undefined as unknown as ZtkubeProcess };
    this.nodes.push(node);
    this.startAgent(node, options.agentArgs);
    return node;
  }

  /** `ztkube controller` in the host namespace, its root reached at the rig bridge's gateway. */
  startController(): ZtkubeProcess {
    this.controller = ZtkubeProcess.start(
      [
        'controller',
        `--kubeconfig=${this.#controllerKubeconfig}`,
        `--namespace=${this.namespace}`,
        `--root-endpoint=${this.rig.gateway}/${this.#rootPort}`,
        `--root-bind=0.0.0.0/${this.#rootPort}`,
        `--controller-bind=0.0.0.0/${this.#controllerPort}`,
        '--metrics-port=0',
      ],
      this.#processOptions(),
    );
    return this.controller;
  }

  /** `ztkube agent` for a node (default the first), on its rig's CNI socket. */
  startAgent(node: ClusterNode = this.nodes[0]!, extraArgs: string[] = []): ZtkubeProcess {
    node.agent = ZtkubeProcess.start(
      [
        'agent',
        `--kubeconfig=${this.#agentKubeconfig}`,
        `--namespace=${this.namespace}`,
        `--node-name=${node.rig.nodeName}`,
        `--cni-socket=${join(node.dir, 'cni.sock')}`,
        `--pod-records-dir=${join(node.dir, 'pods')}`,
        '--metrics-host=127.0.0.1',
        '--metrics-port=0',
        ...extraArgs,
      ],
      this.#processOptions(),
    );
    return node.agent;
  }

  async applyNetwork(network: ZeroTierNetwork): Promise<void> {
    await this.plane.apply(JSON.stringify(network));
  }

  async networkStatus(namespace: string, name: string): Promise<NetworkStatusOf | undefined> {
    const object = (await this.objects.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: NETWORK_PLURAL, name })) as {
      status?: NetworkStatusOf;
    };
    return object.status;
  }

  /** The pod's ztkube.io/network-status, if written. */
  async podNetworks(namespace: string, name: string): Promise<NetworkStatusEntry[] | undefined> {
    const pod: V1Pod = await this.core.readNamespacedPod({ namespace, name });
    const text = pod.metadata?.annotations?.[NETWORK_STATUS_ANNOTATION];
    return text ? (JSON.parse(text) as NetworkStatusEntry[]) : undefined;
  }

  /** Stops ztkube, the rig and the control plane; leaves nothing on the host. Safe on failure. */
  async stop(): Promise<void> {
    const processes = [...this.nodes.map((n) => n.agent), this.controller].filter(Boolean);
    await Promise.all(processes.map((p) => p.stop()));
    try {
      for (const node of this.nodes) await node.rig.stop();
    } finally {
      await this.plane.stop();
      await rm(this.dir, { recursive: true, force: true });
    }
  }

  #processOptions() {
    return { env: { ZTKUBE_LOG_LEVEL: 'info' }, ...(this.options.onLine ? { onLine: this.options.onLine } : {}) };
  }
}

/** The chart's ServiceAccounts, Roles and bindings, rendered by helm for the namespace with
 * the given `--set` values. */
export async function chartRbac(namespace: string, values: string[] = []): Promise<string> {
  const set = values.flatMap((v) => ['--set', v]);
  const { stdout } = await run(join(toolsBin, 'helm'), ['template', 'ztkube', join(repoRoot, 'charts/ztkube'), '--namespace', namespace, ...set], {
    maxBuffer: 16 << 20,
  });
  return stdout
    .split(/^---$/m)
    .filter((doc) => RBAC_KINDS.has(/^kind:\s*(\S+)/m.exec(doc)?.[1] ?? ''))
    .join('\n---\n');
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '0.0.0.0', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
