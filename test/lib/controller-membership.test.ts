// The membership rule (agent/controller/membership.ts) on hand-made caches: which identity Secrets
// belong to a pod that exists, and which addresses a network authorises.
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { desiredMembers, podIdentities } from '../../agent/controller/membership.js';
import { IDENTITY_PUBLIC_KEY, NETWORKS_ANNOTATION, podIdentitySecretName, POD_NAME_LABEL, POD_NAMESPACE_LABEL } from '../../agent/lib/kube.js';
import type { ZeroTierNetwork } from '../../agent/lib/network-spec.js';

function pod(namespace: string, name: string, uid: string, networks?: string, statefulSet?: string): V1Pod {
  return {
    metadata: {
      namespace,
      name,
      uid,
      annotations: networks === undefined ? {} : { [NETWORKS_ANNOTATION]: networks },
      ownerReferences: statefulSet ? [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: statefulSet, uid: 's', controller: true }] : [],
    },
  };
}

function secret(name: string, of: { namespace: string; name: string }, address: string): V1Secret {
  return {
    metadata: { name, labels: { [POD_NAMESPACE_LABEL]: of.namespace, [POD_NAME_LABEL]: of.name }, creationTimestamp: new Date(0) },
    data: { [IDENTITY_PUBLIC_KEY]: Buffer.from(`${address}:0:${'ab'.repeat(64)}`).toString('base64') },
  };
}

function network(allowedNamespaces: string[] = [], members: string[] = []): ZeroTierNetwork {
  return { apiVersion: 'ztkube.io/v1alpha1', kind: 'ZeroTierNetwork', metadata: { namespace: 'apps', name: 'net' }, spec: { managed: { members }, allowedNamespaces } };
}

describe('membership', () => {
  const asking = pod('apps', 'a', 'uid-a', 'net');
  const recreated = pod('apps', 'b', 'uid-b2', 'net');
  const statefulSetPod = pod('apps', 'db-0', 'uid-db-new', 'net', 'db');
  const notAsking = pod('apps', 'c', 'uid-c', 'other-net');
  const badAnnotation = pod('apps', 'd', 'uid-d', 'Not/A/Name');
  const guest = pod('guest', 'e', 'uid-e', 'apps/net');
  const pods = [asking, recreated, statefulSetPod, notAsking, badAnnotation, guest];
  const lookup = (namespace: string, name: string) => pods.find((p) => p.metadata!.namespace === namespace && p.metadata!.name === name);
  const secrets = [
    secret(podIdentitySecretName(asking), { namespace: 'apps', name: 'a' }, 'aaaaaaaaaa'),
    // The Secret of b's previous incarnation (another uid): not b's identity.
    secret('ztkube-pod-uid-b1', { namespace: 'apps', name: 'b' }, 'bbbbbbbbbb'),
    secret(podIdentitySecretName(statefulSetPod), { namespace: 'apps', name: 'db-0' }, 'dddddddddd'),
    secret(podIdentitySecretName(notAsking), { namespace: 'apps', name: 'c' }, 'cccccccccc'),
    secret(podIdentitySecretName(badAnnotation), { namespace: 'apps', name: 'd' }, '1111111111'),
    secret(podIdentitySecretName(guest), { namespace: 'guest', name: 'e' }, 'eeeeeeeeee'),
    secret('ztkube-pod-gone', { namespace: 'apps', name: 'gone' }, '2222222222'),
  ];
  const identities = podIdentities(secrets, lookup);

  it('ties a Secret to its pod only when the pod is the one it was made for', () => {
    expect(identities.get('aaaaaaaaaa')?.pod).toBe(asking);
    expect(identities.get('bbbbbbbbbb')?.pod).toBeUndefined();
    expect(identities.get('dddddddddd')?.pod).toBe(statefulSetPod);
    expect(identities.get('2222222222')).toMatchObject({ podKey: 'apps/gone', pod: undefined });
  });

  it('authorises pods that ask and whose namespace is admitted, plus spec members', () => {
    expect(desiredMembers(network([], ['9999999999']), identities)).toEqual(
      new Map([
        ['9999999999', undefined],
        ['aaaaaaaaaa', 'apps/a'],
        ['dddddddddd', 'apps/db-0'],
      ]),
    );
    expect(desiredMembers(network(['guest']), identities).get('eeeeeeeeee')).toBe('guest/e');
    expect(desiredMembers(network(['*']), identities).has('eeeeeeeeee')).toBe(true);
  });
});
