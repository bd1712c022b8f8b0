// What the leader runs: in its own network namespace a root (private mode) and the controller
// node, the controller's records loaded from their ConfigMaps, the informers and the reconciler.
// Started when the Lease is won; stopped on SIGTERM (everything pending written first). A leader
// that loses the Lease abandons at once (nodes stopped, nothing more written: a successor may own
// the records) and stands by again (cli/controller.ts).
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Dataplane } from '../dataplane/dataplane.js';
import { CONTROLLER_SECRET, IDENTITY_SECRET_TYPE, KIND_LABEL, LEADER_LABEL, MANAGED_BY, MANAGED_BY_LABEL, mergePatch } from '../lib/kube.js';
import { ensureIdentitySecret, SecretStateStore } from '../lib/secret-state-store.js';
import { ClusterView } from './informers.js';
import { KubeControllerStore } from './kube-controller-store.js';
import type { ControllerMetrics } from './metrics.js';
import { Reconciler } from './reconciler.js';
import { localRootEndpoint, prepareRoot, rootEndpoints } from './root.js';
import { StatusWriter } from './status.js';

export const ROOT_KEY = 'ztkube/root';
export const CONTROLLER_KEY = 'ztkube/controller';

export interface LeaderOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  mode: 'private' | 'public';
  /** "ip/port" stable endpoints of the root; empty: the ClusterIP of Service ztkube-root. */
  rootEndpoints: string[];
  rootBind: string;
  controllerBind: string;
  threads: number;
  /** This pod's name (labelled ztkube.io/leader=true while leading), if running in a pod. */
  podName?: string;
  /** This candidate's Lease identity (Events' reportingInstance). */
  identity: string;
  metrics: ControllerMetrics;
  log: Logger;
}

export class Leader {
  #view: ClusterView | undefined;
  #reconciler: Reconciler | undefined;
  #store: KubeControllerStore | undefined;
  #status: StatusWriter | undefined;
  readonly dataplane: Dataplane;
  controllerAddress = '';
  /** The controller node hears a root (ONLINE): members can reach it. */
  #controllerOnline = false;

  private constructor(private readonly o: LeaderOptions) {
    this.dataplane = new Dataplane({ threads: o.threads, logger: o.log });
    this.dataplane.on('event', (pod, event) => {
      if (pod !== CONTROLLER_KEY || (event !== 'ONLINE' && event !== 'OFFLINE')) return;
      this.#controllerOnline = event === 'ONLINE';
      this.#reconciler?.schedule();
    });
  }

  /** Nodes up and the first reconcile scheduled; on failure everything started is stopped. */
  static async start(options: LeaderOptions): Promise<Leader> {
    const leader = new Leader(options);
    try {
      await leader.#start();
    } catch (e) {
      await leader.stop();
      throw e;
    }
    return leader;
  }

  async #start(): Promise<void> {
    const { kubeConfig, namespace, log, metrics } = this.o;
    const core = kubeConfig.makeApiClient(CoreV1Api);
    let planet: Buffer | undefined;
    if (this.o.mode === 'private') {
      const endpoints = await rootEndpoints(core, namespace, this.o.rootEndpoints);
      const root = await prepareRoot(core, namespace, endpoints, localRootEndpoint(this.o.rootBind), log);
      await this.dataplane.attach({ key: ROOT_KEY, bind: this.o.rootBind, store: root.store, rootMode: true });
      planet = root.localPlanet;
    }
    const labels = { [MANAGED_BY_LABEL]: MANAGED_BY, [KIND_LABEL]: 'controller' };
    await ensureIdentitySecret(core, namespace, CONTROLLER_SECRET, { labels, type: IDENTITY_SECRET_TYPE });
    this.#store = await KubeControllerStore.open(core, namespace, log, () => metrics.errors.inc({ kind: 'write' }));
    const controller = await this.dataplane.attach({
      key: CONTROLLER_KEY,
      bind: this.o.controllerBind,
      store: new SecretStateStore(core, namespace, CONTROLLER_SECRET, { labels, planet }),
      controller: this.#store,
    });
    this.controllerAddress = controller.address;

    this.#status = new StatusWriter(kubeConfig.makeApiClient(CustomObjectsApi), core, this.o.identity, log, () =>
      metrics.errors.inc({ kind: 'write' }),
    );
    const view = await ClusterView.start(kubeConfig, namespace, log, () => this.#reconciler?.schedule());
    this.#view = view;
    this.#reconciler = new Reconciler({
      view,
      core,
      namespace,
      dataplane: this.dataplane,
      controllerKey: CONTROLLER_KEY,
      controllerAddress: controller.address,
      controllerOnline: () => this.#controllerOnline,
      store: this.#store,
      status: this.#status,
      metrics,
      log,
    });
    this.#store.on('change', () => this.#reconciler?.schedule());
    this.#reconciler.start();
    await this.#labelLeaderPod(core, view);
  }

  /** The Service ztkube-root selects ztkube.io/leader=true: this pod, and no other. */
  async #labelLeaderPod(core: CoreV1Api, view: ClusterView): Promise<void> {
    const { namespace, podName, log } = this.o;
    if (!podName) return;
    const label = (name: string, value: string | null) =>
      core.patchNamespacedPod({ namespace, name, body: { metadata: { labels: { [LEADER_LABEL]: value } } } }, mergePatch);
    await label(podName, 'true');
    for (const pod of view.pods.list(namespace))
      if (pod.metadata?.name !== podName && pod.metadata?.labels?.[LEADER_LABEL]) await label(pod.metadata.name!, null);
    log.info({ pod: podName }, 'pod labelled leader');
  }

  /** Stops reconciling and the nodes, then writes what is pending (status, records). */
  async stop(): Promise<void> {
    await this.abandon();
    await this.#status?.flush();
    await this.#store?.flush();
  }

  /** Stops reconciling and the nodes and writes nothing more: the Lease is lost, a successor may
   * own the records already. */
  async abandon(): Promise<void> {
    await this.#reconciler?.stop();
    await this.#view?.stop();
    await this.dataplane.close();
  }
}
