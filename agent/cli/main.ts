// The `ztkube` command line. Subcommand modules load on demand, so each run imports (and loads
// the native addon) only for what it does: conformance runs spawn the CLI a thousand times.
import { UsageError } from './args.js';

interface Subcommand {
  run(args: string[]): number | Promise<number>;
}

const subcommands: Record<string, () => Promise<Subcommand>> = {
  idtool: () => import('./idtool.js'),
  packet: () => import('./packet.js'),
  world: () => import('./world.js'),
  netconf: () => import('./netconf.js'),
  demo: () => import('./demo.js'),
  node: () => import('./node.js'),
  agent: () => import('./agent.js'),
  sidecar: () => import('./sidecar.js'),
  controller: () => import('./controller.js'),
  'cni-install': () => import('./cni-install.js'),
};

const usage = `Usage: ztkube <command> [arguments]   (ztkube <command> --help for details)
  idtool   generate|validate|getpublic|sign|verify|agree  identities and signatures
  packet   decode                                         dearmor and describe a packet
  world    show|create                                    planets and moons
  netconf  decode                                         network config dictionaries
  demo     [--pods N] [--once]                            pods in namespaces on a ZeroTier network (root)
  node     --home DIR [--join NWID]... | status             one node in this namespace, like ZeroTier One
  agent    [--node-name NODE] [--mode private|public]       the per-node Kubernetes agent (DaemonSet)
  sidecar  [--mode private|public]                          one node in its own pod (downward API env)
  controller [--namespace NS] [--mode private|public]       the cluster-wide controller (leader elected)
  cni-install --cni-bin-dir DIR --cni-conf-dir DIR          install and chain ztkube-cni (init container)
Exit status: 0 success, 1 invalid input or failure, 2 usage error.
`;

function fail(message: string): void {
  process.stderr.write(`ztkube: ${message.split('\n')[0]}\n`);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  const load = name === undefined ? undefined : subcommands[name];
  if (!load) {
    fail(name === undefined ? 'missing command (see ztkube --help)' : `unknown command '${name}' (see ztkube --help)`);
    return 2;
  }
  try {
    return await (await load()).run(args);
  } catch (e) {
    if (e instanceof UsageError) {
      fail(`${name}: ${e.message} (see ztkube ${name} --help)`);
      return 2;
    }
    fail(e instanceof Error ? e.message : String(e));
    return 1;
  }
}
