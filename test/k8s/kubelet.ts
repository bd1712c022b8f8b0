// RigKubelet plays kubelet and container runtime for one Node of the test control plane: it
// registers the Node (Ready, kept alive by its Lease in kube-node-lease like a real kubelet), and
// gives each pod bound to it a network namespace, a pause process in a cgroup v1 dir named
// `pod<uid>` (what the agent scans /proc for), and a CNI chain run by the reference `cnitool`:
// the reference bridge on the rig's own subnet, then optionally ztkube-cni. Deleting a pod runs
// CNI DEL and removes everything, then deletes the object at once so controllers re-create pods.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1NodeCondition,
  type V1Pod,
  type V1PodCondition,
} from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { watchCollection, type Collection } from '../../agent/lib/informer.js';
import { repoRoot } from '../helpers.js';
import { toolsBin } from './control-plane.js';

const run = promisify(execFile);

export interface RigKubeletOptions {
  /** An admin kubeconfig of the control plane. */
  kubeConfig: KubeConfig;
  nodeName: string;
  /** Prefix of everything made on the host: netns `<prefix>-<uid8>`, bridge `<prefix>-br`,
   * cgroup dir /sys/fs/cgroup/pids/<prefix>/, CNI network `<prefix>-net`. At most 10 characters. */
  prefix: string;
  /** The pods' IPv4 subnet, e.g. "198.18.0.0/26"; its first address is the bridge (gateway). */
  subnet: string;
  /** Give pods an address on the rig's bridge (default true). false: the chain starts with the
   * loopback plugin (CNI_IFNAME lo) and pods reach nothing outside, so more pods fit than the
   * subnet has addresses (the benchmark's 1,000). */
  underlay?: boolean;
  /** Start the pods bound to the node (default true). false: the Node is registered and
   * heartbeats, but its pods stay Pending, as if its kubelet ran on a machine of its own (the
   * benchmark's scale phase, whose 1,000 sandboxes would otherwise share the control plane's cores). */
  runsPods?: boolean;
  /** Append ztkube-cni to the chain (default false). */
  withZtkubeCni?: boolean;
  /** ztkube-cni's `socket` (required with withZtkubeCni: never the /run/ztkube default in tests). */
  cniSocket?: string;
  /** ztkube-cni's `timeoutSeconds` (default: the plugin's, 30). */
  cniTimeoutSeconds?: number;
  /** The plugin binary (default dist/bin/ztkube-cni, made by `npm run build:cni`). */
  ztkubeCniPath?: string;
  /** Where cnitool, bridge, host-local and loopback are (default scripts/tools.sh's cache). */
  toolsBinDir?: string;
  /** Pod lifecycle and CNI failures (default: silent). */
  logger?: Logger;
}

/** What the rig knows of one pod it runs. */
export interface RigPod {
  uid: string;
  namespace: string;
  name: string;
  netnsName: string;
  pause?: ChildProcess;
  /** The CNI ADD result (CNI 1.0.0 JSON) once the chain succeeded. */
  cniResult?: CniResult;
  /** The last CNI ADD error, while the rig retries. */
  lastError?: string;
  torndown: boolean;
}

export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; interface?: number; gateway?: string }[];
}

const ztkubeCniDefault = join(repoRoot, 'dist/bin/ztkube-cni');
const cgroupRoot = '/sys/fs/cgroup/pids';
const leaseRenewMs = 10_000;
const maxBackoffMs = 16_000;
const podInterface = 'eth0';

export class RigKubelet {
  readonly bridge: string;
  readonly gateway: string;
  readonly networkName: string;
  readonly nodeName: string;
  private readonly core: CoreV1Api;
  private readonly pods = new Map<string, RigPod>();
  /** Each pod's operations in order: one chain per uid. */
  private readonly queues = new Map<string, Promise<void>>();
  private boundPods?: Collection<V1Pod>;
  private leaseTimer?: NodeJS.Timeout;
  private stopped = false;

  private constructor(
    private readonly options: RigKubeletOptions,
    /** Temporary dir: the conflist and host-local's allocations. */
    readonly dir: string,
  ) {
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.bridge = `${options.prefix}-br`;
    this.networkName = `${options.prefix}-net`;
    this.nodeName = options.nodeName;
    this.gateway = hostAddress(options.subnet, 1);
  }

