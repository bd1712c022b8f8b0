// The pod's `ztkube.io/network-status` annotation (docs/kubernetes.md, "The annotation"): one
// entry per requested network, from what the agent resolved and what the pod's node reports.
// Writes are the scarce resource (the API-write budget is a handful per pod), so the publisher
// debounces, waits for a settled state before writing a transient one, and skips unchanged values.
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { mergePatch, NETWORK_STATUS_ANNOTATION, type NetworkStatusEntry } from '../lib/kube.js';
import type { PodNetwork } from './dataplane.js';

/** A requested network as the agent resolved it. */
export interface NetworkResolution {
  /** namespace/name of the ZeroTierNetwork (or the bad annotation's text). */
  name: string;
  networkId?: string;
  /** Why the pod cannot join it (unknown network, namespace not allowed, bad annotation). */
  error?: string;
}

/** Status of a network whose id the controller has not published yet. */
export const PENDING = 'Pending';
export const ERROR = 'Error';

export interface PodAttachment {
  address: string;
  networks: PodNetwork[];
}

/** The annotation's entries: resolution errors, then the pod-level error (not attached: why),
 * then the node's view of each network. */
export function networkStatusEntries(resolutions: NetworkResolution[], attachment: PodAttachment | undefined, podError?: string): NetworkStatusEntry[] {
  return resolutions.map((r): NetworkStatusEntry => {
    if (r.error) return { name: r.name, ...(r.networkId ? { networkId: r.networkId } : {}), status: ERROR, error: r.error };
    if (!r.networkId) return { name: r.name, status: PENDING };
    if (!attachment) return podError ? { name: r.name, networkId: r.networkId, status: ERROR, error: podError } : { name: r.name, networkId: r.networkId, status: PENDING };
    const network = attachment.networks.find((n) => n.networkId === r.networkId);
    if (!network) return { name: r.name, networkId: r.networkId, address: attachment.address, status: 'REQUESTING_CONFIGURATION' };
    const entry: NetworkStatusEntry = {
      name: r.name,
      networkId: r.networkId,
      interface: network.interfaceName,
      address: attachment.address,
      mac: network.config.mac,
      ips: network.config.assignedAddresses,
      status: network.config.status,
    };
    return network.applyError ? { ...entry, status: ERROR, error: `interface not configured: ${network.applyError}` } : entry;
  });
}

/** Whether the entries may still change by themselves soon (worth waiting before writing). */
export function isTransient(entries: NetworkStatusEntry[]): boolean {
  return entries.some((e) => e.status === PENDING || e.status === 'REQUESTING_CONFIGURATION' || (e.status === 'OK' && !e.ips?.length));
}

/** Each network has its config and at least one address: what CNI ADD waits for. */
export function isReady(entries: NetworkStatusEntry[]): boolean {
  return entries.every((e) => e.status === ERROR || (e.status === 'OK' && (e.ips?.length ?? 0) > 0));
}

export interface StatusPublisherOptions {
  core: CoreV1Api;
  logger: Logger;
  /** The pod as last seen and its entries now; undefined: nothing to publish (pod gone). null
   * entries: the annotation should not be there (pod no longer annotated). */
  render(key: string): { pod: V1Pod; entries: NetworkStatusEntry[] | null } | undefined;
  /** Quiet time after the last change before writing (default 50 ms: a config and the address
   * changes it causes come within a few milliseconds of each other). */
  debounceMs?: number;
  /** How long a transient status may wait for a settled one (default 10 s). */
  settleMs?: number;
}

interface Pending {
  timer: NodeJS.Timeout;
  since: number;
}

export class StatusPublisher {
  readonly #pending = new Map<string, Pending>();
  /** The value this publisher last wrote per pod uid, in case the cache lags behind. */
  readonly #written = new Map<string, string | null>();
  readonly #debounceMs: number;
  readonly #settleMs: number;
  #stopped = false;

  constructor(private readonly options: StatusPublisherOptions) {
    this.#debounceMs = options.debounceMs ?? 50;
    this.#settleMs = options.settleMs ?? 10_000;
  }

  /** Something about the pod changed: publish once things are quiet. */
  changed(key: string): void {
    if (this.#stopped) return;
    const pending = this.#pending.get(key);
    if (pending) clearTimeout(pending.timer);
    const since = pending?.since ?? Date.now();
    this.#pending.set(key, { since, timer: setTimeout(() => this.#publishLater(key), this.#debounceMs) });
  }

  /** The pod is gone: nothing more to write. */
  forget(key: string, uid?: string): void {
    clearTimeout(this.#pending.get(key)?.timer);
    this.#pending.delete(key);
    if (uid) this.#written.delete(uid);
  }

  stop(): void {
    this.#stopped = true;
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
  }

  #publishLater(key: string): void {
    this.#publish(key).catch((e: unknown) => this.options.logger.error({ err: e, pod: key }, 'network status failed'));
  }

  async #publish(key: string): Promise<void> {
    const pending = this.#pending.get(key);
    if (!pending || this.#stopped) return;
    const rendered = this.options.render(key);
    if (!rendered) return this.forget(key);
    const { pod, entries } = rendered;
    if (entries && isTransient(entries) && Date.now() - pending.since < this.#settleMs) {
      pending.timer = setTimeout(() => this.#publishLater(key), Math.min(1000, this.#settleMs));
      return;
    }
    this.#pending.delete(key);
    const value = entries ? JSON.stringify(entries) : null;
    const uid = pod.metadata!.uid!;
    const current = this.#written.has(uid) ? this.#written.get(uid) : (pod.metadata?.annotations?.[NETWORK_STATUS_ANNOTATION] ?? null);
    if (value === current) return;
    const log = this.options.logger.child({ pod: key });
    try {
      await this.options.core.patchNamespacedPod(
        {
          namespace: pod.metadata!.namespace!,
          name: pod.metadata!.name!,
          // The uid makes the patch fail on a newer pod of the same name instead of writing to it.
          body: { metadata: { uid, annotations: { [NETWORK_STATUS_ANNOTATION]: value } } },
        },
        mergePatch,
      );
      this.#written.set(uid, value);
      log.info({ networks: entries?.map((e) => ({ name: e.name, networkId: e.networkId, status: e.status })) }, 'network status written');
    } catch (e) {
      log.warn({ err: e }, 'network status not written; retrying');
      this.changed(key);
    }
  }
}
