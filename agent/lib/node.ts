// ZeroTierNode: the VL1 engine (native/core Node) with its host callbacks in TypeScript. Every
// callback runs synchronously on the JS thread while a method of the node runs; a callback must
// not call back into the same node. Structured results cross the boundary as JSON text.
import { nativeAddon } from './native.js';

export enum StateObjectType {
  IdentityPublic = 1,
  IdentitySecret = 2,
  Planet = 3,
  Moon = 4,
  Peer = 5,
  NetworkConfig = 6,
}

/** A state object's id: two 64-bit words as 16 hex digits each (e.g. a moon id, then 0). */
export type StateId = readonly [string, string];

export type NodeEventName =
  | 'UP'
  | 'OFFLINE'
  | 'ONLINE'
  | 'DOWN'
  | 'FATAL_ERROR_IDENTITY_COLLISION'
  | 'TRACE'
  | 'USER_MESSAGE'
  | 'REMOTE_TRACE';

export enum ResultCode {
  Ok = 0,
  OkIgnored = 1,
  FatalOutOfMemory = 100,
  FatalDataStoreFailed = 101,
  FatalInternal = 102,
  NetworkNotFound = 1000,
  UnsupportedOperation = 1001,
  BadParameter = 1002,
}

export enum VirtualNetworkConfigOperation {
  Up = 1,
  ConfigUpdate = 2,
  Down = 3,
  Destroy = 4,
}

export interface ZeroTierNodeCallbacks {
  /** Synchronous read: a host with a remote store preloads it. null/undefined: not stored. */
  stateGet(type: StateObjectType, id: StateId): Buffer | null | undefined;
  /** data null deletes the object. */
  statePut(type: StateObjectType, id: StateId, data: Buffer | null): void;
  /** Ids of stored objects of a type (MOON, PEER); optional. */
  stateList?(type: StateObjectType): StateId[];
  event(event: NodeEventName, detail: string): void;
  /** remote is "ip/port"; localSocket -1 means any; ttl 0 the default. false: not sent. */
  wirePacketSend(localSocket: number, remote: string, data: Buffer, ttl: number): boolean | void;
  /** VL2: a frame for the TAP of network networkId (MACs as hex). */
  virtualNetworkFrame?(networkId: string, srcMac: string, dstMac: string, etherType: number, vlanId: number,
    payload: Buffer): void;
  /** VL2: a network came up, changed, went down or was destroyed. config is JSON text in the shape
   * of 1.14's `listnetworks -j` entries; a non-zero number returned is the port error. */
  virtualNetworkConfig?(networkId: string, operation: VirtualNetworkConfigOperation, config: string): number | void;
  /** May veto a physical path for a peer (default: allowed). */
  pathCheck?(address: string, localSocket: number, remote: string): boolean;
  /** May suggest "ip/port" for a peer we have no path to; family 0 any, 4 or 6. */
  pathLookup?(address: string, family: number): string | null | undefined;
}

export interface ZeroTierNodeOptions {
  /** ONLINE while a root was heard within this many ms (default 500,000 as in 1.14). */
  peerActivityTimeout?: number;
  /** UDP payload size above which packets are fragmented (default 1432). */
  physicalMtu?: number;
  /** Read PEER objects (listed by stateList) on creation. */
  loadPeerCache?: boolean;
  /** Act as a root from the start (see setRootMode). */
  rootMode?: boolean;
}

export interface ProcessResult {
  result: ResultCode;
  /** Call processBackgroundTasks no later than this (ms, same clock as now). */
  nextDeadline: number;
}

export interface NodeStatus {
  address: string;
  publicIdentity: string;
  online: boolean;
}

export interface PeerPath {
  localSocket: number;
  remote: string;
  lastSend: number;
  lastReceive: number;
  /** The path the node sends on. */
  preferred: boolean;
  alive: boolean;
}

export type PeerRole = 'LEAF' | 'MOON' | 'PLANET';