  /** Makes the bridge, registers the Node and starts running the pods bound to it. */
  static async start(options: RigKubeletOptions): Promise<RigKubelet> {
    if (options.prefix.length > 10) throw new Error(`RigKubelet prefix ${options.prefix} is longer than 10 characters`);
    if (options.withZtkubeCni && !options.cniSocket) throw new Error('RigKubelet withZtkubeCni needs cniSocket');
    const rig = new RigKubelet(options, await mkdtemp(join(tmpdir(), `ztkube-${options.prefix}-`)));
    try {
      await rig.writeConflist();
      if (rig.#underlay) await rig.makeBridge();
      await rig.registerNode();
      if (options.runsPods ?? true) await rig.watchPods();
    } catch (error) {
      await rig.stop();
      throw error;
    }
    return rig;
  }

  /** The CNI configuration dir (NETCONFPATH) holding the rig's conflist. */
  get confDir(): string {
    return join(this.dir, 'net.d');
  }

  get cgroupDir(): string {
    return join(cgroupRoot, this.options.prefix);
  }

  netnsName(podUid: string): string {
    return `${this.options.prefix}-${podUid.slice(0, 8)}`;
  }

  /** The pod's netns path, as a runtime gives it to CNI. */
  netnsOf(podUid: string): string {
    return `/var/run/netns/${this.netnsName(podUid)}`;
  }

  podCgroupDir(podUid: string): string {
    return join(this.cgroupDir, 'kubepods', `pod${podUid}`);
  }

  /** The pods this rig runs now, by uid. */
  get runningPods(): ReadonlyMap<string, RigPod> {
    return this.pods;
  }

  /** Runs a command in the pod's netns. */
  async exec(pod: V1Pod | string, command: string[]): Promise<{ stdout: string; stderr: string }> {
    const uid = typeof pod === 'string' ? pod : pod.metadata!.uid!;
    return run('ip', ['netns', 'exec', this.netnsName(uid), ...command], { timeout: 30_000 });
  }

  /** Tears down every pod's sandbox, the bridge, the Node's lease timer and the temp dir. Does not
   * delete the API objects (the control plane goes with the test). Safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.leaseTimer);
    await this.boundPods?.stop();
    await Promise.allSettled(this.queues.values());
    for (const pod of this.pods.values()) await this.teardown(pod).catch(() => undefined);
    this.pods.clear();
    await run('ip', ['link', 'del', this.bridge]).catch(() => undefined);
    await removeCachedResults(this.networkName);
    await rmdir(join(this.cgroupDir, 'kubepods')).catch(() => undefined);
    await rmdir(this.cgroupDir).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }

  get #underlay(): boolean {
    return this.options.underlay ?? true;
  }

  private async writeConflist(): Promise<void> {
    const bridged = {
      type: 'bridge',
      bridge: this.bridge,
      isGateway: true,
      ipMasq: false,
      // No routes: the pods reach their subnet only, never a default route.
      ipam: { type: 'host-local', subnet: this.options.subnet, gateway: this.gateway, dataDir: join(this.dir, 'ipam') },
    };
    const plugins: object[] = [this.#underlay ? bridged : { type: 'loopback' }];
    if (this.options.withZtkubeCni) {
      plugins.push({
        type: 'ztkube-cni',
        socket: this.options.cniSocket,
        ...(this.options.cniTimeoutSeconds ? { timeoutSeconds: this.options.cniTimeoutSeconds } : {}),
      });
    }
    await mkdir(this.confDir);
    await writeFile(
      join(this.confDir, `${this.networkName}.conflist`),
      JSON.stringify({ cniVersion: '1.0.0', name: this.networkName, plugins }),
    );
  }

  /** The bridge keeps the MAC it was made with. Left alone, Linux gives a bridge the lowest MAC
   * among its ports, so it changes as pods come and go, and every pod's ARP entry for the gateway
   * then points at a MAC nobody answers for (its datagrams to the node are lost for seconds, until
   * the entry is probed again). The bridge plugin pins it only when it adds the gateway address
   * itself, which it skips here: the address is already on the bridge. */
  private async makeBridge(): Promise<void> {
    const prefixLength = this.options.subnet.split('/')[1];
    await run('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    const mac = (await readFile(`/sys/class/net/${this.bridge}/address`, 'utf8')).trim();
    await run('ip', ['link', 'set', this.bridge, 'address', mac]);
    await run('ip', ['addr', 'add', `${this.gateway}/${prefixLength}`, 'dev', this.bridge]);
    await run('ip', ['link', 'set', this.bridge, 'up']);
  }

  /** A Ready Node with room for pods, heartbeating through its Lease as kubelet does (the node
   * lifecycle controller taints a node whose Lease stops being renewed). */
  private async registerNode(): Promise<void> {
    const name = this.options.nodeName;
    const resources = { cpu: '8', memory: '16Gi', pods: '110' };
    await this.core.createNode({
      body: {
        metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
        status: {
          capacity: resources,
          allocatable: resources,
          addresses: [{ type: 'InternalIP', address: this.gateway }, { type: 'Hostname', address: name }],
          conditions: [readyCondition()],
          nodeInfo: rigNodeInfo(),
        },
      },
    });
    const leases = this.options.kubeConfig.makeApiClient(CoordinationV1Api);
    await leases.createNamespacedLease({
      namespace: 'kube-node-lease',
      body: { metadata: { name }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime() } },
    });
    this.leaseTimer = setInterval(() => {
      void this.heartbeat(leases).catch(() => undefined); // the next heartbeat retries
    }, leaseRenewMs);
  }

  /** Renews the Lease; and, as kubelet's status loop does, posts Ready again when the node
   * lifecycle controller marked the node Unknown (a heartbeat came late on a busy machine):
   * otherwise the node would stay tainted unreachable and its pods unscheduled for good. */
  private async heartbeat(leases: CoordinationV1Api): Promise<void> {
    const name = this.options.nodeName;
    const lease = await leases.readNamespacedLease({ namespace: 'kube-node-lease', name });
    lease.spec!.renewTime = microTime();
    await leases.replaceNamespacedLease({ namespace: 'kube-node-lease', name, body: lease });
    const node = await this.core.readNodeStatus({ name });
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'True') return;
    this.options.logger?.warn({ node: name, ready }, 'node not Ready on the server: posting Ready again');
    node.status!.conditions = [...(node.status!.conditions ?? []).filter((c) => c.type !== 'Ready'), readyCondition()];
    await this.core.replaceNodeStatus({ name, body: node });
  }

