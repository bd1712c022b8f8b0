// Typed access to the native addon (build/Release/ztkube.node). The addon returns structured
// results as JSON text; this module parses them into the types below.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PacketDescription {
  packetId: string;
  destination: string;
  source: string;
  hops: number;
  cipher: number;
  fragmented: boolean;
  authenticated: boolean;
  verb: number;
  verbName: string;
  /** The whole packet after decryption and decompression, header included. */
  plaintextHex: string;
  fields: Record<string, unknown>;
}

export interface WorldRoot {
  /** Public identity text. */
  identity: string;
  /** "ip/port" endpoints. */
  stableEndpoints: string[];
}

export type WorldType = 'planet' | 'moon';

/** What is signed into a world; the shape of world/*.json without the derived fields. */
export interface WorldSpec {
  type: WorldType;
  id: number;
  timestamp: number;
  /** Hex public key that must sign the next revision; defaults to the signing key. */
  updatesMustBeSignedBy?: string;
  roots: WorldRoot[];
}

export interface WorldDescription extends Required<WorldSpec> {
  signature: string;
  length: number;
  parsedLength: number;
}

/** A world signing key pair as in world/lab-planet-signing-key.json (64 + 64 bytes, hex). */
export interface WorldSigningKey {
  publicKeyHex: string;
  privateKeyHex: string;
}

export interface ManagedRoute {
  target: string;
  via: string | null;
  flags: number;
  metric: number;
}

/** A rule in the JSON form 1.14's controller records: type, not, or, and per-type fields. */
export interface Rule {
  type: string;
  not: boolean;
  or: boolean;
  [field: string]: unknown;
}

export interface NetworkConfigDescription {
  networkId: string;
  controller: string;
  issuedTo: string;
  name: string;
  type: 'PRIVATE' | 'PUBLIC';
  revision: number;
  timestamp: number;
  mtu: number;
  multicastLimit: number;
  flags: number;
  broadcastEnabled: boolean;
  /** "ip/bits" */
  assignedAddresses: string[];
  routes: ManagedRoute[];
  dns: { domain: string; servers: string[] };
  rules: Rule[];
  credentials: Record<string, unknown>;
  [key: string]: unknown;
}

interface Addon {
  identityGenerate(): string;
  identityGenerateAsync(idle?: boolean): Promise<string>;
  identityValidate(identity: string): boolean;
  identityGetPublic(identity: string): string;
  identitySign(secretIdentity: string, message: Buffer): string;
  identityVerify(publicIdentity: string, message: Buffer, signatureHex: string): boolean;
  identityAgree(secretIdentity: string, publicIdentity: string): string;
  decodePacket(receiverSecret: string, senderPublic: string, datagrams: Buffer[]): string;
  describeWorld(world: Buffer): string;
  createWorld(specJson: string, signingSecretHex: string, signingPublicHex: string): Buffer;
  decodeNetconf(dictionary: Buffer): string;
}

const addonPath = 'build/Release/ztkube.node';

// The package root is the nearest ancestor holding package.json: this module runs both from
// agent/lib (tests) and from dist/agent/lib (the built CLI).
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the ztkube package root');
    dir = parent;
  }
  return dir;
}

/** A path inside the installed package (examples, build outputs). */
export function repoPath(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}

function load(): Addon {
  const path = join(packageRoot(), addonPath);
  if (!existsSync(path)) throw new Error(`native addon not built (${path} missing): run 'npm run build'`);
  return createRequire(import.meta.url)(path) as Addon;
}

let cached: Addon | undefined;
function addon(): Addon {
  cached ??= load();
  return cached;
}

/** A new secret identity (text form); takes a few hundred milliseconds of proof of work. */
export function identityGenerate(): string {
  return addon().identityGenerate();
}

/** identityGenerate off the event loop, which keeps running during the proof of work. `idle`:
 * only with CPU time nobody else wants (a thread at SCHED_IDLE), for identities made ahead of need. */
export function generateIdentity(priority: 'normal' | 'idle' = 'normal'): Promise<string> {
  return addon().identityGenerateAsync(priority === 'idle');
}

/** Full validation, proof of work included; unparseable text is invalid. */
export function identityValidate(identity: string): boolean {
  return addon().identityValidate(identity);
}

export function identityGetPublic(identity: string): string {
  return addon().identityGetPublic(identity);
}

/** 96-byte signature as hex. */
export function identitySign(secretIdentity: string, message: Buffer): string {
  return addon().identitySign(secretIdentity, message);
}

export function identityVerify(publicIdentity: string, message: Buffer, signatureHex: string): boolean {
  return addon().identityVerify(publicIdentity, message, signatureHex);
}

/** The 48-byte symmetric key two identities agree on, as hex. */
export function identityAgree(secretIdentity: string, publicIdentity: string): string {
  return addon().identityAgree(secretIdentity, publicIdentity);
}

/** Decodes one packet received by `receiverSecret` from `senderPublic`: head, then fragments. */
export function decodePacket(receiverSecret: string, senderPublic: string, datagrams: Buffer[]): PacketDescription {
  return JSON.parse(addon().decodePacket(receiverSecret, senderPublic, datagrams)) as PacketDescription;
}

export function describeWorld(world: Buffer): WorldDescription {
  return JSON.parse(addon().describeWorld(world)) as WorldDescription;
}

/** Signs `spec` with the previous revision's update key and returns the binary world. */
export function createWorld(spec: WorldSpec, key: WorldSigningKey): Buffer {
  return addon().createWorld(JSON.stringify(spec), key.privateKeyHex, key.publicKeyHex);
}

export function decodeNetconf(dictionary: Buffer): NetworkConfigDescription {
  return JSON.parse(addon().decodeNetconf(dictionary)) as NetworkConfigDescription;
}

/** The loaded addon itself, for the typed wrappers of its classes (node.ts). */
export function nativeAddon(): unknown {
  return addon();
}
