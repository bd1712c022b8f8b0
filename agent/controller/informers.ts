// The controller's view of the cluster: watched collections (agent/lib/informer.ts) of
// ZeroTierNetworks and Pods cluster-wide, the pod identity Secrets in ztkube's namespace and
// StatefulSets (for identity collection). Each has listed once before the controller acts on it:
// an empty cache would look like every network and pod gone.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Pod,
  type V1Secret,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { watchCollection, type Collection } from '../lib/informer.js';
import { API_GROUP, API_VERSION, KIND_LABEL, NETWORK_PLURAL, NETWORKS_ANNOTATION, POD_IDENTITY_KIND } from '../lib/kube.js';
import type { NetworkObject } from './status.js';

export class ClusterView {
  /** Pods matter only while they ask for networks (or just stopped asking): the others' status
   * churn in a busy cluster would run a pass each. */
  readonly #annotatedPods = new Set<string>();

  private constructor(
    readonly networks: Collection<NetworkObject & KubernetesObject>,
    readonly pods: Collection<V1Pod>,
    readonly identitySecrets: Collection<V1Secret>,
    readonly statefulSets: Collection<V1StatefulSet>,
  ) {}

  /** Lists everything, then keeps watching; `onChange` hears every change that may matter. */
  static async start(kubeConfig: KubeConfig, namespace: string, logger: Logger, onChange: () => void): Promise<ClusterView> {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const objects = kubeConfig.makeApiClient(CustomObjectsApi);
    const identitySelector = `${KIND_LABEL}=${POD_IDENTITY_KIND}`;
    let view: ClusterView | undefined;
    const [networks, pods, identitySecrets, statefulSets] = await Promise.all([
      watchCollection<NetworkObject & KubernetesObject>(kubeConfig, {
        name: NETWORK_PLURAL,
        path: `/apis/${API_GROUP}/${API_VERSION}/${NETWORK_PLURAL}`,
        list: () =>
          objects.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NETWORK_PLURAL }) as Promise<
            KubernetesListObject<NetworkObject & KubernetesObject>
          >,
        logger,
        onChange,
      }),
      watchCollection<V1Pod>(kubeConfig, {
        name: 'pods',
        path: '/api/v1/pods',
        list: () => core.listPodForAllNamespaces(),
        logger,
        onChange: (kind, pod) => view && view.#podChanged(kind, pod, onChange),
      }),
      watchCollection<V1Secret>(kubeConfig, {
        name: 'identity secrets',
        path: `/api/v1/namespaces/${namespace}/secrets`,
        list: () => core.listNamespacedSecret({ namespace, labelSelector: identitySelector }),
        labelSelector: identitySelector,
        logger,
        onChange,
      }),
      watchCollection<V1StatefulSet>(kubeConfig, {
        name: 'statefulsets',
        path: '/apis/apps/v1/statefulsets',
        list: () => apps.listStatefulSetForAllNamespaces(),
        logger,
        onChange,
      }),
    ]);
    view = new ClusterView(networks, pods, identitySecrets, statefulSets);
    for (const pod of pods.list()) if (asksForNetworks(pod)) view.#annotatedPods.add(podKey(pod));
    return view;
  }

  async stop(): Promise<void> {
    await Promise.all([this.networks.stop(), this.pods.stop(), this.identitySecrets.stop(), this.statefulSets.stop()]);
  }

  #podChanged(kind: 'add' | 'update' | 'delete', pod: V1Pod, onChange: () => void): void {
    const key = podKey(pod);
    const asks = asksForNetworks(pod);
    const asked = this.#annotatedPods.has(key);
    if (asks && kind !== 'delete') this.#annotatedPods.add(key);
    else this.#annotatedPods.delete(key);
    if (asks || asked) onChange();
  }
}

function asksForNetworks(pod: V1Pod): boolean {
  return NETWORKS_ANNOTATION in (pod.metadata?.annotations ?? {});
}

function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}
