// ztkube installed on the test control plane the way the chart installs it, minus the images: the
// CRD and the chart's RBAC applied, `ztkube controller` and `ztkube agent` as processes holding
// tokens of the chart's ServiceAccounts, and a RigKubelet playing the node (pods in network
// namespaces on a bridge, CNI chain run by cnitool). The processes run the containers of the
// chart's Deployment and DaemonSet as `helm template` renders them (chart-pod.ts): their args and
// env, only the capabilities each container keeps, the agent's init container first (which
// installs ztkube-cni and chains it into the rig's CNI configuration), each hostPath volume placed
// in the rig's temp dirs. The controller runs in
// the host namespace and its root is reached on the rig bridge's gateway (the chart's
// root.endpoints), as pods reach the ztkube-root ClusterIP in a cluster. Used by the end-to-end
// suite and `npm run bench -- k8s`.
import { createSocket } from 'node:dgram';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, type V1Pod, type V1PodSpec } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { stringify } from 'yaml';
import { API_GROUP, API_VERSION, NETWORK_PLURAL, NETWORK_STATUS_ANNOTATION, type NetworkStatusEntry } from '../../agent/lib/kube.js';
import type { ZeroTierNetwork } from '../../agent/lib/network-spec.js';
import { repoRoot } from '../helpers.js';
import { podCommands, podSpecOf, renderChart, type RigCommand, type RigPlacement } from './chart-pod.js';
import { ControlPlane } from './control-plane.js';
import { RigKubelet } from './kubelet.js';
import { ZtkubeProcess, type ZtkubeProcessOptions } from './ztkube-process.js';

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
  /** The agent's /run/ztkube (CNI socket, pod records) and the node's CNI bin dir. */
  dir: string;
}

/** The chart's pod specs, rendered with the rig's ports and root endpoint. */
interface ChartPods {
  agent: V1PodSpec;
  controller: V1PodSpec;
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
  #chart?: ChartPods;

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

  /** Another Kubernetes node with its agent pod: the DaemonSet's init container runs to completion
   * (ztkube-cni into the node's bin dir and chained into the rig's CNI configuration), then the
   * agent. `underlay: false` runs pods without underlay addresses, `runsPods: false` not at all
   * (see RigKubelet); `agentArgs`
   * (--flag=value) replace the chart's. The first node's bridge gateway is the root's address. */
  async addNode(prefix: string, subnet: string, options: { underlay?: boolean; runsPods?: boolean; agentArgs?: string[] } = {}): Promise<ClusterNode> {
    const dir = join(this.dir, prefix);
    await mkdir(join(dir, 'cni-bin'), { recursive: true });
    const rig = await RigKubelet.start({
      kubeConfig: this.plane.kubeConfig,
      nodeName: `${prefix}-node`,
      prefix,
      subnet,
      underlay: options.underlay ?? true,
      runsPods: options.runsPods ?? true,
      ...(this.options.onLine ? { logger: lineLogger(this.options.onLine, { component: 'rig', node: `${prefix}-node` }) } : {}),
      ztkubeCniPath: join(dir, 'cni-bin', 'ztkube-cni'),
    });
    const node: ClusterNode = { rig, dir, agent: undefined as unknown as ZtkubeProcess };
    this.nodes.push(node);
    this.#chart ??= await this.#renderPods(rig.gateway);
    for (const init of podCommands(this.#chart.agent, this.#agentPlacement(node)).init) {
      const container = ZtkubeProcess.start(init.args, this.#processOptions(init));
      const code = await container.exited;
      if (code !== 0) throw new Error(`agent init container ${init.args[0]} on ${rig.nodeName} exited ${code}:\n${container.tail()}`);
    }
    this.startAgent(node, options.agentArgs);
    return node;
  }

  /** The chart's controller container in the host namespace; no pod of its own, so POD_NAME is
   * empty and no pod is labelled leader. */
  startController(): ZtkubeProcess {
    const [controller] = podCommands(this.#chart!.controller, {
      volumes: {},
      fields: { 'metadata.namespace': this.namespace, 'metadata.name': '', 'spec.nodeName': this.rig.nodeName },
      flags: { '--kubeconfig': this.#controllerKubeconfig, '--metrics-port': '0' },
    }).main;
    this.controller = ZtkubeProcess.start(controller!.args, this.#processOptions(controller!));
    return this.controller;
  }

  /** The chart's agent container for a node (default the first), its /run/ztkube in the node's
   * dir; `extraArgs` (--flag=value) replace the chart's. */
  startAgent(node: ClusterNode = this.nodes[0]!, extraArgs: string[] = []): ZtkubeProcess {
    const placement = this.#agentPlacement(node);
    for (const arg of extraArgs) {
      const [flag, value] = /^(--[^=]+)=(.*)$/.exec(arg)?.slice(1) ?? [];
      if (flag === undefined || value === undefined) throw new Error(`agent argument ${arg}: --flag=value expected`);
      placement.flags![flag] = value;
    }
    const [agent] = podCommands(this.#chart!.agent, placement).main;
    node.agent = ZtkubeProcess.start(agent!.args, this.#processOptions(agent!));
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

  /** The chart rendered with the rig's UDP ports and its root at the first bridge's gateway. */
  async #renderPods(gateway: string): Promise<ChartPods> {
    const objects = await renderChart(this.namespace, [
      `root.port=${this.#rootPort}`,
      `controller.port=${this.#controllerPort}`,
      `root.endpoints[0]=${gateway}/${this.#rootPort}`,
    ]);
    return { agent: podSpecOf(objects, 'DaemonSet', 'ztkube-agent'), controller: podSpecOf(objects, 'Deployment', 'ztkube-controller') };
  }

  /** The agent pod's volumes on the rig: /run/ztkube and the CNI bin dir in the node's dir, the
   * rig's own CNI configuration, and the host's netns dir and TUN device the rig's pods use. */
  #agentPlacement(node: ClusterNode): RigPlacement {
    return {
      volumes: {
        'run-ztkube': node.dir,
        'cni-bin': join(node.dir, 'cni-bin'),
        'cni-conf': node.rig.confDir,
        netns: '/var/run/netns',
        'dev-net-tun': '/dev/net/tun',
      },
      fields: { 'metadata.namespace': this.namespace, 'metadata.name': `ztkube-agent-${node.rig.nodeName}`, 'spec.nodeName': node.rig.nodeName },
      flags: { '--kubeconfig': this.#agentKubeconfig, '--metrics-host': '127.0.0.1', '--metrics-port': '0' },
    };
  }

  #processOptions(command: RigCommand): ZtkubeProcessOptions {
    return {
      env: command.env,
      ...(command.capabilities ? { capabilities: command.capabilities } : {}),
      ...(this.options.onLine ? { onLine: this.options.onLine } : {}),
    };
  }
}

/** The chart's ServiceAccounts, Roles and bindings, rendered by helm for the namespace with
 * the given `--set` values. */
export async function chartRbac(namespace: string, values: string[] = []): Promise<string> {
  return (await renderChart(namespace, values))
    .filter((o) => RBAC_KINDS.has(o.kind ?? ''))
    .map((o) => stringify(o))
    .join('---\n');
}

/** A UDP port free on this host now. */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '0.0.0.0', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** A pino logger whose JSON lines go to onLine. */
function lineLogger(onLine: (line: string) => void, base: Record<string, string>): Logger {
  return pino({ base }, { write: (line: string) => onLine(line.trimEnd()) });
}
