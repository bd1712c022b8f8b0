// Level-triggered reconciliation: any change of a watched object (and a periodic resync, for
// members going offline and identities outliving the grace period) schedules one pass over every
// ZeroTierNetwork that brings the embedded controller, the status and the identity Secrets in line
// with the cluster. Passes are idempotent and only act on differences: the controller's records
// are compared before each call, so a pass that finds nothing to do writes nothing.
import type { CoreV1Api, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Dataplane } from '../dataplane/dataplane.js';
import { isNotFound, NETWORK_STATUS_ANNOTATION, type NetworkStatusEntry, POD_NAME_LABEL, POD_NAMESPACE_LABEL, podIdentitySecretName } from '../lib/kube.js';
import { managedNetworkId, managedNetworkRecord, memberRecord, networkKey } from '../lib/network-spec.js';
import type { ControllerMemberStatus } from '../lib/node.js';
import type { ClusterView } from './informers.js';
import type { KubeControllerStore } from './kube-controller-store.js';
import { desiredMembers, podIdentities, podJoins, type PodIdentity } from './membership.js';
import type { ControllerMetrics } from './metrics.js';
import { countMembers, type MemberEntry, type NetworkObject, type Readiness, type StatusWriter } from './status.js';

const DEBOUNCE_MS = 100;
const RESYNC_MS = 10_000;
const RETRY_MS = 2000;
/** An identity Secret younger than this is never collected: its pod may not be in the cache yet. */
export const IDENTITY_GRACE_MS = 30_000;

export interface ReconcilerOptions {
  view: ClusterView;
  core: CoreV1Api;
  namespace: string;
  dataplane: Dataplane;
  /** The Dataplane key and the ZeroTier address of the controller node. */
  controllerKey: string;
  controllerAddress: string;
  /** Whether the controller node hears a root (members find it through the roots). */
  controllerOnline: () => boolean;
  store: KubeControllerStore;
  status: StatusWriter;
  metrics: ControllerMetrics;
  log: Logger;
}

export class Reconciler {
  /** The network record last given to the controller, by network id (JSON). */
  readonly #applied = new Map<string, string>();
  readonly #knownNetworks = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #resync: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(private readonly o: ReconcilerOptions) {}

  start(): void {
    this.#resync = setInterval(() => this.schedule(0), RESYNC_MS);
    this.schedule(0);
  }

