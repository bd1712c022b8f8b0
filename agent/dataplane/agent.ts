// The agent (a DaemonSet: every annotated pod of its Kubernetes node) and the sidecar (one node,
// its own pod) are the same program: watches on pods, ZeroTierNetworks and the planet feed a
// PodReconciler running the pods' nodes on one Dataplane, with metrics and health on HTTP and,
// for the agent, the CNI socket. What differs is in AgentOptions.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type V1ConfigMap, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { watchCollection, type Collection } from '../lib/informer.js';
import { API_GROUP, API_VERSION, NETWORK_PLURAL, PLANET_CONFIGMAP, PLANET_KEY } from '../lib/kube.js';
import { serveMetrics, type MetricsServer } from '../lib/metrics-server.js';
import { repoPath } from '../lib/native.js';
import { chainCniPlugin, installCniBinary, unchainCniPlugin } from './cni-install.js';
import { CniServer } from './cni-server.js';
import { IdentityPool } from './identity-pool.js';
import { Dataplane } from './dataplane.js';
import { registerDataplaneMetrics, registerIdentityPoolMetrics } from './metrics.js';
import { findPodNetns } from './netns-discovery.js';
import { PodEvents } from './pod-events.js';
import { PodReconciler, type ZeroTierNetworkObject } from './pod-reconciler.js';
import { PodRecords } from './pod-records.js';

export type Mode = 'private' | 'public';

export interface AgentOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  /** ztkube's namespace: the planet ConfigMap, and (agent) the identity Secrets. */
  namespace: string;
  /** private: nodes use the planet the controller publishes; public: the engine's own. */
  mode: Mode;
  /** For Events: the Kubernetes node's name. */
  nodeName: string;
  /** The agent: every pod on nodeName; the sidecar: its own pod, in the current network namespace. */
  role: AgentRole | { kind: 'sidecar'; podNamespace: string; podName: string; podUid: string };
  threads: number;
  bindPort: number;
  cniWaitMs: number;
  metrics: { host: string; port: number };
  /** Spare identities kept ready for new pods (identity-pool.ts). */
  identityPool: number;
}

export interface AgentRole {
  kind: 'agent';
  cniSocket: string;
  podRecordsDir: string;
  /** Keep ztkube-cni chained into the host's primary CNI configuration (cni-install.ts) while the
   * agent runs, installing the plugin into binDir first if given (else `ztkube cni-install` did);
   * the socket path must be the same on the host. */
  cniInstall?: { binDir?: string; confDir: string };
}

/** How often the chain is checked again: the primary CNI may rewrite its configuration. */
const CNI_CHAIN_CHECK_MS = 10_000;

export interface RunningAgent {
  metrics: MetricsServer;
  dataplane: Dataplane;
  /** Stops the watches and the CNI socket, then the nodes (their TAPs go); Secrets stay. */
  close(): Promise<void>;
}

