// The embedded controller's records in ConfigMaps of ztkube's namespace (docs/kubernetes.md):
// `ztkube-net-<nwid>` holds the network record (key `network`), `ztkube-net-<nwid>-m<h>` the
// member records whose address starts with hex digit h (key: the address). The controller loads
// its records synchronously, so open() reads them all first. Every API write counts against the
// cluster, so writes are batched per ConfigMap (each replaces the whole ConfigMap from memory, at
// most one per WRITE_INTERVAL_MS). Only address assignments need to be durable soon (within
// ASSIGNMENT_DELAY_MS, which gathers a burst of pods): they are the one thing the cluster cannot
// tell again. Everything else the reconciler derives from the
// cluster at every start (network records from the specs, authorisation from pods and identity
// Secrets, deletions), so such changes wait up to DERIVED_DELAY_MS and ride along with the next
// write: a pod's authorisation goes out with its first address, its deauthorisation with its
// record's deletion. flush() writes what is pending (shutdown).
import { EventEmitter } from 'node:events';
import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isConflict, isNotFound, KIND_LABEL, MANAGED_BY, MANAGED_BY_LABEL } from '../lib/kube.js';
import { recordIdField, type ControllerRecord, type ControllerRecords, type ControllerStore, type ControllerStoreChange } from '../lib/node.js';

export const RECORDS_KIND = 'controller-records';
export const NETWORK_ID_LABEL = 'ztkube.io/network-id';
export const NETWORK_KEY = 'network';
export const WRITE_INTERVAL_MS = 250;
export const ASSIGNMENT_DELAY_MS = 1000;
export const DERIVED_DELAY_MS = 10_000;
const RETRY_MS = 1000;

const configMapName = /^ztkube-net-([0-9a-f]{16})(?:-m([0-9a-f]))?$/;

export function networkConfigMapName(networkId: string): string {
  return `ztkube-net-${networkId}`;
}

export function memberConfigMapName(networkId: string, address: string): string {
  return `ztkube-net-${networkId}-m${address[0]}`;
}

interface Shard {
  networkId: string;
  /** The member ConfigMap's hex digit; undefined for the network's own. */
  digit?: string;
  exists: boolean;
  lastWrite: number;
  timer?: NodeJS.Timeout;
  /** When the timer fires (ms since the epoch). */
  due?: number;
  /** The shortest delay asked for while a write was under way. */
  delayAfterWrite?: number;
  writing?: Promise<void>;
  dirty: boolean;
}

interface StoreEvents {
  /** A record of this network changed (status may have to follow). */
  change: [networkId: string];
}

export class KubeControllerStore extends EventEmitter<StoreEvents> implements ControllerStore {
  readonly #networks = new Map<string, ControllerRecord>();
  readonly #members = new Map<string, Map<string, ControllerRecord>>();
  readonly #shards = new Map<string, Shard>();
  #closed = false;

  private constructor(
    private readonly api: CoreV1Api,
    readonly namespace: string,
    private readonly log: Logger,
    private readonly onWriteError: () => void,
  ) {
    super();
  }

