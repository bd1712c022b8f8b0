// `ztkube sidecar`: one node in its own pod's network namespace, for clusters without the
// privileged DaemonSet (docs/kubernetes.md). The pod comes from the downward API; its identity
// Secret is in the pod's own namespace.
import { options, UsageError } from './args.js';
import { commonFlags, runUntilSignalled, sharedOptions } from './pod-node-flags.js';

export const usage = `Usage: ztkube sidecar [--kubeconfig FILE] [--namespace NS] [--mode private|public]
                      [--metrics-port P] [--metrics-host IP] [--threads N] [--bind-port P]
  Runs one ZeroTier node in this network namespace for the pod named by $POD_NAMESPACE, $POD_NAME
  and $POD_UID (the downward API), on the networks of its ztkube.io/networks annotation: identity
  in a Secret in the pod's namespace, TAPs here, status in its ztkube.io/network-status.
  --namespace: ztkube's (default ztkube-system), for the planet of --mode private (default).
  --bind-port: the node's UDP port (default 9993). Metrics on IP:P (default 0.0.0.0:9464).
  Logs are JSON lines on stdout.
`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = options(args, commonFlags);
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const { POD_NAMESPACE: podNamespace, POD_NAME: podName, POD_UID: podUid } = process.env;
  if (!podNamespace || !podName || !podUid) throw new UsageError('$POD_NAMESPACE, $POD_NAME and $POD_UID are required (downward API)');
  const nodeName = process.env.NODE_NAME ?? '';
  const shared = sharedOptions(values, { component: 'sidecar', nodeName, pod: `${podNamespace}/${podName}` });
  // One pod, one identity, made once: no spares.
  return runUntilSignalled({ ...shared, nodeName, cniWaitMs: 10_000, identityPool: 0, role: { kind: 'sidecar', podNamespace, podName, podUid } });
}
