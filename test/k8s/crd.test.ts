// The ZeroTierNetwork CRD as a real kube-apiserver serves it: the schema and CEL rules accept the
// example and reject bad specs with the CRD's own messages, status is a subresource, and the
// printer columns show the status fields.
import { readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { join } from 'node:path';
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  loadYaml,
  RbacAuthorizationV1Api,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../helpers.js';
import { ControlPlane, httpsGet } from './control-plane.js';

const group = 'ztkube.io';
const version = 'v1alpha1';
const plural = 'zerotiernetworks';
const namespace = 'ztkube-crd-test';
const crdManifest = readFileSync(join(repoRoot, 'charts/ztkube/crds/zerotiernetworks.ztkube.io.yaml'), 'utf8');
const crd = loadYaml<V1CustomResourceDefinition>(crdManifest);
const example = parse(readFileSync(join(repoRoot, 'examples/network.yaml'), 'utf8')) as ZeroTierNetwork;

interface ZeroTierNetwork {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; generation?: number; resourceVersion?: string };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

let plane: ControlPlane;
let networks: CustomObjectsApi;

function network(name: string, spec: Record<string, unknown>): ZeroTierNetwork {
  return { apiVersion: `${group}/${version}`, kind: 'ZeroTierNetwork', metadata: { name, namespace }, spec };
}

const create = (body: ZeroTierNetwork, api = networks) =>
  api.createNamespacedCustomObject({ group, version, namespace, plural, body }) as Promise<ZeroTierNetwork>;
const read = (name: string) =>
  networks.getNamespacedCustomObject({ group, version, namespace, plural, name }) as Promise<ZeroTierNetwork>;

const runningStatus = {
  networkId: '1234567890000001',
  members: { total: 2, authorized: 2, awaitingAuthorization: 0, online: 1 },
  conditions: [{ type: 'Ready', status: 'True', reason: 'Running' }],
};

const writeStatus = (current: ZeroTierNetwork, status: Record<string, unknown>) =>
  networks.replaceNamespacedCustomObjectStatus({
    group, version, namespace, plural, name: current.metadata.name, body: { ...current, status },
  }) as Promise<ZeroTierNetwork>;

/** The apiserver's Status for a failed call (ApiException carries the response body as text). */
async function failure(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body = typeof error.body === 'string' ? (JSON.parse(error.body) as { message?: string }) : {};
    return { code: error.code, message: body.message ?? '' };
  }
  throw new Error('the call succeeded');
}

/** GET as a meta.k8s.io Table, the form kubectl prints from. */
async function getTable(kubeConfig: KubeConfig, path: string): Promise<{ columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] }> {
  const options: RequestOptions = { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } };
  await kubeConfig.applyToHTTPSOptions(options);
  const { status, body } = await httpsGet(`${kubeConfig.getCurrentCluster()!.server}${path}`, options);
  if (status !== 200) throw new Error(`GET ${path} as Table: ${status} ${body}`);
  return JSON.parse(body);
}

beforeAll(async () => {
  const started = Date.now();
  plane = await ControlPlane.start();
  console.log(`control plane ready in ${Date.now() - started} ms`);
  await plane.apply(crdManifest);
  networks = plane.kubeConfig.makeApiClient(CustomObjectsApi);
  await plane.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  if (!plane) return;
  const pids = plane.pids;
  await plane.stop();
  for (const pid of pids) expect(() => process.kill(pid, 0), `process ${pid} still running`).toThrow(/ESRCH/);
});