  /** Reads every record ConfigMap; a record that does not parse stops the load, named. */
  static async open(api: CoreV1Api, namespace: string, log: Logger, onWriteError: () => void = () => {}): Promise<KubeControllerStore> {
    const store = new KubeControllerStore(api, namespace, log, onWriteError);
    const list = await api.listNamespacedConfigMap({ namespace, labelSelector: `${KIND_LABEL}=${RECORDS_KIND}` });
    for (const configMap of list.items) store.#preload(configMap);
    log.info({ networks: store.#networks.size, members: [...store.#members.values()].reduce((n, m) => n + m.size, 0) }, 'controller records loaded');
    return store;
  }

  load(): ControllerRecords {
    return { networks: [...this.#networks.values()], members: [...this.#members.values()].flatMap((m) => [...m.values()]) };
  }

  save(change: ControllerStoreChange): void {
    switch (change.kind) {
      case 'network': {
        const networkId = recordIdField(change.record, 'id', 'nwid');
        this.#networks.set(networkId, change.record);
        this.#touch(networkConfigMapName(networkId), networkId, undefined, DERIVED_DELAY_MS);
        break;
      }
      case 'member': {
        const networkId = recordIdField(change.record, 'nwid');
        const address = recordIdField(change.record, 'id', 'address');
        const members = this.#membersOf(networkId);
        const assigned = JSON.stringify(members.get(address)?.ipAssignments ?? []) !== JSON.stringify(change.record.ipAssignments ?? []);
        members.set(address, change.record);
        this.#touch(memberConfigMapName(networkId, address), networkId, address[0], assigned ? ASSIGNMENT_DELAY_MS : DERIVED_DELAY_MS);
        break;
      }
      case 'deleteNetwork':
        this.#networks.delete(change.networkId);
        this.#touch(networkConfigMapName(change.networkId), change.networkId, undefined, DERIVED_DELAY_MS);
        break;
      case 'deleteMember':
        this.#members.get(change.networkId)?.delete(change.address);
        this.#touch(memberConfigMapName(change.networkId, change.address), change.networkId, change.address[0], DERIVED_DELAY_MS);
        break;
    }
  }

  /** The ids of the networks that have a record. */
  networkIds(): string[] {
    return [...this.#networks.keys()];
  }

  /** The network's member records by address. */
  members(networkId: string): ReadonlyMap<string, ControllerRecord> {
    return this.#members.get(networkId) ?? new Map();
  }

  /** Writes everything pending now and stops writing later changes. */
  async flush(): Promise<void> {
    this.#closed = true;
    for (const [name, shard] of this.#shards) {
      clearTimeout(shard.timer);
      await shard.writing;
      if (shard.dirty) await this.#write(name, shard);
    }
  }

  #membersOf(networkId: string): Map<string, ControllerRecord> {
    let members = this.#members.get(networkId);
    if (!members) this.#members.set(networkId, (members = new Map()));
    return members;
  }

  #preload(configMap: V1ConfigMap): void {
    const name = configMap.metadata?.name ?? '';
    const match = configMapName.exec(name);
    if (!match) return;
    const [, networkId, digit] = match as unknown as [string, string, string | undefined];
    this.#shards.set(name, { networkId, digit, exists: true, lastWrite: 0, dirty: false });
    for (const [key, text] of Object.entries(configMap.data ?? {})) {
      let record: ControllerRecord;
      try {
        record = JSON.parse(text) as ControllerRecord;
        if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new Error('not a JSON object');
      } catch (e) {
        throw new Error(`controller record ConfigMap ${this.namespace}/${name} key ${key}: ${(e as Error).message}`);
      }
      if (digit === undefined) this.#networks.set(networkId, record);
      else this.#membersOf(networkId).set(key, record);
    }
  }

  #touch(name: string, networkId: string, digit: string | undefined, delayMs: number): void {
    let shard = this.#shards.get(name);
    if (!shard) this.#shards.set(name, (shard = { networkId, digit, exists: false, lastWrite: 0, dirty: false }));
    shard.dirty = true;
    this.emit('change', networkId);
    this.#schedule(name, shard, delayMs);
  }

  /** Writes the ConfigMap after delayMs (or sooner if already due sooner), never within
   * WRITE_INTERVAL_MS of its last write; a write under way reschedules itself when it ends. */
  #schedule(name: string, shard: Shard, delayMs: number): void {
    if (this.#closed) return;
    if (shard.writing) {
      shard.delayAfterWrite = Math.min(shard.delayAfterWrite ?? delayMs, delayMs);
      return;
    }
    const due = Math.max(Date.now() + delayMs, shard.lastWrite + WRITE_INTERVAL_MS);
    if (shard.timer && shard.due! <= due) return;
    clearTimeout(shard.timer);
    shard.due = due;
    shard.timer = setTimeout(() => {
      shard.timer = undefined;
      void this.#write(name, shard);
    }, due - Date.now());
  }

  /** Replaces the ConfigMap with what memory holds (deletes it when that is nothing). */
  async #write(name: string, shard: Shard): Promise<void> {
    shard.dirty = false;
    shard.lastWrite = Date.now();
    const data = this.#contents(shard);
    let failed = false;
    shard.writing = (Object.keys(data).length === 0 ? this.#delete(name, shard) : this.#put(name, shard, data)).catch((e: unknown) => {
      shard.dirty = failed = true;
      this.onWriteError();
      this.log.error({ err: e, configMap: name, network: shard.networkId }, 'controller records not written; retrying');
    });
    await shard.writing;
    shard.writing = undefined;
    if (!failed) this.log.debug({ configMap: name, records: Object.keys(data).length }, 'controller records written');
    const delayMs = failed ? RETRY_MS : (shard.delayAfterWrite ?? WRITE_INTERVAL_MS);
    shard.delayAfterWrite = undefined;
    if (shard.dirty) this.#schedule(name, shard, delayMs);
  }

  #contents(shard: Shard): Record<string, string> {
    if (shard.digit === undefined) {
      const network = this.#networks.get(shard.networkId);
      return network ? { [NETWORK_KEY]: JSON.stringify(network) } : {};
    }
    const data: Record<string, string> = {};
    for (const [address, record] of this.members(shard.networkId))
      if (address[0] === shard.digit) data[address] = JSON.stringify(record);
    return data;
  }

  async #put(name: string, shard: Shard, data: Record<string, string>): Promise<void> {
    const body: V1ConfigMap = {
      metadata: {
        name,
        labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [KIND_LABEL]: RECORDS_KIND, [NETWORK_ID_LABEL]: shard.networkId },
      },
      data,
    };
    if (!shard.exists) {
      try {
        await this.api.createNamespacedConfigMap({ namespace: this.namespace, body });
        shard.exists = true;
        return;
      } catch (e) {
        if (!isConflict(e)) throw e;
      }
    }
    // No resourceVersion: this controller is the ConfigMap's only writer (it holds the lease).
    await this.api.replaceNamespacedConfigMap({ namespace: this.namespace, name, body });
    shard.exists = true;
  }

  async #delete(name: string, shard: Shard): Promise<void> {
    if (!shard.exists) return;
    try {
      await this.api.deleteNamespacedConfigMap({ namespace: this.namespace, name });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    shard.exists = false;
  }
}
