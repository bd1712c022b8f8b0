// One ZeroTierNode on one node:dgram socket with its host loop: received datagrams go to
// processWirePacket, and a timer runs processBackgroundTasks by each deadline the node returns.
import { createSocket, type Socket } from 'node:dgram';
import type { DirStateStore } from './dir-store.js';
import {
  ZeroTierNode,
  type NodeEventName,
  type VirtualNetworkConfig,
  type VirtualNetworkConfigOperation,
  type ZeroTierNodeOptions,
} from './node.js';

export interface UdpNodeHostOptions {
  /** IPv4 address to bind, e.g. 127.0.0.1. */
  address: string;
  /** UDP port; 0 (the default) lets the system choose. */
  port?: number;
  store: DirStateStore;
  /** May refuse a remote "ip/port" for sending and as a peer's path (default: all allowed). */
  allowRemote?(remote: string): boolean;
  /** Sees every received datagram, right after the node processed it. */
  onPacket?(data: Buffer, remote: string): void;
  onEvent?(event: NodeEventName, detail: string): void;
  /** VL2: a frame for this node's port on a network (MACs as 12 hex digits). */
  onFrame?(networkId: string, srcMac: string, dstMac: string, etherType: number, payload: Buffer): void;
  /** VL2: a network came up, changed, went down or was destroyed. */
  onNetworkConfig?(networkId: string, operation: VirtualNetworkConfigOperation, config: VirtualNetworkConfig): void;
}

export interface NodeEvent {
  event: NodeEventName;
  detail: string;
}

// The longest the host sleeps between background tasks, whatever deadline the node returns.
const MAX_TIMER_MS = 5000;
// Events kept in `events`: lifecycle events are few, but USER_MESSAGE comes from the network.
const EVENT_HISTORY = 256;

export class UdpNodeHost {
  /** The node's most recent events, oldest first. */
  readonly events: NodeEvent[] = [];
  /** Sends and paths refused by allowRemote. */
  refusedSends = 0;
  #node: ZeroTierNode | undefined;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #closed = false;

  private constructor(
    readonly socket: Socket,
    readonly address: string,
    readonly port: number,
    readonly store: DirStateStore,
    readonly options: UdpNodeHostOptions,
  ) {}

  /** Binds the socket; start() then creates the node (so its endpoint can go into a planet first). */
  static async bind(options: UdpNodeHostOptions): Promise<UdpNodeHost> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port ?? 0, options.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new UdpNodeHost(socket, options.address, socket.address().port, options.store, options);
  }

  /** "ip/port" as ZeroTier writes endpoints. */
  get endpoint(): string {
    return `${this.address}/${this.port}`;
  }

  get node(): ZeroTierNode {
    if (!this.#node) throw new Error(`node on ${this.endpoint} not started`);
    return this.#node;
  }

  /** Creates the node from the store (throws if its identity is unreadable) and starts the loop. */
  start(nodeOptions: ZeroTierNodeOptions = {}): void {
    const allow = (remote: string) => this.options.allowRemote?.(remote) ?? true;
    this.#node = new ZeroTierNode(
      {
        stateGet: (type, id) => this.store.get(type, id),
        statePut: (type, id, data) => this.store.put(type, id, data),
        stateList: (type) => this.store.list(type),
        event: (event, detail) => this.#record(event, detail),
        wirePacketSend: (_localSocket, remote, data) => {
          if (this.#closed) return false;
          if (!allow(remote)) {
            this.refusedSends++;
            return false;
          }
          const slash = remote.lastIndexOf('/');
          this.socket.send(data, Number(remote.slice(slash + 1)), remote.slice(0, slash));
          return true;
        },
        virtualNetworkFrame: (networkId, srcMac, dstMac, etherType, _vlanId, payload) =>
          this.options.onFrame?.(networkId, srcMac, dstMac, etherType, payload),
        virtualNetworkConfig: (networkId, operation, config) => {
          this.options.onNetworkConfig?.(networkId, operation, JSON.parse(config) as VirtualNetworkConfig);
        },
        pathCheck: (_address, _localSocket, remote) => allow(remote),
        pathLookup: () => null,
      },
      Date.now(),
      nodeOptions,
    );
    this.socket.on('message', (data, rinfo) => {
      if (this.#closed) return;
      const remote = `${rinfo.address}/${rinfo.port}`;
      this.#schedule(this.node.processWirePacket(Date.now(), 0, remote, data).nextDeadline);
      this.options.onPacket?.(data, remote);
    });
    this.#schedule(Date.now());
  }

  /** Sends an ECHO (WHOIS first if the peer is unknown); replies count in node.counters(). */
  echo(address: string): void {
    this.#schedule(this.node.echo(Date.now(), address).nextDeadline);
  }

  /** Runs a call on the node (join, a frame, a controller change...) and then its background
   * tasks right away, so whatever the call set in motion goes out without waiting for a timer. */
  run<T>(action: (node: ZeroTierNode, now: number) => T): T {
    const result = action(this.node, Date.now());
    this.#schedule(Date.now());
    return result;
  }

  fired(event: NodeEventName): boolean {
    return this.events.some((e) => e.event === event);
  }

  /** Stops the loop and closes the socket; shuts the node down first (persisting peers) unless told not to. */
  close(shutdown = true): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    try {
      if (shutdown) this.#node?.shutdown(Date.now());
    } finally {
      this.socket.close();
    }
  }

  #record(event: NodeEventName, detail: string): void {
    this.events.push({ event, detail });
    if (this.events.length > EVENT_HISTORY) this.events.shift();
    this.options.onEvent?.(event, detail);
  }

  /** Runs processBackgroundTasks no later than deadline (and again by each deadline it returns). */
  #schedule(deadline: number): void {
    if (this.#closed || deadline >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = deadline;
    this.#timer = setTimeout(() => {
      this.#timerAt = Infinity;
      if (this.#closed) return;
      this.#schedule(this.node.processBackgroundTasks(Date.now()).nextDeadline);
    }, Math.max(1, Math.min(deadline - Date.now(), MAX_TIMER_MS)));
  }
}