  /** The pods bound to this node, as kubelet watches them (a field selector on spec.nodeName). */
  private async watchPods(): Promise<void> {
    const fieldSelector = `spec.nodeName=${this.options.nodeName}`;
    this.boundPods = await watchCollection<V1Pod>(this.options.kubeConfig, {
      name: 'pods',
      path: '/api/v1/pods',
      list: () => this.core.listPodForAllNamespaces({ fieldSelector }),
      fieldSelector,
      logger: this.options.logger ?? pino({ level: 'silent' }),
      onChange: (kind, pod) => {
        const uid = pod.metadata!.uid!;
        this.enqueue(uid, () => (kind === 'delete' ? this.forget(uid) : this.sync(pod)));
      },
    });
  }

  private enqueue(uid: string, operation: () => Promise<void>): void {
    const next = (this.queues.get(uid) ?? Promise.resolve())
      .then(() => (this.stopped ? undefined : operation()))
      .catch((error) => this.options.logger?.error({ err: error, uid }, 'pod operation failed'));
    this.queues.set(uid, next);
  }

  /** Brings the host in line with the pod object: create its sandbox, or remove it and the pod. */
  private async sync(pod: V1Pod): Promise<void> {
    const uid = pod.metadata!.uid!;
    if (pod.metadata!.deletionTimestamp) {
      this.options.logger?.info({ pod: `${pod.metadata!.namespace}/${pod.metadata!.name}`, uid }, 'pod deleted: tearing down');
      const known = this.pods.get(uid);
      if (known) await this.teardown(known);
      this.pods.delete(uid);
      // Grace 0 in the body: client-node drops a query parameter of 0.
      const deleted = await this.core
        .deleteNamespacedPod({ namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, body: { gracePeriodSeconds: 0, preconditions: { uid } } })
        .catch(ignoreGone);
      this.options.logger?.debug({ uid, deleted: deleted?.metadata }, 'pod object deleted');
      return;
    }
    if (this.pods.has(uid)) return;
    const rigPod: RigPod = { uid, namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, netnsName: this.netnsName(uid), torndown: false };
    this.pods.set(uid, rigPod);
    await this.startSandbox(rigPod);
    void this.attachWithBackoff(rigPod);
  }

  private async forget(uid: string): Promise<void> {
    const known = this.pods.get(uid);
    if (known) await this.teardown(known);
    this.pods.delete(uid);
  }

