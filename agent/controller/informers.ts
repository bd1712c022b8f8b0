// The controller's view of the cluster: informers (list, then watch; client-node keeps the cache)
// for ZeroTierNetworks and Pods cluster-wide, the pod identity Secrets in ztkube's namespace and
// StatefulSets (for identity collection). Each must list once before the controller acts on it:
// an empty cache after a failed list would look like every network and pod gone.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
  type V1Pod,
  type V1Secret,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_GROUP, API_VERSION, KIND_LABEL, NETWORK_PLURAL, NETWORKS_ANNOTATION, POD_IDENTITY_KIND } from '../lib/kube.js';
import type { NetworkObject } from './status.js';

const RESTART_MS = 2000;

type Cached<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export class ClusterView {
  readonly networks: Cached<NetworkObject & KubernetesObject>;
  readonly pods: Cached<V1Pod>;
  readonly identitySecrets: Cached<V1Secret>;
  readonly statefulSets: Cached<V1StatefulSet>;
  #stopped = false;

  constructor(
    kubeConfig: KubeConfig,
    namespace: string,
    private readonly log: Logger,
    /** Any change of any watched object. */
    private readonly onChange: () => void,
    private readonly onError: () => void,
  ) {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const objects = kubeConfig.makeApiClient(CustomObjectsApi);
    const identitySelector = `${KIND_LABEL}=${POD_IDENTITY_KIND}`;
    this.networks = makeInformer(
      kubeConfig,
      `/apis/${API_GROUP}/${API_VERSION}/${NETWORK_PLURAL}`,
      () =>
        objects.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NETWORK_PLURAL }) as Promise<
          KubernetesListObject<NetworkObject & KubernetesObject>
        >,
    );
    this.pods = makeInformer(kubeConfig, '/api/v1/pods', () => core.listPodForAllNamespaces());
    this.identitySecrets = makeInformer(
      kubeConfig,
      `/api/v1/namespaces/${namespace}/secrets`,
      () => core.listNamespacedSecret({ namespace, labelSelector: identitySelector }),
      identitySelector,
    );
    this.statefulSets = makeInformer(kubeConfig, '/apis/apps/v1/statefulsets', () => apps.listStatefulSetForAllNamespaces());
  }

  /** Lists everything (throws naming what could not be listed), then keeps watching. */
  async start(): Promise<void> {
    await Promise.all([
      this.#start('zerotiernetworks', this.networks),
      this.#start('pods', this.pods),
      this.#start('identity secrets', this.identitySecrets),
      this.#start('statefulsets', this.statefulSets),
    ]);
    for (const pod of this.pods.list())
      if (NETWORKS_ANNOTATION in (pod.metadata?.annotations ?? {})) this.#annotatedPods.add(`${pod.metadata?.namespace}/${pod.metadata?.name}`);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([this.networks.stop(), this.pods.stop(), this.identitySecrets.stop(), this.statefulSets.stop()]);
  }

  /** Pods matter only while they ask for networks (or just stopped asking): the others' status
   * churn in a busy cluster would run a pass each. */
  readonly #annotatedPods = new Set<string>();

  #changed<T extends KubernetesObject>(informer: Cached<T>, verb: 'add' | 'update' | 'delete', object: T): void {
    if ((informer as unknown) === this.pods) {
      const key = `${object.metadata?.namespace}/${object.metadata?.name}`;
      const asks = NETWORKS_ANNOTATION in (object.metadata?.annotations ?? {});
      const asked = this.#annotatedPods.has(key);
      if (asks && verb !== 'delete') this.#annotatedPods.add(key);
      else this.#annotatedPods.delete(key);
      if (!asks && !asked) return;
    }
    this.onChange();
  }

  async #start<T extends KubernetesObject>(what: string, informer: Cached<T>): Promise<void> {
    let failure: unknown;
    const onStartError = (e: unknown) => (failure = e);
    informer.on('error', onStartError);
    await informer.start();
    informer.off('error', onStartError);
    if (failure) throw new Error(`listing ${what}: ${(failure as Error).message ?? String(failure)}`);
    for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, (o: T) => this.#changed(informer, verb, o));
    // client-node does not restart a watch that failed: restart it (a relist fires the deletes missed).
    informer.on('error', (e: unknown) => {
      if (this.#stopped) return;
      this.onError();
      this.log.warn({ err: e, watch: what }, 'watch failed; restarting');
      setTimeout(() => void (this.#stopped ? undefined : informer.start()), RESTART_MS);
    });
  }
}
