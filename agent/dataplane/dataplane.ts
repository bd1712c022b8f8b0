// The data plane from TypeScript: pods attach to native worker threads (native/dataplane) that
// move their packets between UDP sockets and TAPs without JavaScript. This side loads each pod's
// state before its node starts, writes every state change through to the pod's store in order,
// keeps the latest config of each pod's networks (what status annotations and the demo show) and
// logs with pod and network in every line.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { nativeAddon } from '../lib/native.js';
import { controllerStoreChange, VirtualNetworkConfigOperation } from '../lib/node.js';
import type {
  ControllerMemberStatus,
  ControllerRecord,
  ControllerStore,
  NodeEventName,
  StateId,
  StateObjectType,
  VirtualNetworkConfig,
} from '../lib/node.js';
import type { NodeStateStore } from '../lib/state-store.js';

export interface PodSpec {
  /** Unique key, e.g. "namespace/name"; in every log line and error. */
  key: string;
  /** Network namespace path (/var/run/netns/x, /proc/<pid>/ns/net); omitted: this process's. */
  netns?: string;
  /** UDP bind inside the namespace, "ip/port" (default 0.0.0.0/9993). */
  bind?: string;
  /** Network ids to join (16 hex digits); networks with a saved config rejoin by themselves. */
  networks?: string[];
  store: NodeStateStore;
  /** Relay for everyone and answer WHOIS: the pod is a root of its planet. */
  rootMode?: boolean;
  /** Run the network controller for networks whose id starts with this pod's address. */
  controller?: ControllerStore;
}

export interface AttachedPod {
  key: string;
  address: string;
  publicIdentity: string;
  /** Where the pod's UDP socket is bound, "ip/port". */
  udpLocal: string;
}

/** A network of a pod as last reported by its node, after the TAP was configured. */
export interface PodNetwork {
  networkId: string;
  /** The TAP in the pod's namespace; "" while the network has no config. */
  interfaceName: string;
  /** Why applying the config to the TAP failed; "" when it did not. */
  applyError: string;
  config: VirtualNetworkConfig;
}

export interface PeerStatus {
  address: string;
  role: 'LEAF' | 'MOON' | 'PLANET';
  latency: number;
  version: string | null;
  direct: boolean;
}

export interface NetworkCounters {
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
}

/** What the native side reports for a pod (Dataplane::status). */
export interface PodStatus {
  pod: string;
  address: string;
  publicIdentity: string;
  online: boolean;
  udpLocal: string;
  peers: PeerStatus[];
  networks: (VirtualNetworkConfig & { interface: string; counters: NetworkCounters })[];
  counters: {
    packetsReceived: number;
    packetsSent: number;
    packetsRelayed: number;
    dropped: Record<string, number>;
    [name: string]: unknown;
  };
}

interface DataplaneEvents {
  network: [pod: string, network: PodNetwork, operation: VirtualNetworkConfigOperation];
  event: [pod: string, event: NodeEventName, detail: string];
}

interface NativeObserver {
  statePut(pod: string, type: number, id0: string, id1: string, data: Buffer | null): void;
  event(pod: string, event: string, detail: string): void;
  networkConfig(pod: string, operation: number, config: string, interfaceName: string, applyError: string): void;
  controllerChange(pod: string, kind: string, a: string, b?: string): void;
}

interface NativeDataplane {
  attach(options: string, state: [number, string, string, Buffer][]): Promise<string>;
  detach(pod: string): Promise<string>;
  join(pod: string, networkId: string): Promise<string>;
  leave(pod: string, networkId: string): Promise<string>;
  status(pod: string): Promise<string>;
  controllerSet(pod: string, kind: 'network' | 'member', record: string): Promise<string>;
  controllerDelete(pod: string, networkId: string, member?: string): Promise<string>;
  controllerMembers(pod: string, networkId: string): Promise<string>;
  close(): Promise<string>;
}

type NativeDataplaneClass = new (observer: NativeObserver, threads: number) => NativeDataplane;

interface Pod {
  spec: PodSpec;
  log: Logger;
  networks: Map<string, PodNetwork>;
  /** The chain of state writes, in the order the node made them. */
  writes: Promise<void>;
}


export class Dataplane extends EventEmitter<DataplaneEvents> {
  readonly #native: NativeDataplane;
  readonly #pods = new Map<string, Pod>();
  readonly #log: Logger;

