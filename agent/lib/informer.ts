// A cached, watched collection of API objects (client-node's ListWatch) that keeps watching:
// ListWatch stops at the first error (an apiserver restart, an expired watch), a long-running
// component relists after a short pause instead.
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface CollectionOptions<T extends KubernetesObject> {
  /** For logs: "pods", "zerotiernetworks", ... */
  name: string;
  /** The API path of the collection, e.g. /api/v1/pods. */
  path: string;
  /** The list call matching path and fieldSelector. */
  list(): Promise<KubernetesListObject<T>>;
  fieldSelector?: string;
  /** Must match the list call's. */
  labelSelector?: string;
  logger: Logger;
  onChange(kind: 'add' | 'update' | 'delete', object: T): void;
}

export interface Collection<T extends KubernetesObject> {
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): T[];
  /** The first list arrived. */
  readonly synced: boolean;
  stop(): Promise<void>;
}

const RETRY_MS = 1000;

/** Starts watching; resolves once the first list is in the cache. */
export async function watchCollection<T extends KubernetesObject>(kubeConfig: KubeConfig, options: CollectionOptions<T>): Promise<Collection<T>> {
  const informer = new ListWatch<T>(options.path, new Watch(kubeConfig), options.list, false, options.labelSelector, options.fieldSelector);
  const log = options.logger.child({ collection: options.name });
  let stopped = false;
  let synced = false;
  let failed = false;
  const start = async () => {
    if (stopped) return;
    failed = false;
    await informer.start();
    if (!failed) synced = true;
  };
  informer.on('add', (o) => options.onChange('add', o));
  informer.on('update', (o) => options.onChange('update', o));
  informer.on('delete', (o) => options.onChange('delete', o));
  informer.on('error', (e) => {
    failed = true;
    if (stopped) return;
    log.warn({ err: e }, 'watch failed; relisting');
    setTimeout(() => void start(), RETRY_MS).unref();
  });
  await start();
  while (!synced && !stopped) await new Promise((r) => setTimeout(r, 200));
  log.debug('watching');
  return {
    get: (name, namespace) => informer.get(name, namespace),
    list: (namespace) => [...informer.list(namespace)],
    get synced() {
      return synced;
    },
    stop: async () => {
      stopped = true;
      await informer.stop();
    },
  };
}
