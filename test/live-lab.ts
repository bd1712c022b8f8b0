// Nodes on live UDP for the vitest suites: UdpNodeHosts (a ZeroTierNode on a node:dgram socket
// with its host loop) on 127.0.0.1, a root serving a planet made with createWorld, and leaves
// using it. Hosts refuse to send anywhere but 127.0.0.1. cleanUp() (call it in afterEach) closes
// every host and removes every state directory, even when a test failed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirStateStore } from '../agent/lib/dir-store.js';
import { createWorld, identityGenerate } from '../agent/lib/native.js';
import { StateObjectType, type StateId, type ZeroTierNodeOptions } from '../agent/lib/node.js';
import { UdpNodeHost, type UdpNodeHostOptions } from '../agent/lib/udp-host.js';

export const LOOPBACK = '127.0.0.1';
export const ZERO: StateId = ['0000000000000000', '0000000000000000'];
const PLANET_ID = 149604618;

/** A UdpNodeHost that keeps every datagram it received. */
export type LiveHost = UdpNodeHost & { received: Buffer[] };
export type HostOptions = Omit<UdpNodeHostOptions, 'address' | 'store' | 'allowRemote' | 'onPacket'>;

export async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function keysOf(secretIdentity: string): { address: string; publicKeyHex: string; privateKeyHex: string } {
  const [address, , publicKeyHex, privateKeyHex] = secretIdentity.split(':');
  return { address: address!, publicKeyHex: publicKeyHex!, privateKeyHex: privateKeyHex! };
}

const scratch: string[] = [];
const hosts: LiveHost[] = [];

export function scratchDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ztkube-live-${name}-`));
  scratch.push(dir);
  return dir;
}

export function stateDir(name: string): DirStateStore {
  return new DirStateStore(scratchDir(name));
}

export async function host(store: DirStateStore, options: HostOptions = {}): Promise<LiveHost> {
  const received: Buffer[] = [];
  const h = Object.assign(
    await UdpNodeHost.bind({
      ...options,
      address: LOOPBACK,
      store,
      allowRemote: (remote) => remote.startsWith(`${LOOPBACK}/`),
      onPacket: (data) => received.push(data),
    }),
    { received },
  );
  hosts.push(h);
  return h;
}

export interface Lab {
  root: LiveHost;
  planet: Buffer;
}

/** A root on its own socket and a planet naming it, signed by a fresh key. */
export async function rootAndPlanet(): Promise<Lab> {
  const rootSecret = identityGenerate();
  const signer = keysOf(identityGenerate());
  const rootStore = stateDir('root');
  const root = await host(rootStore);
  const planet = createWorld(
    {
      type: 'planet',
      id: PLANET_ID,
      timestamp: Date.now() + 10 * 365 * 86_400_000,
      roots: [{ identity: rootSecret.split(':').slice(0, 3).join(':'), stableEndpoints: [root.endpoint] }],
    },
    signer,
  );
  rootStore.put(StateObjectType.IdentitySecret, ZERO, Buffer.from(rootSecret));
  rootStore.put(StateObjectType.Planet, ZERO, planet);
  root.start({ rootMode: true });
  return { root, planet };
}

/** A node using the planet, on a fresh state directory (or the given one), started. */
export async function leaf(
  planet: Buffer,
  name: string,
  options: { secret?: string; store?: DirStateStore; host?: HostOptions; node?: ZeroTierNodeOptions } = {},
): Promise<LiveHost> {
  const store = options.store ?? stateDir(name);
  store.put(StateObjectType.Planet, ZERO, planet);
  if (options.secret) store.put(StateObjectType.IdentitySecret, ZERO, Buffer.from(options.secret));
  const h = await host(store, options.host);
  h.start(options.node);
  return h;
}

export function cleanUp(): void {
  for (const h of hosts.splice(0)) {
    try {
      h.close();
    } catch {
      // keep closing the others
    }
  }
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
}
