// The names and parsers the controller, the agent and the sidecar share (agent/lib/kube.ts).
import { describe, expect, it } from 'vitest';
import { networkAdmits, parseNetworksAnnotation, podIdentitySecretName } from '../../agent/lib/kube.js';
import type { ZeroTierNetwork } from '../../agent/lib/network-spec.js';

describe('parseNetworksAnnotation', () => {
  it('qualifies bare names with the pod namespace, trims and drops duplicates', () => {
    expect(parseNetworksAnnotation(' net-a, other/net-b ,net-a,, ', 'apps')).toEqual([
      { namespace: 'apps', name: 'net-a' },
      { namespace: 'other', name: 'net-b' },
    ]);
  });

  it.each(['Net', 'a/b/c', 'ns/', '/name', 'bad_name', '-x'])('refuses %j with the entry named', (value) => {
    expect(() => parseNetworksAnnotation(value, 'apps')).toThrow(`"${value}" is not a network name`);
  });
});

describe('networkAdmits', () => {
  const network = (allowedNamespaces?: string[]): ZeroTierNetwork => ({
    apiVersion: 'ztkube.io/v1alpha1',
    kind: 'ZeroTierNetwork',
    metadata: { name: 'n', namespace: 'home' },
    spec: { managed: {}, ...(allowedNamespaces ? { allowedNamespaces } : {}) },
  });

  it('admits its own namespace, listed ones, or all with "*"', () => {
    expect(networkAdmits(network(), 'home')).toBe(true);
    expect(networkAdmits(network(), 'guest')).toBe(false);
    expect(networkAdmits(network(['guest']), 'guest')).toBe(true);
    expect(networkAdmits(network(['other']), 'guest')).toBe(false);
    expect(networkAdmits(network(['*']), 'guest')).toBe(true);
  });
});

describe('podIdentitySecretName', () => {
  it('names a StatefulSet pod by namespace/name, so a re-created pod finds its identity', () => {
    const pod = (uid: string) => ({
      metadata: { namespace: 'db', name: 'pg-0', uid, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'pg', uid: 'x', controller: true }] },
    });
    expect(podIdentitySecretName(pod('u1'))).toBe(podIdentitySecretName(pod('u2')));
    expect(podIdentitySecretName(pod('u1'))).toMatch(/^ztkube-sts-[0-9a-f]{20}$/);
  });

  it('names any other pod by uid', () => {
    expect(podIdentitySecretName({ metadata: { namespace: 'a', name: 'p', uid: '1234-abcd' } })).toBe('ztkube-pod-1234-abcd');
  });
});
