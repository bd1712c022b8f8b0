// The Helm chart: `helm lint` and `helm template` for the default values and every example in
// charts/ztkube/ci (a new example is checked by being there), the schema describing every value and
// refusing the others, and a release installed, upgraded and uninstalled with helm on the real
// control plane, its controller running the installed Deployment's pod spec with the chart's RBAC.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, KubernetesObjectApi, type KubernetesObject, type V1PodSpec } from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CONTROLLER_LEASE, CONTROLLER_SECRET, LEADER_LABEL, PLANET_CONFIGMAP, ROOT_SECRET } from '../../agent/lib/kube.js';
import { repoRoot } from '../helpers.js';
import { containerCommand, podSpecOf } from './chart-pod.js';
import { ControlPlane, toolsBin } from './control-plane.js';
import { eventually } from './eventually.js';
import { freeUdpPort } from './ztkube-cluster.js';
import { ZtkubeProcess } from './ztkube-process.js';

const run = promisify(execFile);
const chartDir = join(repoRoot, 'charts/ztkube');
const examples = readdirSync(join(chartDir, 'ci'))
  .filter((name) => name.endsWith('.yaml'))
  .sort();
/** The default values, then each example: [name, helm arguments]. */
const valueSets: [string, string[]][] = [['default values', []], ...examples.map((name): [string, string[]] => [`ci/${name}`, ['-f', join(chartDir, 'ci', name)]])];
const namespace = 'ztkube-system';
const release = 'ztkube';
const releaseSelector = `app.kubernetes.io/instance=${release}`;
const prometheusCrds = join(toolsBin, '..', 'prometheus-operator-crd');

let helmHome: string;
let plane: ControlPlane | undefined;

beforeAll(() => {
  helmHome = mkdtempSync(join(tmpdir(), 'ztkube-helm-'));
});

afterAll(async () => {
  await plane?.stop();
  rmSync(helmHome, { recursive: true, force: true });
});

/** helm with its own cache and config dirs, against the control plane once started. */
async function helm(args: string[]): Promise<string> {
  const env = {
    PATH: process.env.PATH,
    HOME: helmHome,
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
    ...(plane ? { KUBECONFIG: plane.kubeconfigPath } : {}),
  };
  try {
    return (await run(join(toolsBin, 'helm'), args, { env, maxBuffer: 16 << 20 })).stdout;
  } catch (e) {
    const failed = e as { stderr?: string; message: string };
    throw new Error(`helm ${args.join(' ')}: ${failed.stderr || failed.message}`);
  }
}

async function template(args: string[]): Promise<KubernetesObject[]> {
  return objectsOf(await helm(['template', release, chartDir, '--namespace', namespace, ...args]));
}

function objectsOf(manifest: string): KubernetesObject[] {
  return parseAllDocuments(manifest)
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => o !== null);
}

