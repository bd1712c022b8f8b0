// `ztkube demo`: the real engine end to end at VL1, in one process on loopback UDP. A root serves
// a private planet (signed with a fresh key); N leaves use it, come online, find each other by
// WHOIS through the root, are relayed by it and then (after its RENDEZVOUS) talk directly, and
// ECHO each other. The per-pod TAP demo comes with the data plane.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirStateStore } from '../lib/dir-store.js';
import { createWorld, identityGenerate, identityGetPublic } from '../lib/native.js';
import { StateObjectType, type StateId } from '../lib/node.js';
import { UdpNodeHost } from '../lib/udp-host.js';
import { Failure, integerArg, options, UsageError } from './args.js';

export const usage = `Usage: ztkube demo [--nodes N] [--once]
  Runs a root and N nodes (default 3) of the real engine in this process, each on its own
  127.0.0.1 UDP port, with a private planet in a temporary directory. Prints every node's address
  and endpoint, waits until all are online, then prints an ECHO round-trip matrix between the
  nodes: milliseconds (or — when no answer came within 5 s) and whether the path was direct or
  relayed by the root (relayed→direct: sent through the root, direct by the reply). Repeats the
  matrix every 5 s until Ctrl-C.
  --nodes N   leaves besides the root, 2 to 16 (default 3)
  --once      two matrices (first contact; again once paths are direct, or after 5 s), then
              exits: 0 only if every pair answered
Only VL1 so far: the per-pod TAP demo on a virtual network arrives with the data plane.
`;

const LOOPBACK = '127.0.0.1';
const ZERO: StateId = ['0000000000000000', '0000000000000000'];
const PLANET_ID = 0x7a6b7562; // "zkub": a private planet, not ZeroTier's Earth (149604618)
const ONLINE_TIMEOUT_MS = 30_000;
const ECHO_TIMEOUT_MS = 5_000;
const REPEAT_MS = 5_000;
const ONCE_ROUNDS = 2;

interface Named {
  name: string;
  host: UdpNodeHost;
  /** Called after each datagram the node processed. */
  afterPacket?: (() => void) | undefined;
}

type PathKind = 'direct' | 'relayed';

interface EchoResult {
  ms: number | null;
  /** When the ECHO was sent, and when the reply came (or the wait ended). */
  sentOn: PathKind;
  endedOn: PathKind;
}

/** Stops on SIGINT/SIGTERM: pauses end early and `stopped` turns true. */
class Stopper {
  stopped = false;
  #wake: Array<() => void> = [];
  readonly #stop = () => {
    this.stopped = true;
    for (const wake of this.#wake.splice(0)) wake();
  };

  constructor() {
    process.on('SIGINT', this.#stop);
    process.on('SIGTERM', this.#stop);
  }

  /** Resolves after ms, on a stop, or when the function handed to `early` is called. */
  pause(ms: number, early?: (wake: () => void) => void): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = this.#wake.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake.push(done);
      early?.(done);
    });
  }

  dispose(): void {
    process.off('SIGINT', this.#stop);
    process.off('SIGTERM', this.#stop);
  }
}

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Polls condition every 20 ms; false if it did not hold within timeoutMs or the demo was stopped. */
async function until(condition: () => boolean, timeoutMs: number, stopper: Stopper): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (stopper.stopped || Date.now() >= end) return false;
    await stopper.pause(20);
  }
  return true;
}

function keysOf(secretIdentity: string): { publicKeyHex: string; privateKeyHex: string } {
  const [, , publicKeyHex, privateKeyHex] = secretIdentity.split(':');
  return { publicKeyHex: publicKeyHex!, privateKeyHex: privateKeyHex! };
}

async function bindHost(dir: string, name: string, hosts: Named[]): Promise<Named> {
  const named: Named = {
    name,
    host: await UdpNodeHost.bind({
      address: LOOPBACK,
      store: new DirStateStore(join(dir, name)),
      onPacket: () => named.afterPacket?.(),
    }),
  };
  hosts.push(named);
  return named;
}

/** The root (with a planet naming it, signed by a fresh key) and the leaves using that planet. */
async function startNodes(dir: string, leafCount: number, hosts: Named[]): Promise<void> {
  const root = await bindHost(dir, 'root', hosts);
  const rootSecret = identityGenerate();
  const planet = createWorld(
    {
      type: 'planet',
      id: PLANET_ID,
      timestamp: Date.now(),
      roots: [{ identity: identityGetPublic(rootSecret), stableEndpoints: [root.host.endpoint] }],
    },
    keysOf(identityGenerate()),
  );
  root.host.store.put(StateObjectType.IdentitySecret, ZERO, Buffer.from(rootSecret));
  root.host.store.put(StateObjectType.Planet, ZERO, planet);
  root.host.start({ rootMode: true });
  for (let i = 1; i <= leafCount; i++) {
    const leaf = await bindHost(dir, `node${i}`, hosts);
    leaf.host.store.put(StateObjectType.Planet, ZERO, planet);
    leaf.host.start();
  }
}

function isDirect(from: UdpNodeHost, to: UdpNodeHost): boolean {
  const peer = from.node.peers().find((p) => p.address === to.node.address);
  return peer?.paths.some((p) => p.preferred && p.remote === to.endpoint) ?? false;
}

/** Without a direct path to a peer, a node sends through the root. */
function pathKind(from: UdpNodeHost, to: UdpNodeHost): PathKind {
  return isDirect(from, to) ? 'direct' : 'relayed';
}