export interface PeerInfo {
  address: string;
  /** -1 until the peer's HELLO or OK(HELLO). */
  protocolVersion: number;
  /** "major.minor.revision" or null while unknown. */
  version: string | null;
  /** ms, -1 unknown. */
  latency: number;
  role: PeerRole;
  paths: PeerPath[];
}

export type DropReason =
  | 'truncated'
  | 'badFragment'
  | 'notAuthenticated'
  | 'replay'
  | 'unknownPeerQueueFull'
  | 'whoisTimeout'
  | 'badHello'
  | 'hopLimit'
  | 'unexpectedOk'
  | 'unsupported'
  | 'badCompression'
  | 'malformed'
  | 'fromSelf'
  | 'untrustedRelay'
  | 'noRoute'
  | 'rateLimited'
  | 'notFromRoot';

export interface NodeCounters {
  dropped: Record<DropReason, number>;
  packetsReceived: number;
  packetsSent: number;
  packetsRelayed: number;
  echoRepliesReceived: number;
  whoisAnswered: number;
}

interface NativeNode {
  processWirePacket(now: number, localSocket: number, remote: string, data: Buffer): ProcessResult;
  processBackgroundTasks(now: number): ProcessResult;
  address(): string;
  status(): string;
  peers(): string;
  counters(): string;
  echo(now: number, address: string): ProcessResult;
  addLocalInterfaceAddress(address: string): void;
  orbit(now: number, moonId: string, seed: string): ProcessResult;
  deorbit(moonId: string): ResultCode;
  setRootMode(root: boolean): void;
  shutdown(now: number): void;
}

type NativeNodeClass = new (callbacks: ZeroTierNodeCallbacks, now: number, options: ZeroTierNodeOptions) => NativeNode;

export class ZeroTierNode {
  readonly #native: NativeNode;

  /** Throws when the stored identity is unreadable (it is never replaced silently). */
  constructor(callbacks: ZeroTierNodeCallbacks, now: number = Date.now(), options: ZeroTierNodeOptions = {}) {
    const { Node } = nativeAddon() as { Node: NativeNodeClass };
    this.#native = new Node(callbacks, now, options);
  }

  /** Feeds one received UDP payload; remote is "ip/port". */
  processWirePacket(now: number, localSocket: number, remote: string, data: Buffer): ProcessResult {
    return this.#native.processWirePacket(now, localSocket, remote, data);
  }

  processBackgroundTasks(now: number): ProcessResult {
    return this.#native.processBackgroundTasks(now);
  }

  /** 10 hex digits. */
  get address(): string {
    return this.#native.address();
  }

  status(): NodeStatus {
    return JSON.parse(this.#native.status()) as NodeStatus;
  }

  peers(): PeerInfo[] {
    return JSON.parse(this.#native.peers()) as PeerInfo[];
  }

  counters(): NodeCounters {
    return JSON.parse(this.#native.counters()) as NodeCounters;
  }

  /** Sends an ECHO (after a WHOIS if the peer is unknown); replies count in counters(). */
  echo(now: number, address: string): ProcessResult {
    return this.#native.echo(now, address);
  }

  /** An address of this host's own interfaces ("ip/port"): never HELLOed as a peer's hint. */
  addLocalInterfaceAddress(address: string): void {
    this.#native.addLocalInterfaceAddress(address);
  }

  /** moonId: 16 hex digits; seed: the address of one of its roots. */
  orbit(now: number, moonId: string, seed: string): ProcessResult {
    return this.#native.orbit(now, moonId, seed);
  }

  deorbit(moonId: string): ResultCode {
    return this.#native.deorbit(moonId);
  }

  /** A root relays for everyone, answers WHOIS from its peer table and is always online. */
  setRootMode(root: boolean): void {
    this.#native.setRootMode(root);
  }

  /** Persists the peer cache and fires DOWN; afterwards the node ignores every call. */
  shutdown(now: number = Date.now()): void {
    this.#native.shutdown(now);
  }
}
