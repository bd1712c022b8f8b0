// manifests/install.yaml: in sync with the chart, accepted by a real apiserver, and granting the
// programs what they call and nothing else.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { repoRoot } from '../helpers.js';
import { ControlPlane } from './control-plane.js';

const installYaml = readFileSync(join(repoRoot, 'manifests/install.yaml'), 'utf8');
let plane: ControlPlane;

beforeAll(async () => {
  plane = await ControlPlane.start();
});

afterAll(async () => {
  await plane?.stop();
});

test('manifests/install.yaml is what the chart renders (scripts/render-manifests.sh)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ztkube-manifests-'));
  try {
    execFileSync('bash', [join(repoRoot, 'scripts/render-manifests.sh'), join(dir, 'install.yaml')]);
    expect(readFileSync(join(dir, 'install.yaml'), 'utf8')).toBe(installYaml);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every object is accepted server-side', async () => {
  const applied = await plane.apply(installYaml);
  const kinds = applied.map((o) => o.kind);
  for (const kind of ['Namespace', 'CustomResourceDefinition', 'Deployment', 'DaemonSet', 'Service', 'ClusterRole', 'Role'])
    expect(kinds).toContain(kind);
});

/** Whether the ServiceAccount ztkube-system/name may do verb on resource (SelfSubjectAccessReview). */
async function accessOf(name: string) {
  const { kubeConfig } = await plane.kubeconfigForServiceAccount('ztkube-system', name);
  const authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
  return async (verb: string, resource: string, namespace?: string, group = '') =>
    (
      await authorization.createSelfSubjectAccessReview({
        body: { spec: { resourceAttributes: { verb, resource, group, ...(namespace ? { namespace } : {}) } } },
      })
    ).status?.allowed ?? false;
}

test("the agent's ServiceAccount may do what the agent does and is refused anything else", async () => {
  const allowed = await accessOf('ztkube-agent');
  expect(await allowed('patch', 'pods', 'apps')).toBe(true);
  expect(await allowed('create', 'secrets', 'ztkube-system')).toBe(true);
  expect(await allowed('watch', 'zerotiernetworks', undefined, 'ztkube.io')).toBe(true);
  expect(await allowed('delete', 'pods', 'apps')).toBe(false);
  expect(await allowed('create', 'secrets', 'apps')).toBe(false);
  expect(await allowed('list', 'secrets', 'ztkube-system')).toBe(false);
  expect(await allowed('update', 'zerotiernetworks', 'apps', 'ztkube.io')).toBe(false);
});

test("the controller's ServiceAccount may do what the controller does and is refused anything else", async () => {
  const allowed = await accessOf('ztkube-controller');
  expect(await allowed('create', 'secrets', 'ztkube-system')).toBe(true);
  expect(await allowed('update', 'leases', 'ztkube-system', 'coordination.k8s.io')).toBe(true);
  expect(await allowed('patch', 'zerotiernetworks/status', 'apps', 'ztkube.io')).toBe(true);
  expect(await allowed('list', 'pods')).toBe(true);
  expect(await allowed('create', 'pods', 'ztkube-system')).toBe(false);
  expect(await allowed('patch', 'pods', 'apps')).toBe(false);
  expect(await allowed('get', 'secrets', 'apps')).toBe(false);
  expect(await allowed('create', 'secrets', 'kube-system')).toBe(false);
  expect(await allowed('update', 'zerotiernetworks', 'apps', 'ztkube.io')).toBe(false);
  expect(await allowed('create', 'services', 'ztkube-system')).toBe(false);
});