  private async startSandbox(pod: RigPod): Promise<void> {
    await run('ip', ['netns', 'add', pod.netnsName]);
    await run('ip', ['netns', 'exec', pod.netnsName, 'ip', 'link', 'set', 'lo', 'up']);
    const cgroup = this.podCgroupDir(pod.uid);
    await mkdir(cgroup, { recursive: true });
    // The shell joins the pod's cgroup before exec'ing the pause process, so it never runs outside
    // it; setpriv kills it if the test process dies without stop().
    pod.pause = spawn(
      'setpriv',
      ['--pdeathsig', 'KILL', 'sh', '-c', 'echo $$ > "$1/cgroup.procs" && exec ip netns exec "$2" sleep infinity', 'pause', cgroup, pod.netnsName],
      { stdio: 'ignore' },
    );
  }

  /** CNI ADD until it succeeds or the pod goes, backing off like kubelet; each failure is shown in
   * the pod's status and cleaned up with DEL before the next try. */
  private async attachWithBackoff(pod: RigPod): Promise<void> {
    for (let delayMs = 1000; !pod.torndown && !this.stopped; delayMs = Math.min(delayMs * 2, maxBackoffMs)) {
      const attached = await this.inQueue(pod.uid, () => this.tryAttach(pod));
      if (attached || pod.torndown) return;
      await sleep(delayMs);
    }
  }