describe('ZeroTierNetwork CRD', () => {
  test('the example managed network is accepted as written', async () => {
    const created = await create({ ...example, metadata: { name: 'example', namespace } });
    expect(created.spec).toEqual(example.spec);
    expect((await read('example')).spec).toEqual(example.spec);
  });

  test('flow rules keep their fields beyond type (not pruned)', async () => {
    const rules = [{ type: 'MATCH_ETHERTYPE', not: true, or: false, etherType: 2048 }, { type: 'ACTION_DROP' }, { type: 'ACTION_ACCEPT' }];
    const created = await create(network('rules', { managed: { rules, capabilities: [{ id: 1, rules }] } }));
    expect(created.spec).toEqual({ managed: { rules, capabilities: [{ id: 1, rules }] } });
  });

  test('an external network with a 16-hex-digit id is accepted', async () => {
    const created = await create(network('external-ok', { external: { networkId: '8056c2e21c000001' } }));
    expect(created.spec).toEqual({ external: { networkId: '8056c2e21c000001' } });
  });

  test.each([
    ['both managed and external', { managed: {}, external: { networkId: '8056c2e21c000001' } }, 'spec must set exactly one of managed and external'],
    ['neither managed nor external', { allowedNamespaces: ['other'] }, 'spec must set exactly one of managed and external'],
    ['an external networkId that is not 16 hex digits', { external: { networkId: 'xyz' } }, "spec.external.networkId in body should match '^[0-9a-f]{16}$'"],
    [
      'an ipv4 pool of IPv6 addresses',
      { managed: { ipv4: { pools: [{ start: 'fd00::10', end: 'fd00::20' }] } } },
      'ipv4.pools must hold IPv4 addresses (a.b.c.d)',
    ],
    [
      'an ipv6 pool of IPv4 addresses',
      { managed: { ipv6: { pools: [{ start: '198.19.0.10', end: '198.19.0.20' }] } } },
      'ipv6.pools must hold IPv6 addresses',
    ],
    [
      'a pool mixing address families',
      { managed: { ipv4: { pools: [{ start: '198.19.0.10', end: 'fd00::20' }] } } },
      "a pool's start and end must be of the same IP family",
    ],
    ['networkNumber 2^24', { managed: { networkNumber: 16777216 } }, 'spec.managed.networkNumber in body should be less than or equal to 16777215'],
    ['a member that is not a ZeroTier address', { managed: { members: ['abc'] } }, "spec.managed.members[0] in body should match '^[0-9a-f]{10}$'"],
  ])('rejects %s', async (_, spec, message) => {
    const rejected = await failure(create(network('bad', spec)));
    expect(rejected.code).toBe(422);
    expect(rejected.message).toContain(message);
  });

  test('rejects a resource without spec', async () => {
    const rejected = await failure(create({ ...network('no-spec', {}), spec: undefined as never }));
    expect(rejected.code).toBe(422);
    expect(rejected.message).toContain('spec: Required value');
  });

  test('status is a subresource: written through /status only, and spec updates keep it', async () => {
    // Status sent with the resource itself is dropped.
    const withStatus = await create({ ...network('status-ignored', { managed: {} }), status: runningStatus });
    expect(withStatus.status).toBeUndefined();

    const created = await create(network('status', { managed: { private: true } }));
    // A spec sent through /status is ignored.
    const updated = await writeStatus({ ...created, spec: { managed: { private: false } } }, runningStatus);
    expect(updated.status).toEqual(runningStatus);
    expect(updated.spec).toEqual(created.spec);
    expect(updated.metadata.generation).toBe(created.metadata.generation);

    const respecced = (await networks.replaceNamespacedCustomObject({
      group, version, namespace, plural, name: 'status',
      body: { ...updated, spec: { managed: { private: false } }, status: { networkId: 'overwritten' } },
    })) as ZeroTierNetwork;
    expect(respecced.spec).toEqual({ managed: { private: false } });
    expect(respecced.status).toEqual(runningStatus);
    expect(respecced.metadata.generation).toBe(created.metadata.generation! + 1);
  });

  test("the printer columns are the CRD's and show the status fields", async () => {
    const served = await plane.kubeConfig.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: crd.metadata!.name! });
    const columns = served.spec.versions.find((v) => v.name === version)!.additionalPrinterColumns!;
    expect(columns).toEqual(crd.spec.versions[0]!.additionalPrinterColumns);
    expect(columns.map((c) => c.name)).toEqual(['Network ID', 'Members', 'Ready', 'Age']);

    await writeStatus(await create(network('printed', { managed: {} })), runningStatus);
    const table = await getTable(plane.kubeConfig, `/apis/${group}/${version}/namespaces/${namespace}/${plural}/printed`);
    expect(table.columnDefinitions.map((c) => c.name)).toEqual(['Name', ...columns.map((c) => c.name)]);
    expect(table.rows[0]!.cells.slice(0, 4)).toEqual(['printed', '1234567890000001', 2, 'True']);
  });
});

describe('ServiceAccount kubeconfigs', () => {
  test('an account with no RBAC is forbidden to list networks', async () => {
    const { kubeConfig } = await plane.kubeconfigForServiceAccount(namespace, 'no-rbac');
    const rejected = await failure(kubeConfig.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group, version, namespace, plural }));
    expect(rejected.code).toBe(403);
    expect(rejected.message).toContain('system:serviceaccount:ztkube-crd-test:no-rbac');
  });

  test('an account bound to a Role gets exactly that access', async () => {
    const rbac = plane.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: { metadata: { name: 'network-reader' }, rules: [{ apiGroups: [group], resources: [plural], verbs: ['get', 'list'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'network-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
      },
    });
    const { kubeConfig } = await plane.kubeconfigForServiceAccount(namespace, 'reader');
    const api = kubeConfig.makeApiClient(CustomObjectsApi);
    const list = (await api.listNamespacedCustomObject({ group, version, namespace, plural })) as { items: ZeroTierNetwork[] };
    expect(list.items.map((n) => n.metadata.name)).toContain('example');
    expect((await failure(create(network('by-reader', { managed: {} }), api))).code).toBe(403);
  });
});
