// ZeroTierNode: the engine (native/core Node: VL1, VL2 and optionally the network controller)
// with its host callbacks in TypeScript. Every
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
  /** Some path to the peer is alive (else it is reached through a root). */
  direct: boolean;
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

/** A joined network as the node sees it: the shape of 1.14's `listnetworks -j` entries. */
export interface VirtualNetworkConfig {
  id: string;
  /** "xx:xx:xx:xx:xx:xx" */
  mac: string;
  name: string;
  status:
    | 'REQUESTING_CONFIGURATION'
    | 'OK'
    | 'ACCESS_DENIED'
    | 'NOT_FOUND'
    | 'PORT_ERROR'
    | 'CLIENT_TOO_OLD'
    | 'AUTHENTICATION_REQUIRED';
  type: 'PRIVATE' | 'PUBLIC';
  mtu: number;
  dhcp: boolean;
  bridge: boolean;
  broadcastEnabled: boolean;
  portError: number;
  netconfRevision: number;
  /** "ip/bits" */
  assignedAddresses: string[];
  routes: { target: string; via: string | null; flags: number; metric: number }[];
  multicastSubscriptions: { mac: string; adi: number }[];
  dns: { domain: string; servers: string[] };
}

/** Network and member records in the JSON shapes of ZeroTier 1.14's controller. */
export type ControllerRecord = Record<string, unknown>;

export interface ControllerRecords {
  networks: ControllerRecord[];
  members: ControllerRecord[];
}

/** One write the controller made to its records, for the store to persist. */
export type ControllerStoreChange =
  | { kind: 'network'; record: ControllerRecord }
  | { kind: 'member'; record: ControllerRecord }
  | { kind: 'deleteNetwork'; networkId: string }
  | { kind: 'deleteMember'; networkId: string; address: string };

/** Where a controller's records live. load() runs once at start; save() sees every later write, in order. */
export interface ControllerStore {
  load(): ControllerRecords;
  save(change: ControllerStoreChange): void;
}

export interface ControllerMemberStatus {
  address: string;
  authorized: boolean;
  activeBridge: boolean;
  /** Public identity text; empty until the member's first request. */
  identity: string;
  ipAssignments: string[];
  revision: number;
  /** ms of its last request since this controller started; 0 none. */
  lastSeen: number;
  physicalAddress: string | null;
  /** Asked within the last 120 s. */
  online: boolean;
}

/** The first of the named string fields of a record, lower case (the controller always writes them). */
export function recordIdField(record: ControllerRecord, ...names: string[]): string {
  for (const name of names) {
    const value = record[name];
    if (typeof value === 'string' && value !== '') return value.toLowerCase();
  }
  throw new Error(`controller record without ${names.join(' or ')}: ${JSON.stringify(record).slice(0, 200)}`);
}

/** A controller write as the addon reports it: (kind, record JSON) or (kind, network id[, address]). */
export function controllerStoreChange(kind: string, a: string, b?: string): ControllerStoreChange {
  if (kind === 'network' || kind === 'member') return { kind, record: JSON.parse(a) as ControllerRecord };
  if (kind === 'deleteNetwork') return { kind, networkId: a };
  return { kind: 'deleteMember', networkId: a, address: b! };
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
  join(now: number, networkId: string): ResultCode;
  leave(now: number, networkId: string): ResultCode;
  processVirtualNetworkFrame(now: number, networkId: string, srcMac: string, dstMac: string, etherType: number,
    vlanId: number, payload: Buffer): ProcessResult;
  multicastSubscribe(now: number, networkId: string, mac: string, adi?: number): ResultCode;
  multicastUnsubscribe(networkId: string, mac: string, adi?: number): ResultCode;
  networks(): string[];
  networkConfig(networkId: string): string | null;
  runController(now: number, records: string, onChange: (kind: string, a: string, b?: string) => void): void;
  controllerSet(now: number, kind: 'network' | 'member', record: string): void;
  controllerDelete(now: number, networkId: string, address?: string): void;
  controllerMembers(now: number, networkId: string): string;
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

  // ---- VL2. Network ids are 16 hex digits, MACs 12 hex digits (no separators).

  /** UP at once; the config request goes out at the next background tick. Joining twice is a no-op. */
  join(now: number, networkId: string): ResultCode {
    return this.#native.join(now, networkId);
  }

  /** DESTROY, and the saved config is deleted. */
  leave(now: number, networkId: string): ResultCode {
    return this.#native.leave(now, networkId);
  }

  /** An Ethernet frame from the network's port (vlanId must be 0). */
  processVirtualNetworkFrame(now: number, networkId: string, srcMac: string, dstMac: string, etherType: number,
    payload: Buffer, vlanId = 0): ProcessResult {
    return this.#native.processVirtualNetworkFrame(now, networkId, srcMac, dstMac, etherType, vlanId, payload);
  }

  multicastSubscribe(now: number, networkId: string, mac: string, adi = 0): ResultCode {
    return this.#native.multicastSubscribe(now, networkId, mac, adi);
  }

  multicastUnsubscribe(networkId: string, mac: string, adi = 0): ResultCode {
    return this.#native.multicastUnsubscribe(networkId, mac, adi);
  }

  networks(): string[] {
    return this.#native.networks();
  }

  networkConfig(networkId: string): VirtualNetworkConfig | null {
    const text = this.#native.networkConfig(networkId);
    return text === null ? null : (JSON.parse(text) as VirtualNetworkConfig);
  }

  // ---- The embedded network controller, for networks whose id starts with this node's address.

  /** Loads the store's records (a record the controller cannot read is an error naming it) and
   * answers config requests from now on; writes go to store.save. */
  runController(store: ControllerStore, now: number = Date.now()): void {
    this.#native.runController(now, JSON.stringify(store.load()), (kind, a, b) => store.save(controllerStoreChange(kind, a, b)));
  }

  /** Creates or updates a record (the fields given replace the stored ones) and pushes the result
   * to the members at once; deauthorising revokes. Throws with the reason for a bad record. */
  setNetwork(now: number, record: ControllerRecord): void {
    this.#native.controllerSet(now, 'network', JSON.stringify(record));
  }

  setMember(now: number, record: ControllerRecord): void {
    this.#native.controllerSet(now, 'member', JSON.stringify(record));
  }

  deleteNetwork(now: number, networkId: string): void {
    this.#native.controllerDelete(now, networkId);
  }

  deleteMember(now: number, networkId: string, address: string): void {
    this.#native.controllerDelete(now, networkId, address);
  }

  members(now: number, networkId: string): ControllerMemberStatus[] {
    return JSON.parse(this.#native.controllerMembers(now, networkId)) as ControllerMemberStatus[];
  }

  /** Persists the peer cache and fires DOWN; afterwards the node ignores every call. */
  shutdown(now: number = Date.now()): void {
    this.#native.shutdown(now);
  }
}
