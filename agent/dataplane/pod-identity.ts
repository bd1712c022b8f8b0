// A pod's ZeroTier identity, kept in a Secret (docs/kubernetes.md, "Identities"). Generated only
// when the Secret is created; when two agents (or an agent and its previous self) race on a
// StatefulSet pod's Secret, the loser of the create reads the winner's, so one pod never has two
// identities. The Secret carries the address as a label: what the controller authorises.
import type { CoreV1Api, V1Pod, V1Secret } from '@kubernetes/client-node';
import {
  ADDRESS_LABEL,
  IDENTITY_PUBLIC_KEY,
  IDENTITY_SECRET_KEY,
  IDENTITY_SECRET_TYPE,
  isNotFound,
  KIND_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  owningStatefulSet,
  POD_IDENTITY_KIND,
  POD_NAME_LABEL,
  POD_NAMESPACE_LABEL,
  POD_UID_LABEL,
  podIdentitySecretName,
} from '../lib/kube.js';
import { identityGetPublic, identityValidate } from '../lib/native.js';
import { ensureSecret, identityData } from '../lib/secret-state-store.js';
import type { IdentityPool } from './identity-pool.js';

export interface PodIdentity {
  /** Where the Secret is: ztkube's namespace for the agent, the pod's for the sidecar. */
  namespace: string;
  secretName: string;
  /** The secret identity text (never logged). */
  secret: string;
  publicIdentity: string;
  address: string;
  /** This call created the Secret (one API write). */
  created: boolean;
}

function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

export function podIdentityLabels(pod: V1Pod, address: string): Record<string, string> {
  return {
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [KIND_LABEL]: POD_IDENTITY_KIND,
    [POD_NAMESPACE_LABEL]: pod.metadata!.namespace!,
    [POD_NAME_LABEL]: pod.metadata!.name!,
    [POD_UID_LABEL]: pod.metadata!.uid!,
    [ADDRESS_LABEL]: address,
  };
}

/** The identity a Secret holds; throws (naming the Secret) when it holds none that is valid: an
 * identity is never replaced silently, the pod's address would change. */
function identityOf(secret: V1Secret, namespace: string, name: string, created: boolean): PodIdentity {
  const text = Buffer.from(secret.data?.[IDENTITY_SECRET_KEY] ?? '', 'base64').toString('utf8').trim();
  if (!identityValidate(text)) throw new Error(`Secret ${namespace}/${name} holds no valid ${IDENTITY_SECRET_KEY}`);
  const publicIdentity = identityGetPublic(text);
  return { namespace, secretName: name, secret: text, publicIdentity, address: publicIdentity.slice(0, 10), created };
}

/** The pod's identity from its Secret in `namespace`, creating both if there is none. */
export async function ensurePodIdentity(core: CoreV1Api, namespace: string, pod: V1Pod, identities: IdentityPool): Promise<PodIdentity> {
  const name = podIdentitySecretName(pod);
  let taken: string | undefined;
  const { secret, created } = await ensureSecret(core, namespace, name, {
    type: IDENTITY_SECRET_TYPE,
    labels: (data) => podIdentityLabels(pod, data[IDENTITY_PUBLIC_KEY]!.toString('utf8').slice(0, 10)),
    data: async () => identityData((taken = await identities.take())),
  });
  // A lost create race leaves the identity taken unused (any other failure may have stored it).
  if (taken !== undefined && !created) identities.giveBack(taken);
  return identityOf(secret, namespace, name, created);
}

/** Deletes the identity of a pod that is gone, unless a StatefulSet owns it (its next pod of the
 * same name takes it over; the controller deletes it with the StatefulSet). */
export async function releasePodIdentity(core: CoreV1Api, namespace: string, pod: V1Pod): Promise<boolean> {
  if (owningStatefulSet(pod)) return false;
  const name = podIdentitySecretName(pod);
  try {
    await core.deleteNamespacedSecret({ namespace, name });
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw new Error(`deleting Secret ${namespace}/${name} of pod ${podKey(pod)}: ${(e as Error).message}`);
  }
}