  /** A pass soon; changes arriving meanwhile join it. */
  schedule(delayMs = DEBOUNCE_MS): void {
    if (this.#stopped || this.#timer) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#run().finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.schedule();
        }
      });
    }, delayMs);
  }

  /** Stops scheduling and waits for the pass under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#resync);
    await this.#running;
  }

  async #run(): Promise<void> {
    const end = this.o.metrics.reconcileDuration.startTimer();
    try {
      const failures = await this.#pass();
      this.o.metrics.reconciles.inc({ result: failures === 0 ? 'success' : 'error' });
      if (failures > 0) this.#retry();
    } catch (e) {
      this.o.metrics.reconciles.inc({ result: 'error' });
      this.o.metrics.errors.inc({ kind: 'reconcile' });
      this.o.log.error({ err: e }, 'reconcile failed');
      this.#retry();
    } finally {
      end();
    }
  }

  #retry(): void {
    setTimeout(() => this.schedule(0), RETRY_MS).unref();
  }

  /** One pass; returns how many networks failed (each is logged and retried). */
  async #pass(): Promise<number> {
    const { view } = this.o;
    const identities = podIdentities(view.identitySecrets.list(), (namespace, name) => view.pods.get(name, namespace));
    const networks = [...view.networks.list()].sort(byAge);
    const owners = new Map<string, string>();
    let failures = 0;
    for (const network of networks) {
      try {
        if (network.spec.managed) await this.#reconcileManaged(network, identities, owners);
        else this.#reconcileExternal(network);
      } catch (e) {
        failures++;
        this.o.metrics.errors.inc({ kind: 'reconcile' });
        this.o.log.error({ err: e, network: networkKey(network) }, 'network not reconciled');
      }
    }
    await this.#deleteOrphanNetworks(owners);
    this.#forgetDeleted(new Set(networks.map(networkKey)));
    await this.#collectIdentities();
    return failures;
  }

  async #reconcileManaged(network: NetworkObject, identities: Map<string, PodIdentity>, owners: Map<string, string>): Promise<void> {
    const { dataplane, controllerKey, controllerAddress, store } = this.o;
    const key = networkKey(network);
    const networkId = managedNetworkId(controllerAddress, network);
    const owner = owners.get(networkId);
    if (owner) {
      const message = `network id ${networkId} is already used by ${owner}: set spec.managed.networkNumber`;
      this.#publish(network, { ready: false, reason: 'InvalidSpec', message }, { memberList: [] });
      return;
    }
    // Owned even when its spec is refused below: a bad edit must not delete the network's records.
    owners.set(networkId, key);
    const record = managedNetworkRecord(networkId, network);
    const recordJson = JSON.stringify(record);
    if (this.#applied.get(networkId) !== recordJson) {
      try {
        await dataplane.setNetwork(controllerKey, record);
      } catch (e) {
        this.#applied.delete(networkId);
        this.#publish(network, { ready: false, reason: 'InvalidSpec', message: (e as Error).message }, { networkId, memberList: [] });
        return;
      }
      this.#applied.set(networkId, recordJson);
      this.o.log.info({ network: key, networkId }, 'network configured');
    }

    const desired = desiredMembers(network, identities);
    const records = store.members(networkId);
    for (const address of desired.keys())
      if (records.get(address)?.authorized !== true) {
        await dataplane.setMember(controllerKey, memberRecord(networkId, address, true));
        this.o.log.info({ network: key, networkId, address, pod: desired.get(address) }, 'member authorised');
      }
    for (const [address, member] of records)
      if (!desired.has(address) && member.authorized === true) {
        await dataplane.setMember(controllerKey, memberRecord(networkId, address, false));
        this.o.log.info({ network: key, networkId, address }, 'member deauthorised');
      }

    const memberList: MemberEntry[] = [];
    for (const status of await dataplane.members(controllerKey, networkId)) {
      if (this.#obsolete(status, desired, identities, records.get(status.address)?.lastAuthorizedTime)) {
        await dataplane.deleteMember(controllerKey, networkId, status.address);
        this.o.log.info({ network: key, networkId, address: status.address }, 'member record deleted');
        continue;
      }
      const pod = desired.get(status.address) ?? identities.get(status.address)?.podKey;
      memberList.push({ ...(pod ? { pod } : {}), address: status.address, state: memberState(status), ips: status.ipAssignments });
    }
    const readiness: Readiness = this.o.controllerOnline()
      ? { ready: true, reason: 'NetworkConfigured', message: `network ${networkId} is configured in controller ${controllerAddress}` }
      : { ready: false, reason: 'ControllerNotReady', message: `controller node ${controllerAddress} is not online (no root reached yet)` };
    this.#publish(network, readiness, { networkId, memberList });
  }

  /** A record nobody needs: not a member, no identity Secret (so no pod may come back to its IPs),
   * and either once ours (authorised before) or a stranger that stopped asking (deleting a
   * stranger still asking would only make the controller write its record again). */
  #obsolete(status: ControllerMemberStatus, desired: Map<string, unknown>, identities: Map<string, PodIdentity>, lastAuthorizedTime: unknown): boolean {
    if (desired.has(status.address) || identities.has(status.address)) return false;
    return (typeof lastAuthorizedTime === 'number' && lastAuthorizedTime > 0) || !status.online;
  }

  /** External networks: the id is the spec's; members are the pods that asked, as their agents report them. */
  #reconcileExternal(network: NetworkObject): void {
    const key = networkKey(network);
    const networkId = network.spec.external!.networkId;
    const memberList: MemberEntry[] = [];
    for (const pod of this.o.view.pods.list()) {
      if (!podJoins(pod, network)) continue;
      const entry = networkStatusEntry(pod, key);
      if (!entry?.address) continue;
      memberList.push({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, address: entry.address, state: externalState(entry.status), ips: (entry.ips ?? []).map((cidr) => cidr.split('/')[0]!) });
    }
    memberList.sort((a, b) => a.address.localeCompare(b.address));
    this.#publish(network, { ready: true, reason: 'NetworkConfigured', message: `joining external network ${networkId}` }, { networkId, memberList });
  }

  #publish(network: NetworkObject, readiness: Readiness, fields: { networkId?: string; memberList: MemberEntry[] }): void {
    const key = networkKey(network);
    this.#knownNetworks.add(key);
    this.o.status.update(network, readiness, fields);
    this.o.metrics.setMembers(key, countMembers(fields.memberList));
  }

  /** Records of networks no ZeroTierNetwork runs any more (deleted while we were down, or renumbered). */
  async #deleteOrphanNetworks(owners: Map<string, string>): Promise<void> {
    for (const networkId of this.o.store.networkIds()) {
      if (owners.has(networkId) || !networkId.startsWith(this.o.controllerAddress)) continue;
      await this.o.dataplane.deleteNetwork(this.o.controllerKey, networkId);
      this.#applied.delete(networkId);
      this.o.log.info({ networkId }, 'network deleted');
    }
  }

  #forgetDeleted(present: Set<string>): void {
    for (const key of this.#knownNetworks) {
      if (present.has(key)) continue;
      this.#knownNetworks.delete(key);
      this.o.status.forget(key);
      this.o.metrics.forgetNetwork(key);
    }
  }

  /** Deletes identity Secrets whose pod (ztkube-pod-*) or StatefulSet (ztkube-sts-*) is gone. */
  async #collectIdentities(): Promise<void> {
    const { view, core, namespace, log } = this.o;
    for (const secret of view.identitySecrets.list()) {
      const name = secret.metadata?.name ?? '';
      if (Date.now() - new Date(secret.metadata?.creationTimestamp ?? 0).getTime() < IDENTITY_GRACE_MS) continue;
      if (!identityOrphaned(secret, view)) continue;
      try {
        await core.deleteNamespacedSecret({ namespace, name });
        log.info({ secret: name, pod: `${secret.metadata?.labels?.[POD_NAMESPACE_LABEL]}/${secret.metadata?.labels?.[POD_NAME_LABEL]}` }, 'orphaned identity deleted');
      } catch (e) {
        if (!isNotFound(e)) throw new Error(`deleting identity Secret ${namespace}/${name}: ${(e as Error).message}`);
      }
    }
  }
}

