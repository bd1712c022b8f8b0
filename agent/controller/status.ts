// ZeroTierNetwork status through the status subresource (merge patch): written only when it
// changed (the Ready condition's lastTransitionTime aside), at most once per STATUS_INTERVAL_MS
// per network. Every API write counts against the cluster, so a change of readiness goes out
// within a second, while member changes are gathered for MEMBERS_DELAY_MS: a burst of pods, or a
// pod's authorisation and its first request, cost one write. A change of Ready (status or reason)
// also records one Event on the network.
import type { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_GROUP, API_VERSION, isNotFound, mergePatch, NETWORK_PLURAL } from '../lib/kube.js';
import type { ZeroTierNetwork } from '../lib/network-spec.js';

export const STATUS_INTERVAL_MS = 1000;
export const MEMBERS_DELAY_MS = 5000;
const RETRY_MS = 2000;

export type ReadyReason = 'NetworkConfigured' | 'InvalidSpec' | 'ControllerNotReady';

export interface MemberEntry {
  /** namespace/name; absent for spec.managed.members. */
  pod?: string;
  address: string;
  /** Online, Authorized, AwaitingAuthorization, Deauthorized; on external networks the pod's
   * node status where it is none of these (NOT_FOUND, Error, ...). */
  state: string;
  ips: string[];
}

export interface MemberCounts {
  total: number;
  authorized: number;
  awaitingAuthorization: number;
  online: number;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

export interface NetworkStatus {
  networkId?: string;
  observedGeneration?: number;
  members?: MemberCounts;
  memberList?: MemberEntry[];
  conditions?: Condition[];
}

/** A ZeroTierNetwork as the API serves it. */
export type NetworkObject = ZeroTierNetwork & {
  metadata: { name: string; namespace?: string; uid?: string; generation?: number; creationTimestamp?: string | Date };
  status?: NetworkStatus;
};

export interface Readiness {
  ready: boolean;
  reason: ReadyReason;
  message: string;
}

export function countMembers(list: MemberEntry[]): MemberCounts {
  const count = (states: string[]) => list.filter((m) => states.includes(m.state)).length;
  return {
    total: list.length,
    authorized: count(['Online', 'Authorized']),
    awaitingAuthorization: count(['AwaitingAuthorization']),
    online: count(['Online']),
  };
}

/** JSON with object keys sorted and lastTransitionTime left out: what "changed" means. */
function comparable(status: NetworkStatus | undefined): string {
  return JSON.stringify(status ?? {}, (key, value: unknown) => {
    if (key === 'lastTransitionTime') return undefined;
    if (value && typeof value === 'object' && !Array.isArray(value))
      return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)));
    return value;
  });
}

interface NetworkState {
  /** The status last written (or seen in the cache at first). */
  written?: NetworkStatus;
  lastWriteAt: number;
  pending?: { network: NetworkObject; status: NetworkStatus };
  timer?: NodeJS.Timeout;
  /** When the timer fires (ms since the epoch). */
  due?: number;
}

export class StatusWriter {
  readonly #networks = new Map<string, NetworkState>();

  constructor(
    private readonly objects: CustomObjectsApi,
    private readonly core: CoreV1Api,
    private readonly reportingInstance: string,
    private readonly log: Logger,
    private readonly onWriteError: () => void = () => {},
  ) {}

  /** Sets the network's desired status; written later if it differs from what the network has. */
  update(network: NetworkObject, readiness: Readiness, fields: { networkId?: string; memberList: MemberEntry[] }): void {
    const key = `${network.metadata.namespace}/${network.metadata.name}`;
    let state = this.#networks.get(key);
    if (!state) this.#networks.set(key, (state = { written: network.status, lastWriteAt: 0 }));
    const previous = state.written?.conditions?.find((c) => c.type === 'Ready');
    const condition: Condition = {
      type: 'Ready',
      status: readiness.ready ? 'True' : 'False',
      reason: readiness.reason,
      message: readiness.message,
      observedGeneration: network.metadata.generation,
    };
    const unchanged = previous?.status === condition.status && previous.reason === condition.reason;
    condition.lastTransitionTime = (unchanged && previous.lastTransitionTime) || new Date().toISOString();
    const status: NetworkStatus = {
      ...(fields.networkId ? { networkId: fields.networkId } : {}),
      observedGeneration: network.metadata.generation,
      members: countMembers(fields.memberList),
      memberList: fields.memberList,
      conditions: [condition],
    };
    if (comparable(status) === comparable(state.written)) {
      state.pending = undefined;
      return;
    }
    state.pending = { network, status };
    const membersOnly = comparable({ ...status, members: undefined, memberList: undefined }) ===
      comparable({ ...state.written, members: undefined, memberList: undefined });
    this.#schedule(key, state, membersOnly ? MEMBERS_DELAY_MS : 0);
  }

  /** The network is gone: nothing more to write for it. */
  forget(key: string): void {
    clearTimeout(this.#networks.get(key)?.timer);
    this.#networks.delete(key);
  }

  /** Writes every pending status now (shutdown). */
  async flush(): Promise<void> {
    for (const [key, state] of this.#networks) {
      clearTimeout(state.timer);
      state.timer = undefined;
      if (state.pending) await this.#write(key, state);
    }
  }

  /** Writes after delayMs (or sooner if already due sooner), never within STATUS_INTERVAL_MS of the last write. */
  #schedule(key: string, state: NetworkState, delayMs: number): void {
    const due = Math.max(Date.now() + delayMs, state.lastWriteAt + STATUS_INTERVAL_MS);
    if (state.timer && state.due! <= due) return;
    clearTimeout(state.timer);
    state.due = due;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      void this.#write(key, state);
    }, due - Date.now());
  }

  async #write(key: string, state: NetworkState): Promise<void> {
    const pending = state.pending;
    if (!pending) return;
    state.pending = undefined;
    state.lastWriteAt = Date.now();
    const { network, status } = pending;
    const { namespace = 'default', name } = network.metadata;
    const before = state.written?.conditions?.find((c) => c.type === 'Ready');
    try {
      await this.objects.patchNamespacedCustomObjectStatus(
        { group: API_GROUP, version: API_VERSION, namespace, plural: NETWORK_PLURAL, name, body: { status } },
        mergePatch,
      );
      state.written = status;
      this.log.info({ network: key, networkId: status.networkId, members: status.members, ready: status.conditions?.[0]?.reason }, 'status written');
    } catch (e) {
      if (isNotFound(e)) return this.forget(key);
      this.onWriteError();
      this.log.error({ err: e, network: key }, 'status not written; retrying');
      state.pending ??= pending;
      this.#schedule(key, state, RETRY_MS);
      return;
    }
    const ready = status.conditions![0]!;
    if (before?.status !== ready.status || before.reason !== ready.reason) await this.#event(network, ready);
  }

  async #event(network: NetworkObject, ready: Condition): Promise<void> {
    const { namespace = 'default', name, uid } = network.metadata;
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${name}.`, namespace },
          involvedObject: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'ZeroTierNetwork', namespace, name, uid },
          type: ready.status === 'True' ? 'Normal' : 'Warning',
          reason: ready.reason,
          message: ready.message,
          source: { component: 'ztkube-controller' },
          reportingComponent: 'ztkube.io/controller',
          reportingInstance: this.reportingInstance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (e) {
      this.onWriteError();
      this.log.warn({ err: e, network: `${namespace}/${name}` }, 'event not recorded');
    }
  }
}