  private inQueue<T>(uid: string, operation: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => this.enqueue(uid, () => operation().then(resolve, reject)));
  }

  private async tryAttach(pod: RigPod): Promise<boolean> {
    if (pod.torndown) return false;
    try {
      pod.cniResult = JSON.parse((await this.cni('add', pod)).stdout) as CniResult;
      pod.lastError = undefined;
    } catch (error) {
      pod.lastError = cniMessage(error);
      this.options.logger?.warn({ pod: `${pod.namespace}/${pod.name}`, error: pod.lastError }, 'CNI ADD failed');
      await this.cni('del', pod).catch(() => undefined);
      await this.writeStatus(pod).catch(() => undefined);
      return false;
    }
    await this.writeStatus(pod);
    this.options.logger?.info({ pod: `${pod.namespace}/${pod.name}`, result: pod.cniResult }, 'pod running');
    return true;
  }

  private cni(command: 'add' | 'del', pod: RigPod): Promise<{ stdout: string; stderr: string }> {
    const pluginDirs = [this.options.toolsBinDir ?? toolsBin, dirname(this.options.ztkubeCniPath ?? ztkubeCniDefault)];
    return run(join(this.options.toolsBinDir ?? toolsBin, 'cnitool'), [command, this.networkName, this.netnsOf(pod.uid)], {
      timeout: 120_000,
      env: {
        PATH: process.env.PATH,
        CNI_PATH: pluginDirs.join(':'),
        NETCONFPATH: this.confDir,
        CNI_IFNAME: this.#underlay ? podInterface : 'lo',
        CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_UID=${pod.uid}`,
      },
    });
  }

  /** Running with eth0's address once CNI succeeded (as containerd reports it), otherwise
   * Pending with the CNI error in the Ready condition and the container waiting. */
  private async writeStatus(pod: RigPod): Promise<void> {
    for (;;) {
      const current = await this.core.readNamespacedPodStatus({ namespace: pod.namespace, name: pod.name });
      if (current.metadata!.uid !== pod.uid || current.metadata!.deletionTimestamp) return;
      current.status = this.statusOf(pod, current);
      try {
        await this.core.replaceNamespacedPodStatus({ namespace: pod.namespace, name: pod.name, body: current });
        return;
      } catch (error) {
        if (!(error instanceof ApiException && error.code === 409)) throw error;
      }
    }
  }

  private statusOf(pod: RigPod, current: V1Pod): V1Pod['status'] {
    const now = new Date();
    const running = pod.cniResult !== undefined;
    const condition = (type: string, status: boolean, reason?: string, message?: string): V1PodCondition => ({
      type,
      status: status ? 'True' : 'False',
      lastTransitionTime: now,
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
    });
    const failure = running ? [] : ['FailedCreatePodSandBox', `CNI ADD failed: ${pod.lastError}`];
    const podIps = running ? podInterfaceIps(pod.cniResult!, this.netnsOf(pod.uid)) : [];
    return {
      phase: running ? 'Running' : 'Pending',
      hostIP: this.gateway,
      hostIPs: [{ ip: this.gateway }],
      startTime: current.status?.startTime ?? now,
      ...(podIps.length > 0 ? { podIP: podIps[0], podIPs: podIps.map((ip) => ({ ip })) } : {}),
      conditions: [
        condition('PodScheduled', true),
        condition('Initialized', true),
        condition('ContainersReady', running, ...failure),
        condition('Ready', running, ...failure),
      ],
      containerStatuses: (current.spec?.containers ?? []).map((container) => ({
        name: container.name,
        image: container.image ?? '',
        imageID: '',
        ready: running,
        restartCount: 0,
        started: running,
        state: running ? { running: { startedAt: now } } : { waiting: { reason: 'ContainerCreating', message: failure[1] } },
      })),
    };
  }

  /** CNI DEL (its failure does not keep the pod: a kubelet would retry, the rig moves on), the
   * pause process, the netns and the cgroup dir. Idempotent. */
  private async teardown(pod: RigPod): Promise<void> {
    if (pod.torndown) return;
    pod.torndown = true;
    const log = this.options.logger?.child({ pod: `${pod.namespace}/${pod.name}` });
    await this.cni('del', pod).catch((error) => log?.warn({ error: cniMessage(error) }, 'CNI DEL failed'));
    log?.debug('CNI DEL done');
    await killAndWait(pod.pause);
    log?.debug('pause process gone');
    await run('ip', ['netns', 'del', pod.netnsName]).catch(() => undefined);
    await rmdir(this.podCgroupDir(pod.uid)).catch(() => undefined);
    log?.debug('sandbox removed');
  }
}

/** The IPv4 subnet's n-th address. */
function hostAddress(subnet: string, n: number): string {
  const octets = subnet.split('/')[0]!.split('.').map(Number);
  const value = (((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0) + n;
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

/** The addresses of the pod's eth0, one per family (what the Pod API holds). */
function podInterfaceIps(result: CniResult, netns: string): string[] {
  const index = (result.interfaces ?? []).findIndex((i) => i.name === podInterface && i.sandbox === netns);
  const addresses = (result.ips ?? []).filter((ip) => ip.interface === index).map((ip) => ip.address.split('/')[0]!);
  const v4 = addresses.find((a) => !a.includes(':'));
  const v6 = addresses.find((a) => a.includes(':'));
  return [v4, v6].filter((a): a is string => a !== undefined);
}

function cniMessage(error: unknown): string {
  const failed = error as { stderr?: string; stdout?: string; message?: string };
  return (failed.stderr || failed.stdout || failed.message || String(error)).trim();
}

async function killAndWait(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

function rigNodeInfo() {
  return {
    architecture: 'amd64',
    bootID: '',
    containerRuntimeVersion: 'rig://0',
    kernelVersion: '',
    kubeProxyVersion: '',
    kubeletVersion: 'v1.31.14',
    machineID: '',
    operatingSystem: 'linux',
    osImage: 'ztkube rig',
    systemUUID: '',
  };
}

/** Now as a MicroTime: client-node serializes a Date with milliseconds, which the apiserver
 * refuses for MicroTime fields, and passes a string through. */
function readyCondition(): V1NodeCondition {
  const now = new Date();
  return { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'rig kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now };
}

function microTime(): Date {
  return new Date().toISOString().replace('Z', '000Z') as unknown as Date;
}

function ignoreGone(error: unknown): undefined {
  if (!(error instanceof ApiException && (error.code === 404 || error.code === 409))) throw error;
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** libcni's result cache (cnitool cannot move it from /var/lib/cni); DEL removes an entry, this
 * removes those of a DEL that failed. */
const cniResultsDir = '/var/lib/cni/results';

async function removeCachedResults(networkName: string): Promise<void> {
  const entries = existsSync(cniResultsDir) ? await readdir(cniResultsDir) : [];
  for (const entry of entries.filter((name) => name.startsWith(`${networkName}-`))) await rm(join(cniResultsDir, entry), { force: true });
}

/** Whatever named after `prefix` is left on the host: netns, bridge, cgroup dir, cached CNI results. */
export async function leftovers(prefix: string): Promise<string[]> {
  const found: string[] = [];
  const results = existsSync(cniResultsDir) ? await readdir(cniResultsDir) : [];
  found.push(...results.filter((name) => name.startsWith(`${prefix}-net-`)).map((name) => `CNI result ${name}`));
  const netns = existsSync('/var/run/netns') ? await readdir('/var/run/netns') : [];
  found.push(...netns.filter((name) => name.startsWith(`${prefix}-`)).map((name) => `netns ${name}`));
  if (existsSync(`/sys/class/net/${prefix}-br`)) found.push(`bridge ${prefix}-br`);
  if (existsSync(join(cgroupRoot, prefix))) found.push(`cgroup ${join(cgroupRoot, prefix)}`);
  return found;
}