function identityOrphaned(secret: V1Secret, view: ClusterView): boolean {
  const name = secret.metadata?.name ?? '';
  const podNamespace = secret.metadata?.labels?.[POD_NAMESPACE_LABEL] ?? '';
  const podName = secret.metadata?.labels?.[POD_NAME_LABEL] ?? '';
  const pod = view.pods.get(podName, podNamespace);
  if (pod && podIdentitySecretName(pod) === name) return false;
  if (name.startsWith('ztkube-pod-')) return true;
  // A StatefulSet's pods are <statefulset>-<ordinal>; its identities live as long as it does.
  if (name.startsWith('ztkube-sts-')) return !view.statefulSets.get(podName.replace(/-\d+$/, ''), podNamespace);
  return false;
}

function memberState(status: ControllerMemberStatus): string {
  if (status.authorized) return status.online ? 'Online' : 'Authorized';
  return status.online ? 'AwaitingAuthorization' : 'Deauthorized';
}

function externalState(nodeStatus: string): string {
  if (nodeStatus === 'OK') return 'Online';
  if (nodeStatus === 'ACCESS_DENIED' || nodeStatus === 'REQUESTING_CONFIGURATION') return 'AwaitingAuthorization';
  return nodeStatus;
}

/** The pod's `ztkube.io/network-status` entry for the network, if the agent wrote one. */
function networkStatusEntry(pod: V1Pod, key: string): NetworkStatusEntry | undefined {
  const text = pod.metadata?.annotations?.[NETWORK_STATUS_ANNOTATION];
  if (!text) return undefined;
  try {
    const entries = JSON.parse(text) as NetworkStatusEntry[];
    return Array.isArray(entries) ? entries.find((e) => e.name === key) : undefined;
  } catch {
    return undefined;
  }
}

function byAge(a: NetworkObject, b: NetworkObject): number {
  const age = (n: NetworkObject) => new Date(n.metadata.creationTimestamp ?? 0).getTime();
  return age(a) - age(b) || networkKey(a).localeCompare(networkKey(b));
}
