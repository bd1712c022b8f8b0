// `ztkube cni-install`: the agent DaemonSet's init container. Puts ztkube-cni into the node's CNI
// bin dir and chains it into the primary configuration before the agent starts; the agent then
// keeps it chained while it runs and unchains it when it stops (agent/dataplane/cni-install.ts).
import { resolve } from 'node:path';
import { chainCniPlugin, installCniBinary, primaryCniConfig } from '../dataplane/cni-install.js';
import { DEFAULT_CNI_SOCKET } from '../lib/kube.js';
import { repoPath } from '../lib/native.js';
import { options, UsageError } from './args.js';

const defaultSource = repoPath('dist', 'bin', 'ztkube-cni');

export const usage = `Usage: ztkube cni-install --cni-bin-dir DIR --cni-conf-dir DIR [--cni-socket PATH] [--source FILE]
  Installs the ztkube-cni plugin (FILE, default ${defaultSource}) into the node's CNI bin dir and
  appends it to the primary configuration of the conf dir (the first by name), pointing it at the
  agent's socket PATH (default ${DEFAULT_CNI_SOCKET}, as the host sees it). Fails when the conf dir
  holds no configuration yet: the cluster's CNI has not started on this node.
`;

export function run(args: string[]): number {
  const { values, positionals } = options(args, {
    'cni-bin-dir': { type: 'string' },
    'cni-conf-dir': { type: 'string' },
    'cni-socket': { type: 'string' },
    source: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const binDir = values['cni-bin-dir'];
  const confDir = values['cni-conf-dir'];
  if (!binDir || !confDir) throw new UsageError('--cni-bin-dir and --cni-conf-dir are required');
  installCniBinary(resolve(values.source ?? defaultSource), resolve(binDir));
  const changed = chainCniPlugin({ confDir: resolve(confDir), socket: resolve(values['cni-socket'] ?? DEFAULT_CNI_SOCKET) });
  const chainedIn = changed ?? primaryCniConfig(resolve(confDir));
  process.stdout.write(`${JSON.stringify({ msg: 'ztkube-cni installed', binDir: resolve(binDir), chainedIn, changed: changed !== undefined })}\n`);
  return 0;
}
