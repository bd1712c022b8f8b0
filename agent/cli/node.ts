// `ztkube node`: one node in the current network namespace, the way ZeroTier One's service runs,
// on the same Dataplane code the Kubernetes agent uses. State lives in --home (identity, planet,
// peers, network configs and, for a controller, its records); `ztkube node status --home` asks the
// running node over the unix socket <home>/control.sock.
import { existsSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { Dataplane, type PodStatus } from '../dataplane/dataplane.js';
import { DirControllerStore } from '../lib/dir-controller-store.js';
import { DirStateStore } from '../lib/dir-store.js';
import { managedNetworkId, managedNetworkRecord, memberRecord, readZeroTierNetwork } from '../lib/network-spec.js';
import { StateObjectType } from '../lib/node.js';
import { onTermination } from '../lib/termination.js';
import { Failure, integerArg, options, printJson, readFileArg, UsageError } from './args.js';

export const usage = `Usage: ztkube node --home DIR [--port P] [--bind IP] [--planet FILE] [--join NWID]...
                   [--root] [--controller FILE]... [--threads N]
       ztkube node status --home DIR
  Runs one ZeroTier node in this network namespace until SIGINT/SIGTERM: state in DIR (made if
  missing; the identity is generated on first start and kept), UDP on IP:P (default 0.0.0.0:9993),
  the planet FILE (kept in DIR; default: ZeroTier's public planet), a TAP per joined network with
  its addresses and routes applied. --root serves as a root of its planet. --controller FILE runs
  the managed ZeroTierNetwork in FILE (repeatable) with this node as its controller: its id is this
  node's address followed by the network number, and spec.managed.members are authorised.
  status prints the running node's address, online state, peers (direct or relayed) and networks
  as JSON.
  Logs are JSON lines on stderr.
`;

const ZERO = ['0000000000000000', '0000000000000000'] as const;
const KEY = 'node';

function socketPath(home: string): string {
  return join(home, 'control.sock');
}

/** What `status` prints: the node's view without the engine's internals. */
function summary(s: PodStatus): unknown {
  return {
    address: s.address,
    online: s.online,
    udpLocal: s.udpLocal,
    peers: s.peers.map((p) => ({ address: p.address, role: p.role, latency: p.latency, path: p.direct ? 'direct' : 'relayed' })),
    networks: s.networks.map((n) => ({
      id: n.id,
      name: n.name,
      status: n.status,
      interface: n.interface,
      mac: n.mac,
      assignedAddresses: n.assignedAddresses,
    })),
  };
}

async function status(home: string): Promise<number> {
  const path = socketPath(home);
  if (!existsSync(path)) throw new Failure(`node status: no node running with home ${home} (no ${path})`);
  const text = await new Promise<string>((done, fail) => {
    const chunks: Buffer[] = [];
    createConnection(path)
      .on('data', (c) => chunks.push(c))
      .on('end', () => done(Buffer.concat(chunks).toString('utf8')))
      .on('error', (e) => fail(new Failure(`node status: ${path}: ${e.message}`)));
  });
  const reply = JSON.parse(text) as { status?: unknown; error?: string };
  if (reply.error) throw new Failure(`node status: ${reply.error}`);
  printJson(reply.status);
  return 0;
}

function serveStatus(home: string, dataplane: Dataplane): Promise<Server> {
  const path = socketPath(home);
  rmSync(path, { force: true }); // left by a node that was killed
  const server = createServer((socket) => {
    dataplane.status(KEY).then(
      (s) => socket.end(JSON.stringify({ status: summary(s) })),
      (e: unknown) => socket.end(JSON.stringify({ error: (e as Error).message })),
    );
  });
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(path, () => done(server));
  });
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = options(args, {
    home: { type: 'string' },
    port: { type: 'string' },
    bind: { type: 'string' },
    planet: { type: 'string' },
    join: { type: 'string', multiple: true },
    root: { type: 'boolean' },
    controller: { type: 'string', multiple: true },
    threads: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (!values.home) throw new UsageError('--home is required');
  const home = resolve(values.home);
  if (positionals[0] === 'status' && positionals.length === 1) return status(home);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);

  const port = values.port === undefined ? 9993 : integerArg(values.port, '--port');
  if (port > 65535) throw new UsageError('--port must be at most 65535');
  const networks = (values.join ?? []).map((id) => {
    if (!/^[0-9a-f]{16}$/.test(id)) throw new UsageError(`--join takes a network id of 16 lowercase hex digits: '${id}'`);
    return id;
  });
  const controlled = (values.controller ?? []).map((file) => readZeroTierNetwork(file));
  for (const n of controlled) if (!n.spec.managed) throw new Failure(`--controller ${n.metadata.name}: not a managed network`);

  const store = new DirStateStore(home);
  if (values.planet) store.put(StateObjectType.Planet, [...ZERO], readFileArg(values.planet, 'planet'));
  const logger = pino({ base: { node: home } }, pino.destination(2));
  const dataplane = new Dataplane({ threads: values.threads ? integerArg(values.threads, '--threads') : 1, logger });
  let server: Server | undefined;
  const termination = onTermination();
  try {
    const attached = await dataplane.attach({
      key: KEY,
      bind: `${values.bind ?? '0.0.0.0'}/${port}`,
      networks,
      store,
      rootMode: values.root ?? false,
      ...(controlled.length ? { controller: new DirControllerStore(join(home, 'controller.d')) } : {}),
    });
    for (const network of controlled) {
      const id = managedNetworkId(attached.address, network);
      await dataplane.setNetwork(KEY, managedNetworkRecord(id, network));
      for (const member of network.spec.managed?.members ?? []) await dataplane.setMember(KEY, memberRecord(id, member, true));
      logger.info({ network: id, name: network.metadata.name }, 'controlling network');
    }
    server = await serveStatus(home, dataplane);
    logger.info({ address: attached.address, udpLocal: attached.udpLocal }, 'node running');
    await termination.signalled;
    return 0;
  } finally {
    termination.dispose();
    server?.close();
    rmSync(socketPath(home), { force: true });
    await dataplane.close();
  }
}