/**
 * One ECHO from → to, timed from sending to processing the reply (the reply counter is checked
 * after each datagram the source processes). A source must not have two echoes in flight.
 */
async function echo(from: Named, to: Named, stopper: Stopper): Promise<EchoResult> {
  const replies = from.host.node.counters().echoRepliesReceived;
  const sentOn = pathKind(from.host, to.host);
  const sent = performance.now();
  let answeredAt: number | undefined;
  try {
    from.host.echo(to.host.node.address);
    await stopper.pause(ECHO_TIMEOUT_MS, (answered) => {
      from.afterPacket = () => {
        if (from.host.node.counters().echoRepliesReceived <= replies) return;
        answeredAt = performance.now();
        answered();
      };
    });
  } finally {
    from.afterPacket = undefined;
  }
  const ms = answeredAt === undefined ? null : answeredAt - sent;
  return { ms, sentOn, endedOn: pathKind(from.host, to.host) };
}

/** Every leaf → every other leaf: sources in parallel, each one's targets in turn. */
async function matrix(leaves: Named[], stopper: Stopper): Promise<Map<string, EchoResult>> {
  const results = new Map<string, EchoResult>();
  await Promise.all(
    leaves.map(async (from) => {
      for (const to of leaves) {
        if (to === from || stopper.stopped) continue;
        results.set(`${from.name}>${to.name}`, await echo(from, to, stopper));
      }
    }),
  );
  return results;
}

function cell(result: EchoResult | undefined): string {
  if (!result) return '';
  if (result.ms === null) return '—';
  const path = result.sentOn === result.endedOn ? result.sentOn : `${result.sentOn}→${result.endedOn}`;
  return `${result.ms.toFixed(1)} ms ${path}`;
}

function printMatrix(title: string, leaves: Named[], results: Map<string, EchoResult>): void {
  const width = Math.max(...[...results.values()].map((r) => cell(r).length), ...leaves.map((l) => l.name.length), 4) + 2;
  print(title);
  print(['from \\ to'.padEnd(10), ...leaves.map((l) => l.name.padEnd(width))].join('').trimEnd());
  for (const from of leaves) {
    const row = leaves.map((to) => (to === from ? '·' : cell(results.get(`${from.name}>${to.name}`))).padEnd(width));
    print([from.name.padEnd(10), ...row].join('').trimEnd());
  }
  print();
}

async function demo(leafCount: number, once: boolean, stopper: Stopper, hosts: Named[], dir: string): Promise<number> {
  await startNodes(dir, leafCount, hosts);
  const [root, ...leaves] = hosts as [Named, ...Named[]];
  print(`ztkube demo: a root and ${leafCount} nodes of the ZeroTier engine on loopback UDP (VL1 only)`);
  print(`private planet ${PLANET_ID} signed with a fresh key; state in ${dir}`);
  for (const { name, host } of hosts) print(`${name.padEnd(8)}${host.node.address}  ${host.endpoint}`);
  print();

  const started = Date.now();
  if (!(await until(() => leaves.every((l) => l.host.node.status().online), ONLINE_TIMEOUT_MS, stopper))) {
    if (stopper.stopped) return 0;
    const offline = leaves.filter((l) => !l.host.node.status().online).map((l) => `${l.name} (${l.host.node.address})`);
    throw new Failure(`demo: not online after ${ONLINE_TIMEOUT_MS / 1000} s: ${offline.join(', ')}`);
  }
  print(`all ${leafCount} nodes ONLINE via root ${root.host.node.address} in ${Date.now() - started} ms`);
  print();

  for (let round = 1; !stopper.stopped; round++) {
    const results = await matrix(leaves, stopper);
    if (stopper.stopped) break;
    const title = round === 1 ? 'ECHO round trips, round 1 (first contact: WHOIS and relay through the root):' : `ECHO round trips, round ${round}:`;
    printMatrix(title, leaves, results);
    const unanswered = [...results.values()].filter((r) => r.ms === null).length;
    if (once && (round >= ONCE_ROUNDS || unanswered > 0)) {
      if (unanswered === 0) return 0;
      throw new Failure(`demo: ${unanswered} of ${results.size} echoes unanswered within ${ECHO_TIMEOUT_MS / 1000} s`);
    }
    if (once) {
      // The root's RENDEZVOUS has been sent: give the nodes time to HELLO each other directly.
      const allDirect = () => leaves.every((a) => leaves.every((b) => a === b || isDirect(a.host, b.host)));
      await until(allDirect, REPEAT_MS, stopper);
    } else {
      await stopper.pause(REPEAT_MS);
    }
  }
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = options(args, {
    nodes: { type: 'string' },
    once: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const leafCount = values.nodes === undefined ? 3 : integerArg(values.nodes, '--nodes');
  if (leafCount < 2 || leafCount > 16) throw new UsageError(`--nodes must be 2 to 16, not ${leafCount}`);

  const dir = mkdtempSync(join(tmpdir(), 'ztkube-demo-'));
  const hosts: Named[] = [];
  const stopper = new Stopper();
  try {
    return await demo(leafCount, values.once ?? false, stopper, hosts, dir);
  } finally {
    stopper.dispose();
    for (const { host } of hosts.reverse()) {
      try {
        host.close();
      } catch {
        // close the others anyway
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
