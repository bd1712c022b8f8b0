// Warning Events on pods, for problems only (a bad annotation, an unknown or forbidden network, an
// attach failure): each distinct problem once per pod and process, since Events are API writes.
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export class PodEvents {
  readonly #sent = new Set<string>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly logger: Logger,
    /** The reporting component and instance (e.g. ztkube-agent on node x). */
    private readonly source: { component: string; host: string },
  ) {}

  /** Reports the problem unless it was already (in the background); false: it was. */
  warn(pod: V1Pod, reason: string, message: string): boolean {
    const once = `${pod.metadata!.uid}\n${reason}\n${message}`;
    if (this.#sent.has(once)) return false;
    this.#sent.add(once);
    void this.#write(pod, reason, message, once);
    return true;
  }

  async #write(pod: V1Pod, reason: string, message: string, once: string): Promise<void> {
    const meta = pod.metadata!;
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace: meta.namespace!,
        body: {
          metadata: { generateName: `${meta.name}.` },
          involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: meta.namespace, name: meta.name, uid: meta.uid },
          type: 'Warning',
          reason,
          message,
          source: this.source,
          reportingComponent: `ztkube.io/${this.source.component}`,
          reportingInstance: this.source.host,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (e) {
      this.#sent.delete(once);
      this.logger.warn({ err: e, pod: `${meta.namespace}/${meta.name}`, reason }, 'event not written');
    }
  }

  /** The pod is gone: forget what was reported about it. */
  forget(uid: string): void {
    for (const key of this.#sent) if (key.startsWith(`${uid}\n`)) this.#sent.delete(key);
  }
}
