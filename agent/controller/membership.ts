// The membership rule of docs/kubernetes.md, as pure functions of the informers' caches: a network
// authorises exactly the addresses of identity Secrets whose pod exists (the Secret is the one
// ztkube names for that pod: same uid, or for a StatefulSet pod same namespace/name), whose
// annotation names the network and whose namespace the network admits, plus spec.managed.members.
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import {
  IDENTITY_PUBLIC_KEY,
  NETWORKS_ANNOTATION,
  networkAdmits,
  parseNetworksAnnotation,
  podIdentitySecretName,
  POD_NAME_LABEL,
  POD_NAMESPACE_LABEL,
  refKey,
} from '../lib/kube.js';
import { networkKey, type ZeroTierNetwork } from '../lib/network-spec.js';
import { secretValue } from '../lib/secret-state-store.js';

/** One identity Secret and, if it still exists, the pod it belongs to. */
export interface PodIdentity {
  secretName: string;
  address: string;
  /** namespace/name from the Secret's labels. */
  podKey: string;
  pod?: V1Pod;
  /** ms since the epoch. */
  created: number;
}

export type PodLookup = (namespace: string, name: string) => V1Pod | undefined;

/** Every identity Secret with a readable identity, by address. */
export function podIdentities(secrets: readonly V1Secret[], pods: PodLookup): Map<string, PodIdentity> {
  const identities = new Map<string, PodIdentity>();
  for (const secret of secrets) {
    const address = /^[0-9a-f]{10}(?=:)/.exec(secretValue(secret, IDENTITY_PUBLIC_KEY)?.toString('utf8') ?? '')?.[0];
    const meta = secret.metadata ?? {};
    const namespace = meta.labels?.[POD_NAMESPACE_LABEL];
    const name = meta.labels?.[POD_NAME_LABEL];
    if (!address || !namespace || !name || !meta.name) continue;
    const pod = pods(namespace, name);
    identities.set(address, {
      secretName: meta.name,
      address,
      podKey: `${namespace}/${name}`,
      pod: pod && podIdentitySecretName(pod) === meta.name ? pod : undefined,
      created: new Date(meta.creationTimestamp ?? 0).getTime(),
    });
  }
  return identities;
}

/** The networks (namespace/name) a pod's annotation asks for; a bad annotation asks for none
 * (the agent reports it on the pod). */
export function requestedNetworks(pod: V1Pod): Set<string> {
  const value = pod.metadata?.annotations?.[NETWORKS_ANNOTATION];
  if (!value) return new Set();
  try {
    return new Set(parseNetworksAnnotation(value, pod.metadata?.namespace ?? 'default').map(refKey));
  } catch {
    return new Set();
  }
}

/** Whether the pod asks for the network and the network admits the pod's namespace. */
export function podJoins(pod: V1Pod, network: ZeroTierNetwork): boolean {
  return requestedNetworks(pod).has(networkKey(network)) && networkAdmits(network, pod.metadata?.namespace ?? 'default');
}

/** The addresses the network authorises, each with its pod (namespace/name; undefined for spec.managed.members). */
export function desiredMembers(network: ZeroTierNetwork, identities: ReadonlyMap<string, PodIdentity>): Map<string, string | undefined> {
  const members = new Map<string, string | undefined>();
  for (const address of network.spec.managed?.members ?? []) members.set(address, undefined);
  for (const identity of identities.values())
    if (identity.pod && podJoins(identity.pod, network)) members.set(identity.address, identity.podKey);
  return members;
}
