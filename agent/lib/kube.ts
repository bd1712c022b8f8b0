// What the controller, the agent, the sidecar and the CNI plugin agree on: ztkube's namespace,
// the names and labels of the objects it keeps there, the pod annotations and their parsing, and
// the API client set-up. docs/kubernetes.md explains the model.
import { createHash } from 'node:crypto';
import { ApiException, KubeConfig, PatchStrategy, setHeaderOptions, type V1ObjectMeta, type V1Pod } from '@kubernetes/client-node';
import type { ZeroTierNetwork } from './network-spec.js';

export const DEFAULT_NAMESPACE = 'ztkube-system';
export const API_GROUP = 'ztkube.io';
export const API_VERSION = 'v1alpha1';
export const NETWORK_PLURAL = 'zerotiernetworks';

export const NETWORKS_ANNOTATION = 'ztkube.io/networks';
export const NETWORK_STATUS_ANNOTATION = 'ztkube.io/network-status';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'ztkube';
export const KIND_LABEL = 'ztkube.io/kind';
export const POD_IDENTITY_KIND = 'pod-identity';
export const POD_NAMESPACE_LABEL = 'ztkube.io/pod-namespace';
export const POD_NAME_LABEL = 'ztkube.io/pod-name';
export const POD_UID_LABEL = 'ztkube.io/pod-uid';
export const ADDRESS_LABEL = 'ztkube.io/address';
export const LEADER_LABEL = 'ztkube.io/leader';

export const IDENTITY_SECRET_TYPE = 'ztkube.io/identity';
export const IDENTITY_SECRET_KEY = 'identity.secret';
export const IDENTITY_PUBLIC_KEY = 'identity.public';

export const CONTROLLER_SECRET = 'ztkube-controller';
export const ROOT_SECRET = 'ztkube-root';
export const PLANET_CONFIGMAP = 'ztkube-planet';
export const PLANET_KEY = 'planet';
export const ROOT_SERVICE = 'ztkube-root';
export const CONTROLLER_LEASE = 'ztkube-controller';

export const DEFAULT_CNI_SOCKET = '/run/ztkube/cni.sock';
export const DEFAULT_POD_RECORDS_DIR = '/run/ztkube/pods';
export const ZT_PORT = 9993;
/** The id of ztkube's private planets ("zkub"), never ZeroTier's Earth (149604618). */
export const PRIVATE_PLANET_ID = 0x7a6b7562;

/** A network a pod asks for: `name` in the pod's namespace unless qualified `namespace/name`. */
export interface NetworkRef {
  namespace: string;
  name: string;
}

export function refKey(ref: NetworkRef): string {
  return `${ref.namespace}/${ref.name}`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Parses `ztkube.io/networks` ("net-a, other-ns/net-b"); throws naming the bad entry. Duplicates collapse. */
export function parseNetworksAnnotation(value: string, podNamespace: string): NetworkRef[] {
  const refs = new Map<string, NetworkRef>();
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const parts = entry.split('/');
    const ref = parts.length === 1 ? { namespace: podNamespace, name: parts[0]! } : { namespace: parts[0]!, name: parts[1] ?? '' };
    if (parts.length > 2 || !DNS_LABEL.test(ref.namespace) || ref.name.length > 253 || !DNS_LABEL.test(ref.name.replaceAll('.', '-')))
      throw new Error(`${NETWORKS_ANNOTATION}: "${entry}" is not a network name or namespace/name`);
    refs.set(refKey(ref), ref);
  }
  return [...refs.values()];
}

/** Whether pods of `podNamespace` may join the network. */
export function networkAdmits(network: ZeroTierNetwork, podNamespace: string): boolean {
  if ((network.metadata.namespace ?? 'default') === podNamespace) return true;
  const allowed = network.spec.allowedNamespaces ?? [];
  return allowed.includes('*') || allowed.includes(podNamespace);
}

/** One entry of `ztkube.io/network-status`. */
export interface NetworkStatusEntry {
  /** namespace/name of the ZeroTierNetwork. */
  name: string;
  networkId?: string;
  interface?: string;
  /** The pod's ZeroTier address. */
  address?: string;
  mac?: string;
  /** Assigned addresses, CIDR. */
  ips?: string[];
  /** The node's network status (OK, REQUESTING_CONFIGURATION, ACCESS_DENIED, ...) or Error. */
  status: string;
  error?: string;
}

/** The pod's StatefulSet, if a StatefulSet controls it (its identity then outlives the pod). */
export function owningStatefulSet(pod: V1Pod): string | undefined {
  return pod.metadata?.ownerReferences?.find((o) => o.kind === 'StatefulSet' && o.controller)?.name;
}

/** The name of the Secret holding the pod's identity. */
export function podIdentitySecretName(pod: V1Pod): string {
  const meta = pod.metadata as V1ObjectMeta;
  if (owningStatefulSet(pod))
    return `ztkube-sts-${createHash('sha256').update(`${meta.namespace}/${meta.name}`).digest('hex').slice(0, 20)}`;
  if (!meta.uid) throw new Error(`pod ${meta.namespace}/${meta.name} has no uid`);
  return `ztkube-pod-${meta.uid}`;
}

/** The API client configuration: in a pod its ServiceAccount, elsewhere $KUBECONFIG or ~/.kube/config. */
export function loadKubeConfig(kubeconfig?: string): KubeConfig {
  const config = new KubeConfig();
  if (kubeconfig) config.loadFromFile(kubeconfig);
  else config.loadFromDefault();
  if (!config.getCurrentCluster()) throw new Error('no Kubernetes cluster configured (in-cluster, $KUBECONFIG or --kubeconfig)');
  return config;
}

/** Request options that send a patch as a JSON merge patch (client-node's default is JSON patch). */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function isNotFound(e: unknown): boolean {
  return e instanceof ApiException && e.code === 404;
}

export function isConflict(e: unknown): boolean {
  return e instanceof ApiException && e.code === 409;
}