  constructor(options: { threads?: number; logger: Logger }) {
    super();
    this.#log = options.logger;
    const { Dataplane: Native } = nativeAddon() as { Dataplane: NativeDataplaneClass };
    this.#native = new Native(
      {
        statePut: (pod, type, id0, id1, data) => this.#statePut(pod, type as StateObjectType, [id0, id1], data),
        event: (pod, event, detail) => this.#event(pod, event as NodeEventName, detail),
        networkConfig: (pod, operation, config, interfaceName, applyError) =>
          this.#networkConfig(pod, operation, JSON.parse(config) as VirtualNetworkConfig, interfaceName, applyError),
        controllerChange: (pod, kind, a, b) => this.#controllerChange(pod, kind, a, b),
      },
      options.threads ?? 2,
    );
  }

  /** Loads the pod's state, starts its node on a worker (socket and TAPs in its namespace) and joins its networks. */
  async attach(spec: PodSpec): Promise<AttachedPod> {
    if (this.#pods.has(spec.key)) throw new Error(`pod ${spec.key} is already attached`);
    const log = this.#log.child({ pod: spec.key });
    const pod: Pod = { spec, log, networks: new Map(), writes: Promise.resolve() };
    this.#pods.set(spec.key, pod);
    try {
      const state = (await spec.store.load()).map((e) => [e.type, e.id[0], e.id[1], e.data] as [number, string, string, Buffer]);
      const options = {
        key: spec.key,
        netns: spec.netns ?? '',
        bind: spec.bind ?? '0.0.0.0/9993',
        networks: spec.networks ?? [],
        rootMode: spec.rootMode ?? false,
        ...(spec.controller ? { controller: spec.controller.load() } : {}),
      };
      const attached = JSON.parse(await this.#native.attach(JSON.stringify(options), state)) as Omit<AttachedPod, 'key'>;
      log.info({ address: attached.address, udpLocal: attached.udpLocal, netns: spec.netns }, 'pod attached');
      return { key: spec.key, ...attached };
    } catch (e) {
      this.#pods.delete(spec.key);
      throw e;
    }
  }

  /** Stops the pod's node (its TAPs and their routes go with it) and waits for its last state writes. */
  async detach(key: string): Promise<void> {
    const pod = this.#pod(key);
    await this.#native.detach(key);
    await pod.writes;
    this.#pods.delete(key);
    pod.log.info('pod detached');
  }

  async join(key: string, networkId: string): Promise<void> {
    this.#pod(key);
    await this.#native.join(key, networkId);
  }

  async leave(key: string, networkId: string): Promise<void> {
    this.#pod(key);
    await this.#native.leave(key, networkId);
  }

  async status(key: string): Promise<PodStatus> {
    this.#pod(key);
    return JSON.parse(await this.#native.status(key)) as PodStatus;
  }

  /** The pods attached now. */
  pods(): string[] {
    return [...this.#pods.keys()];
  }

  /** The pod's networks as last reported (after each config was applied to its TAP). */
  networks(key: string): PodNetwork[] {
    return [...this.#pod(key).networks.values()];
  }

  // ---- The embedded controller of a pod attached with `controller`. Changes are pushed to the
  // members at once; the controller writes the resulting records to the pod's ControllerStore.

  async setNetwork(key: string, record: ControllerRecord): Promise<void> {
    await this.#native.controllerSet(key, 'network', JSON.stringify(record));
  }

  async setMember(key: string, record: ControllerRecord): Promise<void> {
    await this.#native.controllerSet(key, 'member', JSON.stringify(record));
  }

  async deleteNetwork(key: string, networkId: string): Promise<void> {
    await this.#native.controllerDelete(key, networkId);
  }

  async deleteMember(key: string, networkId: string, address: string): Promise<void> {
    await this.#native.controllerDelete(key, networkId, address);
  }

  async members(key: string, networkId: string): Promise<ControllerMemberStatus[]> {
    return JSON.parse(await this.#native.controllerMembers(key, networkId)) as ControllerMemberStatus[];
  }

  /** Detaches every pod, stops the workers and waits for every state write. */
  async close(): Promise<void> {
    await this.#native.close();
    await Promise.all([...this.#pods.values()].map((p) => p.writes));
    this.#pods.clear();
  }

  #pod(key: string): Pod {
    const pod = this.#pods.get(key);
    if (!pod) throw new Error(`pod ${key} is not attached`);
    return pod;
  }

  #statePut(key: string, type: StateObjectType, id: StateId, data: Buffer | null): void {
    const pod = this.#pods.get(key);
    if (!pod) return;
    pod.writes = pod.writes
      .then(() => pod.spec.store.put(type, id, data))
      .catch((e: unknown) => pod.log.error({ err: e, stateType: type, stateId: id.join('-') }, 'state write failed'));
  }

  #event(key: string, event: NodeEventName, detail: string): void {
    const log = this.#pods.get(key)?.log ?? this.#log.child({ pod: key });
    const level = event.startsWith('FATAL') ? 'error' : event === 'TRACE' ? 'debug' : 'info';
    log[level]({ event, ...(detail ? { detail } : {}) }, `node ${event.toLowerCase()}`);
    this.emit('event', key, event, detail);
  }

  #networkConfig(key: string, operation: number, config: VirtualNetworkConfig, interfaceName: string, applyError: string): void {
    const pod = this.#pods.get(key);
    if (!pod) return;
    const network: PodNetwork = { networkId: config.id, interfaceName, applyError, config };
    const log = pod.log.child({ network: config.id });
    if (operation === VirtualNetworkConfigOperation.Destroy) pod.networks.delete(config.id);
    else pod.networks.set(config.id, network);
    if (applyError) log.error({ interface: interfaceName, applyError }, 'network config not applied');
    else
      log.info(
        { operation: VirtualNetworkConfigOperation[operation], status: config.status, interface: interfaceName, addresses: config.assignedAddresses },
        'network config',
      );
    this.emit('network', key, network, operation as VirtualNetworkConfigOperation);
  }

  #controllerChange(key: string, kind: string, a: string, b?: string): void {
    const pod = this.#pods.get(key);
    const store = pod?.spec.controller;
    if (!pod || !store) return;
    try {
      store.save(controllerStoreChange(kind, a, b));
    } catch (e) {
      pod.log.error({ err: e, kind }, 'controller record write failed');
    }
  }
}
