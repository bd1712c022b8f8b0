// `ztkube agent`: the per-node DaemonSet (docs/kubernetes.md). Runs until SIGINT/SIGTERM, then
// stops its watches and nodes (their TAPs go) and leaves the identity Secrets.
import { resolve } from 'node:path';
import { DEFAULT_CNI_SOCKET, DEFAULT_POD_RECORDS_DIR } from '../lib/kube.js';
import { integerArg, options, UsageError } from './args.js';
import { commonFlags, runUntilSignalled, sharedOptions } from './pod-node-flags.js';

export const usage = `Usage: ztkube agent [--node-name NODE] [--kubeconfig FILE] [--namespace NS] [--mode private|public]
                    [--cni-socket PATH] [--cni-wait SECONDS] [--pod-records-dir DIR]
                    [--metrics-port P] [--metrics-host IP] [--threads N] [--bind-port P]
                    [--cni-conf-dir DIR [--cni-bin-dir DIR]] [--identity-pool N]
  Attaches every pod on Kubernetes node NODE (default $NODE_NAME) annotated ztkube.io/networks:
  one ZeroTier node per pod, its identity in a Secret in NS (default $POD_NAMESPACE or
  ztkube-system), its TAPs in the pod's network namespace (from ztkube-cni on the socket PATH,
  default ${DEFAULT_CNI_SOCKET}, recorded under DIR, default ${DEFAULT_POD_RECORDS_DIR}; or found
  from the pod's processes under /proc), and writes the pod's ztkube.io/network-status.
  --mode private (default) gives nodes the planet of ConfigMap ztkube-planet; public, ZeroTier's.
  --cni-conf-dir: keep ztkube-cni chained at the end of the primary CNI configuration of DIR
  while the agent runs (removed from the chain when it stops); with --cni-bin-dir, also install
  the plugin there at start (the chart's init container, \`ztkube cni-install\`, does both first).
  --identity-pool: identities made ahead for new pods (default 16, 0: none), so a burst of pods
  does not wait for their proof of work (about 150 ms of a core each); refilled once a burst pauses.
  --cni-wait: how long CNI ADD waits for every network to have an address (default 10).
  --bind-port: each node's UDP port in its pod's namespace (default 9993).
  Metrics, /healthz and /readyz on IP:P (default 0.0.0.0:9464). Logs are JSON lines on stdout.
`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = options(args, {
    ...commonFlags,
    'node-name': { type: 'string' },
    'cni-socket': { type: 'string' },
    'cni-wait': { type: 'string' },
    'pod-records-dir': { type: 'string' },
    'cni-bin-dir': { type: 'string' },
    'cni-conf-dir': { type: 'string' },
    'identity-pool': { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const nodeName = values['node-name'] ?? process.env.NODE_NAME;
  if (!nodeName) throw new UsageError('--node-name (or $NODE_NAME) is required');
  const cniWait = Number(values['cni-wait'] ?? '10');
  if (!(cniWait >= 0 && cniWait <= 300)) throw new UsageError(`--cni-wait takes seconds from 0 to 300: '${values['cni-wait']}'`);
  const shared = sharedOptions(values, { namespace: process.env.POD_NAMESPACE, component: 'agent', nodeName });
  return runUntilSignalled({
    ...shared,
    nodeName,
    cniWaitMs: cniWait * 1000,
    identityPool: identityPool(values['identity-pool']),
    role: {
      kind: 'agent',
      cniSocket: resolve(values['cni-socket'] ?? DEFAULT_CNI_SOCKET),
      podRecordsDir: resolve(values['pod-records-dir'] ?? DEFAULT_POD_RECORDS_DIR),
      ...cniInstall(values['cni-bin-dir'], values['cni-conf-dir']),
    },
  });
}

function cniInstall(binDir: string | undefined, confDir: string | undefined): { cniInstall?: { binDir?: string; confDir: string } } {
  if (confDir === undefined) {
    if (binDir !== undefined) throw new UsageError('--cni-bin-dir needs --cni-conf-dir');
    return {};
  }
  return { cniInstall: { confDir: resolve(confDir), ...(binDir === undefined ? {} : { binDir: resolve(binDir) }) } };
}

function identityPool(text: string | undefined): number {
  const spares = text === undefined ? 16 : integerArg(text, '--identity-pool');
  if (spares > 10_000) throw new UsageError('--identity-pool must be at most 10000');
  return spares;
}