/** `helm template`'s error for the values, or undefined when it renders. */
async function refusal(args: string[]): Promise<string | undefined> {
  try {
    await template(args);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

describe('rendering', () => {
  test.each(valueSets)('helm lint --strict passes with %s', async (_name, args) => {
    expect(await helm(['lint', '--strict', chartDir, ...args])).toContain('0 chart(s) failed');
  });

  test.each(valueSets)("helm template with %s: every object carries the release's labels, and both programs accept their args", async (_name, args) => {
    const objects = await template(args);
    for (const object of objects)
      expect(object.metadata?.labels, `${object.kind} ${object.metadata?.name}`).toMatchObject({ 'app.kubernetes.io/name': 'ztkube', 'app.kubernetes.io/instance': release });
    // A missing kubeconfig is the first thing either program fails on once its arguments passed.
    const failure = async (spec: V1PodSpec) => {
      const container = spec.containers[0]!;
      const volumes = Object.fromEntries((container.volumeMounts ?? []).map((m) => [m.name, join(helmHome, m.name)]));
      const fields = { 'metadata.namespace': namespace, 'metadata.name': 'pod', 'spec.nodeName': 'node' };
      const command = containerCommand(container, { volumes, fields, flags: { '--kubeconfig': '/nonexistent' } });
      const program = ZtkubeProcess.start(command.args, { env: command.env });
      return { code: await program.exited, output: program.tail() };
    };
    for (const result of await Promise.all([failure(podSpecOf(objects, 'Deployment', 'ztkube-controller')), failure(podSpecOf(objects, 'DaemonSet', 'ztkube-agent'))])) {
      expect(result.output).toContain("open '/nonexistent'");
      expect(result.code).toBe(1);
    }
  });

  test('the schema describes every value of values.yaml and refuses objects it does not describe', () => {
    const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as SchemaNode & { definitions: Record<string, SchemaNode> };
    const resolve = (node: SchemaNode): SchemaNode => (node.$ref ? { ...schema.definitions[node.$ref.replace('#/definitions/', '')], ...node } : node);
    const undescribed: string[] = [];
    const walk = (values: Record<string, unknown>, node: SchemaNode, path: string) => {
      if (node.additionalProperties !== false) undescribed.push(`${path || '(root)'}: additionalProperties is not false`);
      for (const [key, value] of Object.entries(values)) {
        const child = node.properties?.[key];
        if (!child) {
          undescribed.push(`${path}${key}: not in the schema`);
          continue;
        }
        const resolved = resolve(child);
        if (!resolved.description) undescribed.push(`${path}${key}: no description`);
        if (resolved.properties && value && typeof value === 'object' && !Array.isArray(value)) walk(value as Record<string, unknown>, resolved, `${path}${key}.`);
      }
    };
    walk(parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>, schema, '');
    expect(undescribed).toEqual([]);
  });

  test('values the schema does not allow are refused, naming them', async () => {
    expect(await refusal(['--set', 'agent.threads=0'])).toContain('agent.threads');
    expect(await refusal(['--set', 'controller.replica=2'])).toContain('Additional property replica is not allowed');
    expect(await refusal(['--set', 'mode=hybrid'])).toContain('mode');
    expect(await refusal(['--set', 'metrics.serviceMonitor.interval=soon'])).toContain('metrics.serviceMonitor.interval');
    expect(await refusal(['--set', 'metrics.serviceMonitor.enabled=true,metrics.podMonitor.enabled=true'])).toContain('enable one');
  });

  test("the monitors, NetworkPolicies and PodDisruptionBudget select the pods they are for, on the ports the containers name", async () => {
    const on = ['--set', 'metrics.serviceMonitor.enabled=true,networkPolicy.enabled=true'];
    const objects = [...(await template(on)), ...(await template(['--set', 'metrics.podMonitor.enabled=true']))];
    const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata?.name === name) as Selecting;
    const podLabels = (kind: 'DaemonSet' | 'Deployment', name: string) => find(kind, name).spec.template.metadata.labels;
    const pods = { agent: podLabels('DaemonSet', 'ztkube-agent'), controller: podLabels('Deployment', 'ztkube-controller') };
    for (const [component, labels] of Object.entries(pods)) {
      const service = find('Service', `ztkube-${component}-metrics`);
      expect(labels, component).toMatchObject(service.spec.selector);
      expect(service.metadata?.labels, component).toMatchObject(find('ServiceMonitor', 'ztkube').spec.selector.matchLabels!);
      expect(labels, component).toMatchObject(find('PodMonitor', 'ztkube').spec.selector.matchLabels!);
      expect(labels, component).toMatchObject(find('NetworkPolicy', `ztkube-${component}`).spec.podSelector.matchLabels);
      const spec = podSpecOf(objects, component === 'agent' ? 'DaemonSet' : 'Deployment', `ztkube-${component}`);
      expect(spec.containers[0]!.ports?.find((p) => p.name === 'metrics')?.containerPort).toBe(9464);
    }
    expect(find('PodMonitor', 'ztkube').spec.selector.matchExpressions).toEqual([{ key: 'app.kubernetes.io/component', operator: 'In', values: ['agent', 'controller'] }]);
    expect(find('ServiceMonitor', 'ztkube').spec.endpoints[0]!.port).toBe('metrics');
    expect(find('Service', 'ztkube-root').metadata?.labels).not.toMatchObject(find('ServiceMonitor', 'ztkube').spec.selector.matchLabels!);
    expect(pods.controller).toMatchObject(find('PodDisruptionBudget', 'ztkube-controller').spec.selector.matchLabels!);
    expect(pods.agent).not.toMatchObject(find('PodDisruptionBudget', 'ztkube-controller').spec.selector.matchLabels!);
  });

  test('the agent runs with three capabilities, the controller as non-root with none, every container with probes or as an init container, and resources', async () => {
    const objects = await template([]);
    const agent = podSpecOf(objects, 'DaemonSet', 'ztkube-agent');
    const controller = podSpecOf(objects, 'Deployment', 'ztkube-controller');
    expect(agent.containers[0]!.securityContext).toMatchObject({ capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE'] }, readOnlyRootFilesystem: true });
    expect(agent.containers[0]!.securityContext?.privileged).toBeUndefined();
    expect(agent.initContainers?.map((c) => [c.name, c.args?.[0], c.securityContext?.capabilities])).toEqual([['cni-install', 'cni-install', { drop: ['ALL'] }]]);
    expect(controller.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(controller.containers[0]!.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    for (const container of [...agent.containers, ...controller.containers]) {
      expect(container.livenessProbe?.httpGet?.path, container.name).toBe('/healthz');
      expect(container.readinessProbe?.httpGet?.path, container.name).toBe('/readyz');
    }
    for (const container of [...(agent.initContainers ?? []), ...agent.containers, ...controller.containers]) expect(container.resources?.requests, container.name).toBeDefined();
    const privileged = podSpecOf(await template(['--set', 'agent.privileged=true']), 'DaemonSet', 'ztkube-agent');
    expect(privileged.containers[0]!.securityContext).toMatchObject({ privileged: true });
  });
});

describe('a helm release on the control plane', () => {
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  let objectsApi: KubernetesObjectApi;
  let core: CoreV1Api;
  let ports: string[];

  /** Every kind the release made, by its objects, plus those its controllers make from its templates. */
  const remember = (objects: KubernetesObject[]) => {
    for (const o of [...objects, { apiVersion: 'v1', kind: 'Pod' }, { apiVersion: 'apps/v1', kind: 'ReplicaSet' }, { apiVersion: 'apps/v1', kind: 'ControllerRevision' }])
      kinds.set(`${o.apiVersion}/${o.kind}`, { apiVersion: o.apiVersion!, kind: o.kind! });
  };
  const manifest = async () => objectsOf(await helm(['get', 'manifest', release, '--namespace', namespace]));
  const exists = async (o: KubernetesObject) => objectsApi.read({ apiVersion: o.apiVersion!, kind: o.kind!, metadata: { name: o.metadata!.name!, namespace: o.metadata?.namespace } });

  beforeAll(async () => {
    plane = await ControlPlane.start();
    objectsApi = KubernetesObjectApi.makeApiClient(plane.kubeConfig);
    core = plane.kubeConfig.makeApiClient(CoreV1Api);
    for (const name of ['servicemonitors', 'podmonitors', 'prometheusrules']) await plane.apply(readFileSync(join(prometheusCrds, `monitoring.coreos.com_${name}.yaml`), 'utf8'));
    await core.createNamespace({ body: { metadata: { name: 'apps' } } });
    // The controller process binds the chart's UDP ports on this host: free ones.
    const [rootPort, controllerPort] = await Promise.all([freeUdpPort(), freeUdpPort()]);
    ports = ['--set', `root.port=${rootPort},controller.port=${controllerPort},root.endpoints[0]=127.0.0.1/${rootPort}`];
  });

  test('helm install: every object is accepted server-side, the CRD included', async () => {
    const notes = await helm(['install', release, chartDir, '--namespace', namespace, '--create-namespace', '-f', join(chartDir, 'ci/servicemonitor-networkpolicy.yaml'), ...ports]);
    // NOTES.txt says how to annotate a pod and what uninstalling keeps.
    expect(notes).toContain('ztkube.io/networks: "net-a"');
    expect(notes).toContain('kubectl delete crd zerotiernetworks.ztkube.io');
    const objects = await manifest();
    remember(objects);
    expect(objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding', 'Service', 'DaemonSet', 'Deployment', 'PodDisruptionBudget', 'NetworkPolicy', 'ServiceMonitor']),
    );
    for (const object of objects) await exists(object);
    await objectsApi.read({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'zerotiernetworks.ztkube.io' } });
  });

  test("the installed Deployment's pod spec runs with the chart's RBAC: the controller leads, publishes the planet and labels its pod", async () => {
    const apps = plane!.kubeConfig.makeApiClient(AppsV1Api);
    const deployment = await apps.readNamespacedDeployment({ namespace, name: 'ztkube-controller' });
    // The ReplicaSet's pod (no node runs it here) stands for the pod the process runs as.
    const pod = await eventually('controller pod created', async () => (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/component=controller' })).items[0]);
    const { kubeconfigPath } = await plane!.kubeconfigForServiceAccount(namespace, deployment.spec!.template.spec!.serviceAccountName!);
    const command = containerCommand(deployment.spec!.template.spec!.containers[0]!, {
      volumes: {},
      fields: { 'metadata.namespace': namespace, 'metadata.name': pod.metadata!.name!, 'spec.nodeName': '' },
      flags: { '--kubeconfig': kubeconfigPath, '--metrics-port': '0' },
    });
    // As root (the rig has no other user's files) but with only the capabilities the container keeps: none.
    expect(command.capabilities).toEqual([]);
    const controller = ZtkubeProcess.start(command.args, { env: command.env, capabilities: command.capabilities! });
    try {
      await eventually('planet published', () => core.readNamespacedConfigMap({ namespace, name: PLANET_CONFIGMAP }), { context: () => controller.tail() });
      await eventually('pod labelled leader', async () => (await core.readNamespacedPod({ namespace, name: pod.metadata!.name! })).metadata?.labels?.[LEADER_LABEL] === 'true', {
        context: () => controller.tail(),
      });
    } finally {
      expect(await controller.stop()).toBe(0);
    }
  });

  test('helm upgrade with changed values adds, changes and removes objects', async () => {
    await helm([
      'upgrade', release, chartDir, '--namespace', namespace, '-f', join(chartDir, 'ci/podmonitor.yaml'), ...ports,
      '--set', 'controller.replicas=2,sidecar.serviceAccounts[0].namespace=apps,sidecar.serviceAccounts[0].name=gateway',
    ]);
    const objects = await manifest();
    remember(objects);
    for (const object of objects) await exists(object);
    const apps = plane!.kubeConfig.makeApiClient(AppsV1Api);
    expect((await apps.readNamespacedDeployment({ namespace, name: 'ztkube-controller' })).spec?.replicas).toBe(2);
    await objectsApi.read({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'ztkube', namespace } });
    await objectsApi.read({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'ztkube-sidecar-gateway', namespace: 'apps' } });
    const gone = async (apiVersion: string, kind: string) => (await objectsApi.list(apiVersion, kind, undefined, undefined, undefined, undefined, undefined, releaseSelector)).items;
    expect(await gone('monitoring.coreos.com/v1', 'ServiceMonitor')).toEqual([]);
    expect(await gone('networking.k8s.io/v1', 'NetworkPolicy')).toEqual([]);
  });

  test('helm uninstall leaves no object of the release in any namespace or cluster-wide; the CRD and what ztkube made at run time stay', async () => {
    const left = async () => {
      const found: string[] = [];
      for (const { apiVersion, kind } of kinds.values()) {
        const list = await objectsApi.list(apiVersion, kind, undefined, undefined, undefined, undefined, undefined, releaseSelector);
        found.push(...list.items.map((o) => `${kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`));
      }
      return found;
    };
    // The selector finds every object of the release, and those its controllers made, before.
    const before = await left();
    const installed = (await manifest()).map((o) => `${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`);
    expect(before).toEqual(expect.arrayContaining([...installed, expect.stringMatching(/^Pod ztkube-system\/ztkube-controller-/)]));
    await helm(['uninstall', release, '--namespace', namespace, '--wait']);
    // Pods and ReplicaSets go with their owners through the garbage collector, a moment later.
    let remaining: string[] = [];
    await eventually('no object of the release left', async () => (remaining = await left()).length === 0, { timeoutMs: 90_000, context: () => remaining.join('\n') });
    expect([...kinds.keys()]).toEqual(expect.arrayContaining(['v1/Pod', 'apps/v1/DaemonSet', 'rbac.authorization.k8s.io/v1/ClusterRoleBinding', 'monitoring.coreos.com/v1/PodMonitor']));
    // Kept on purpose (NOTES.txt): the CRD (helm never deletes crds/) and the identities, planet and
    // Lease, so that a reinstall keeps the network ids and the pods' addresses.
    await objectsApi.read({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'zerotiernetworks.ztkube.io' } });
    for (const name of [ROOT_SECRET, CONTROLLER_SECRET]) await core.readNamespacedSecret({ namespace, name });
    await core.readNamespacedConfigMap({ namespace, name: PLANET_CONFIGMAP });
    await objectsApi.read({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: CONTROLLER_LEASE, namespace } });
  });
});

interface SchemaNode {
  description?: string;
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: unknown;
}

/** The parts of rendered objects that select others. */
interface Selecting {
  metadata?: { labels?: Record<string, string> };
  spec: {
    selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[]; [label: string]: unknown };
    podSelector: { matchLabels: Record<string, string> };
    endpoints: { port: string }[];
    template: { metadata: { labels: Record<string, string> } };
  };
}