type PodList = KubernetesListObject<V1Pod>;

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const { kubeConfig, logger, role } = options;
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const dataplane = new Dataplane({ threads: options.threads, logger });
  const watches: { stop(): Promise<void> }[] = [];
  let cni: CniServer | undefined;
  let chainTimer: NodeJS.Timeout | undefined;
  let ready = false;
  const identities = new IdentityPool({ target: options.identityPool }, logger);
  const registry = registerDataplaneMetrics(dataplane);
  registerIdentityPoolMetrics(identities, registry);
  const metrics = await serveMetrics(registry, { ...options.metrics, ready: () => ready });
  logger.info({ url: metrics.url }, 'metrics listening');

  let networks: Collection<ZeroTierNetworkObject> | undefined;
  let pods: Collection<V1Pod> | undefined;
  let planet: Collection<V1ConfigMap> | undefined;
  const sidecar = role.kind === 'sidecar' ? role : undefined;
  const records = role.kind === 'agent' ? new PodRecords(role.podRecordsDir) : undefined;
  const reconciler = new PodReconciler({
    dataplane,
    core,
    logger,
    events: new PodEvents(core, logger, { component: `ztkube-${role.kind}`, host: options.nodeName }),
    identityNamespace: (pod) => (sidecar ? pod.metadata!.namespace! : options.namespace),
    network: (ref) => networks?.get(ref.name, ref.namespace),
    pod: (namespace, name) => pods?.get(name, namespace),
    planet: () => {
      if (options.mode === 'public') return null;
      const data = planet?.get(PLANET_CONFIGMAP, options.namespace)?.binaryData?.[PLANET_KEY];
      return data ? Buffer.from(data, 'base64') : undefined;
    },
    discoverNetns: async (pod) => {
      if (sidecar) return '';
      return pod.status?.phase === 'Running' ? findPodNetns(pod.metadata!.uid!) : undefined;
    },
    ownNetns: sidecar !== undefined,
    releaseIdentities: !sidecar,
    bindPort: options.bindPort,
    records,
    cniWaitMs: options.cniWaitMs,
    identities,
  });

  const close = async () => {
    ready = false;
    clearInterval(chainTimer);
    if (role.kind === 'agent' && role.cniInstall) unchain(role.cniInstall.confDir, logger);
    await cni?.close();
    await Promise.all(watches.map((w) => w.stop()));
    await reconciler.close();
    identities.close();
    await dataplane.close();
    await metrics.close();
  };
  try {
    if (records) reconciler.restore(await records.list((file, e) => logger.warn({ file, err: e }, 'pod record unreadable; ignored')));
    if (options.mode === 'private') {
      planet = await watchCollection<V1ConfigMap>(kubeConfig, {
        name: 'planet',
        path: `/api/v1/namespaces/${options.namespace}/configmaps`,
        fieldSelector: `metadata.name=${PLANET_CONFIGMAP}`,
        list: () => core.listNamespacedConfigMap({ namespace: options.namespace, fieldSelector: `metadata.name=${PLANET_CONFIGMAP}` }),
        logger,
        onChange: () => reconciler.resyncAll(),
      });
      watches.push(planet);
      if (!reconciler.hasPlanet()) logger.warn({ configMap: `${options.namespace}/${PLANET_CONFIGMAP}` }, 'no planet published yet; pods wait for it');
    }
    networks = await watchCollection<ZeroTierNetworkObject>(kubeConfig, {
      name: NETWORK_PLURAL,
      path: `/apis/${API_GROUP}/${API_VERSION}/${NETWORK_PLURAL}`,
      list: () => custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NETWORK_PLURAL }) as Promise<KubernetesListObject<ZeroTierNetworkObject>>,
      logger,
      onChange: () => reconciler.resyncAll(),
    });
    watches.push(networks);
    const onPod = (kind: 'add' | 'update' | 'delete', pod: V1Pod) => {
      if (sidecar && pod.metadata?.uid !== sidecar.podUid) return;
      if (kind === 'delete') reconciler.podDeleted(pod);
      else reconciler.podChanged(pod);
    };
    pods = sidecar
      ? await watchCollection<V1Pod>(kubeConfig, {
          name: 'pod',
          path: `/api/v1/namespaces/${sidecar.podNamespace}/pods`,
          fieldSelector: `metadata.name=${sidecar.podName}`,
          list: () => core.listNamespacedPod({ namespace: sidecar.podNamespace, fieldSelector: `metadata.name=${sidecar.podName}` }) as Promise<PodList>,
          logger,
          onChange: onPod,
        })
      : await watchCollection<V1Pod>(kubeConfig, {
          name: 'pods',
          path: '/api/v1/pods',
          fieldSelector: `spec.nodeName=${options.nodeName}`,
          list: () => core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${options.nodeName}` }) as Promise<PodList>,
          logger,
          onChange: onPod,
        });
    watches.push(pods);
    await reconciler.pruneRecords(new Set(pods.list().map((p) => p.metadata!.uid!)));
    if (role.kind === 'agent') {
      cni = await CniServer.listen(role.cniSocket, reconciler, { logger });
      if (role.cniInstall) chainTimer = keepChained(role, role.cniInstall, logger);
    }
    ready = true;
    logger.info({ mode: options.mode, node: options.nodeName, role: role.kind }, 'ready');
  } catch (e) {
    await close();
    throw e;
  }
  return { metrics, dataplane, close };
}

/** Installs the plugin (if asked) and chains it now (failing the start if it cannot), then
 * re-chains it whenever the primary CNI rewrote its configuration. */
function keepChained(role: AgentRole, install: { binDir?: string; confDir: string }, logger: Logger): NodeJS.Timeout {
  if (install.binDir) installCniBinary(repoPath('dist', 'bin', 'ztkube-cni'), install.binDir);
  const chain = () => {
    const changed = chainCniPlugin({ confDir: install.confDir, socket: role.cniSocket });
    if (changed) logger.info({ file: changed }, 'ztkube-cni chained');
  };
  chain();
  return setInterval(() => {
    try {
      chain();
    } catch (e) {
      logger.warn({ err: e, confDir: install.confDir }, 'ztkube-cni not chained');
    }
  }, CNI_CHAIN_CHECK_MS);
}

/** Unchained on stop: pods created meanwhile start without ztkube-cni and are attached by
 * namespace discovery once an agent runs again, and an uninstalled ztkube leaves no plugin behind. */
function unchain(confDir: string, logger: Logger): void {
  try {
    const changed = unchainCniPlugin(confDir);
    if (changed) logger.info({ file: changed }, 'ztkube-cni unchained');
  } catch (e) {
    logger.warn({ err: e, confDir }, 'ztkube-cni not unchained');
  }
}
