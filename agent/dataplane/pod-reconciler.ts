// The heart of the agent and the sidecar: brings each annotated pod's node in line with its pod
// (docs/kubernetes.md, "Attaching pods"). Per pod, one reconcile at a time: resolve the requested
// networks, get or create the identity, find the network namespace (CNI ADD's, a record of one, or
// discovery), attach, join and leave, detach when the pod goes; then publish the status. It is
// also the agent's CniHandler: ADD attaches and answers with the pod's interfaces and addresses.
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { NETWORKS_ANNOTATION, networkAdmits, parseNetworksAnnotation, refKey, type NetworkRef, type NetworkStatusEntry } from '../lib/kube.js';
import { MemoryStateStore } from '../lib/memory-state-store.js';
import type { ZeroTierNetwork } from '../lib/network-spec.js';
import { StateObjectType, type StateId } from '../lib/node.js';
import { CniError, CniErrorCode, type CniHandler, type CniRequest, type CniResult } from './cni-server.js';
import type { Dataplane } from './dataplane.js';
import { isReady, networkStatusEntries, StatusPublisher, type NetworkResolution } from './network-status.js';
import type { PodEvents } from './pod-events.js';
import type { IdentityPool } from './identity-pool.js';
import { ensurePodIdentity, releasePodIdentity, type PodIdentity } from './pod-identity.js';
import type { PodRecord, PodRecords } from './pod-records.js';

const ZERO: StateId = ['0000000000000000', '0000000000000000'];

/** A ZeroTierNetwork as the API serves it: with the status the controller writes. */
export type ZeroTierNetworkObject = ZeroTierNetwork & { status?: { networkId?: string } };

export interface PodReconcilerOptions {
  dataplane: Dataplane;
  core: CoreV1Api;
  logger: Logger;
  events: PodEvents;
  /** Where a pod's identity Secret lives: ztkube's namespace (agent) or the pod's (sidecar). */
  identityNamespace(pod: V1Pod): string;
  /** A ZeroTierNetwork from the cache. */
  network(ref: NetworkRef): ZeroTierNetworkObject | undefined;
  /** A pod from the cache. */
  pod(namespace: string, name: string): V1Pod | undefined;
  /** The planet nodes start with: the published one (private mode), null for the engine's own
   * (public mode), undefined while the published one is not known yet. */
  planet(): Buffer | null | undefined;
  /** The pod's network namespace when CNI did not give it: found from its processes (agent) or
   * '' for this process's own (sidecar); undefined while not found. */
  discoverNetns(pod: V1Pod): Promise<string | undefined>;
  /** The pods run in this process's namespace (the sidecar): never waiting for a sandbox. */
  ownNetns?: boolean;
  /** Delete an identity Secret with its pod (agent); the sidecar leaves it to the controller. */
  releaseIdentities: boolean;
  /** UDP port of each pod's node, inside the pod's namespace. */
  bindPort: number;
  /** Where CNI's (pod, netns) pairs are kept across restarts (agent with CNI only). */
  records?: PodRecords;
  /** How long CNI ADD waits for every network to have an address (default 10 s). */
  cniWaitMs?: number;
  /** Where new pods' identities come from. */
  identities: IdentityPool;
}

interface Attachment {
  uid: string;
  netns: string;
  address: string;
  networkIds: Set<string>;
}

interface PodState {
  key: string;
  /** The pod as last seen; undefined once deleted. */
  pod?: V1Pod;
  attached?: Attachment;
  /** The pod whose identity this agent ensured (its Secret is released with it). */
  identityPod?: V1Pod;
  identity?: PodIdentity;
  resolutions: NetworkResolution[];
  /** Why the pod is not attached although it should be. */
  podError?: string;
  queue: Promise<void>;
  queued: boolean;
  retry?: NodeJS.Timeout;
  retryDelayMs: number;
}

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;
const TERMINAL_PHASES = new Set(['Succeeded', 'Failed']);

export function podKeyOf(pod: V1Pod): string {
  return `${pod.metadata!.namespace}/${pod.metadata!.name}`;
}

/** The network id pods join: the controller's for a managed network (once published), the given one for an external. */
export function networkIdOf(network: ZeroTierNetworkObject): string | undefined {
  return network.spec.external?.networkId ?? network.status?.networkId ?? undefined;
}

export class PodReconciler implements CniHandler {
  readonly #states = new Map<string, PodState>();
  /** CNI's namespaces by pod uid. */
  readonly #cniNetns = new Map<string, PodRecord>();
  /** Pods CNI DEL was called for: not rediscovered until the next ADD (their sandbox is going). */
  readonly #cniDeleted = new Set<string>();
  readonly #publisher: StatusPublisher;
  readonly #log: Logger;
  #closed = false;

  constructor(private readonly options: PodReconcilerOptions) {
    this.#log = options.logger;
    this.#publisher = new StatusPublisher({
      core: options.core,
      logger: options.logger,
      settleMs: options.cniWaitMs ?? 10_000,
      render: (key) => {
        const state = this.#states.get(key);
        if (!state?.pod) return undefined;
        return { pod: state.pod, entries: this.#annotated(state.pod) ? this.#entries(state) : null };
      },
    });
    options.dataplane.on('network', (key) => {
      const pod = this.#states.get(key)?.pod;
      if (pod && !pod.metadata?.deletionTimestamp) this.#publisher.changed(key);
    });
  }

  /** CNI records of a previous run, before the pods are watched: those pods re-attach where they were. */
  restore(records: PodRecord[]): void {
    for (const record of records) this.#cniNetns.set(record.uid, record);
  }

  /** Drops the records of pods that no longer exist (call once the pods are synced). */
  async pruneRecords(liveUids: Set<string>): Promise<void> {
    for (const uid of [...this.#cniNetns.keys()]) if (!liveUids.has(uid)) await this.#forgetNetns(uid);
  }

  podChanged(pod: V1Pod): void {
    const state = this.#state(podKeyOf(pod));
    state.pod = pod;
    this.#enqueue(state);
  }

  podDeleted(pod: V1Pod): void {
    const state = this.#states.get(podKeyOf(pod));
    if (!state || state.pod?.metadata?.uid !== pod.metadata?.uid) return;
    const uid = pod.metadata!.uid!;
    state.pod = undefined;
    this.#publisher.forget(state.key, uid);
    this.#enqueue(state);
    if (state.identityPod) return; // the reconcile releases the rest
    // A pod that never got as far as an identity still leaves its CNI record and reported problems.
    this.options.events.forget(uid);
    this.#forgetNetns(uid).catch((e: unknown) => this.#log.warn({ err: e, pod: state.key }, 'pod record not removed'));
  }

  hasPlanet(): boolean {
    return this.options.planet() !== undefined;
  }

  /** Networks or the planet changed: every pod may resolve differently. */
  resyncAll(): void {
    for (const state of this.#states.values()) this.#enqueue(state);
  }

  /** Stops reconciling and waits for reconciles in flight; nodes and Secrets stay (the Dataplane's close removes the TAPs). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#publisher.stop();
    for (const state of this.#states.values()) clearTimeout(state.retry);
    await Promise.all([...this.#states.values()].map((s) => s.queue));
  }

  // ---- CniHandler

  async add(request: CniRequest): Promise<CniResult> {
    const pod = await this.#podOf(request);
    if (!this.#annotated(pod)) return { interfaces: [], ips: [] };
    const record: PodRecord = { uid: request.podUid, namespace: request.podNamespace, name: request.podName, netns: request.netns, containerId: request.containerId };
    await this.options.records?.save(record);
    this.#cniNetns.set(record.uid, record);
    this.#cniDeleted.delete(record.uid);
    const state = this.#state(podKeyOf(pod));
    state.pod = pod;
    await this.#enqueue(state);
    const entries = await this.#waitReady(state, Date.now() + (this.options.cniWaitMs ?? 10_000));
    return cniResult(entries, request.netns);
  }

  async del(request: CniRequest): Promise<void> {
    const record = this.#cniNetns.get(request.podUid) ?? [...this.#cniNetns.values()].find((r) => r.containerId === request.containerId);
    const uid = record?.uid ?? request.podUid;
    if (!uid) return;
    this.#cniDeleted.add(uid);
    await this.#forgetNetns(uid);
    const state = [...this.#states.values()].find((s) => s.attached?.uid === uid);
    if (state) await this.#enqueue(state);
  }

  async check(request: CniRequest): Promise<void> {
    const pod = await this.#podOf(request);
    if (!this.#annotated(pod)) return;
    const state = this.#states.get(podKeyOf(pod));
    if (state?.attached?.uid !== request.podUid || state.attached.netns !== request.netns)
      throw new CniError(`pod ${podKeyOf(pod)} is not attached in ${request.netns}`, CniErrorCode.internal, state?.podError ?? '');
  }

  // ---- Reconciling

  #state(key: string): PodState {
    let state = this.#states.get(key);
    if (!state) {
      state = { key, resolutions: [], queue: Promise.resolve(), queued: false, retryDelayMs: RETRY_MIN_MS };
      this.#states.set(key, state);
    }
    return state;
  }

  /** Queues one reconcile of the pod after the one running (several requests coalesce). */
  #enqueue(state: PodState): Promise<void> {
    if (this.#closed) return state.queue;
    if (state.queued) return state.queue;
    state.queued = true;
    clearTimeout(state.retry);
    state.queue = state.queue
      .then(() => {
        state.queued = false;
        return this.#closed ? undefined : this.#reconcile(state);
      })
      .catch((e: unknown) => {
        this.#log.error({ err: e, pod: state.key }, 'reconcile failed; retrying');
        this.#retry(state);
      });
    return state.queue;
  }

  #retry(state: PodState): void {
    if (this.#closed) return;
    clearTimeout(state.retry);
    state.retry = setTimeout(() => void this.#enqueue(state), state.retryDelayMs);
    state.retryDelayMs = Math.min(state.retryDelayMs * 2, RETRY_MAX_MS);
  }

  #annotated(pod: V1Pod | undefined): boolean {
    return (pod?.metadata?.annotations?.[NETWORKS_ANNOTATION] ?? '').trim() !== '';
  }

  async #reconcile(state: PodState): Promise<void> {
    const pod = state.pod;
    const uid = pod?.metadata?.uid;
    // A pod of the same name but another uid (a StatefulSet's next pod) first ends the previous one.
    if (state.identityPod && state.identityPod.metadata!.uid !== uid) await this.#podGone(state);
    if (!pod) {
      clearTimeout(state.retry);
      // A new pod of the same name may have its own state by now.
      if (this.#states.get(state.key) === state) {
        this.#states.delete(state.key);
        this.#publisher.forget(state.key);
      }
      return;
    }
    const log = this.#log.child({ pod: state.key });
    state.resolutions = this.#annotated(pod) ? this.#resolve(pod, log) : [];
    const networkIds = new Set(state.resolutions.flatMap((r) => (r.networkId && !r.error ? [r.networkId] : [])));
    // A terminating pod keeps its node until CNI DEL or its deletion, but is not attached anew.
    const terminating = pod.metadata?.deletionTimestamp !== undefined;
    const wanted = networkIds.size > 0 && !TERMINAL_PHASES.has(pod.status?.phase ?? '') && (!terminating || state.attached !== undefined);
    const netns = wanted ? await this.#netnsOf(pod, state.attached) : undefined;
    if (state.attached && (!wanted || netns !== state.attached.netns)) await this.#detach(state, log);
    state.podError = undefined;
    if (wanted && state.attached) await this.#rejoin(state, networkIds, log);
    else if (wanted && !terminating) await this.#attach(state, pod, netns, networkIds, log);
    if (!state.podError) state.retryDelayMs = RETRY_MIN_MS;
    if (!terminating) this.#publisher.changed(state.key);
  }

  /** Each requested network: its id, or why the pod cannot join it (with a Warning Event). */
  #resolve(pod: V1Pod, log: Logger): NetworkResolution[] {
    const annotation = pod.metadata!.annotations![NETWORKS_ANNOTATION]!;
    const podNamespace = pod.metadata!.namespace!;
    let refs: NetworkRef[];
    try {
      refs = parseNetworksAnnotation(annotation, podNamespace);
    } catch (e) {
      const error = (e as Error).message;
      if (this.options.events.warn(pod, 'BadNetworkAnnotation', error)) log.warn({ annotation, error }, 'bad network annotation');
      return [{ name: annotation, error }];
    }
    return refs.map((ref) => {
      const name = refKey(ref);
      const network = this.options.network(ref);
      let error: string | undefined;
      if (!network) error = `ZeroTierNetwork ${name} not found`;
      else if (!networkAdmits(network, podNamespace)) error = `ZeroTierNetwork ${name} does not allow pods of namespace ${podNamespace}`;
      if (error) {
        if (this.options.events.warn(pod, error.endsWith('not found') ? 'NetworkNotFound' : 'NetworkNotAllowed', error))
          log.warn({ network: name, error }, 'network not joinable');
        return { name, error };
      }
      const networkId = networkIdOf(network!);
      return networkId ? { name, networkId } : { name };
    });
  }

  /** CNI's namespace for the pod; else where it is attached already (a process found there may
   * have gone since); else a discovered one. */
  async #netnsOf(pod: V1Pod, attached: Attachment | undefined): Promise<string | undefined> {
    const uid = pod.metadata!.uid!;
    const recorded = this.#cniNetns.get(uid);
    if (recorded) return recorded.netns;
    if (this.#cniDeleted.has(uid)) return undefined;
    if (attached?.uid === uid) return attached.netns;
    return this.options.discoverNetns(pod);
  }

  async #attach(state: PodState, pod: V1Pod, netns: string | undefined, networkIds: Set<string>, log: Logger): Promise<void> {
    if (pod.spec?.hostNetwork) {
      state.podError = 'a hostNetwork pod has no network namespace of its own';
      return;
    }
    try {
      // Made as soon as the pod is bound here, before its sandbox exists: the controller
      // authorises the address while the runtime makes the sandbox, not after.
      const identity = await this.#ensureIdentity(state, pod, log);
      const planet = this.options.planet();
      if (planet === undefined) {
        state.podError = 'waiting for the planet';
        return; // the planet's arrival resyncs every pod
      }
      if (netns === undefined) {
        // Before it runs, a pod has no sandbox to find (CNI ADD or its Running update comes next).
        if (pod.status?.phase !== 'Running' && !this.options.ownNetns) return;
        state.podError = 'network namespace not found';
        log.info({ uid: pod.metadata!.uid }, 'pod network namespace not found; retrying');
        return this.#retry(state);
      }
      const initial = [
        { type: StateObjectType.IdentitySecret, id: ZERO, data: Buffer.from(identity.secret) },
        { type: StateObjectType.IdentityPublic, id: ZERO, data: Buffer.from(identity.publicIdentity) },
        ...(planet ? [{ type: StateObjectType.Planet, id: ZERO, data: planet }] : []),
      ];
      const attached = await this.options.dataplane.attach({
        key: state.key,
        netns,
        bind: `0.0.0.0/${this.options.bindPort}`,
        networks: [...networkIds],
        store: new MemoryStateStore(initial),
      });
      state.attached = { uid: pod.metadata!.uid!, netns, address: attached.address, networkIds: new Set(networkIds) };
    } catch (e) {
      const message = (e as Error).message;
      state.podError = `attach failed: ${message}`;
      if (this.options.events.warn(pod, 'AttachFailed', message)) log.error({ err: e, netns }, 'attach failed');
      this.#retry(state);
    }
  }

  /** The pod's identity: its Secret made (or read back) once per pod uid. */
  async #ensureIdentity(state: PodState, pod: V1Pod, log: Logger): Promise<PodIdentity> {
    if (state.identity && state.identityPod?.metadata!.uid === pod.metadata!.uid) return state.identity;
    const identity = await ensurePodIdentity(this.options.core, this.options.identityNamespace(pod), pod, this.options.identities);
    state.identity = identity;
    state.identityPod = pod;
    if (identity.created) log.info({ address: identity.address, secret: identity.secretName }, 'identity created');
    return identity;
  }

  async #rejoin(state: PodState, networkIds: Set<string>, log: Logger): Promise<void> {
    const attached = state.attached!;
    for (const id of networkIds)
      if (!attached.networkIds.has(id)) {
        await this.options.dataplane.join(state.key, id);
        attached.networkIds.add(id);
        log.info({ network: id }, 'joined');
      }
    for (const id of [...attached.networkIds])
      if (!networkIds.has(id)) {
        await this.options.dataplane.leave(state.key, id);
        attached.networkIds.delete(id);
        log.info({ network: id }, 'left');
      }
  }

  async #detach(state: PodState, log: Logger): Promise<void> {
    await this.options.dataplane.detach(state.key);
    log.info({ uid: state.attached!.uid }, 'detached');
    state.attached = undefined;
  }

  /** The pod this state was about is gone (deleted, or replaced by a new one of the same name). */
  async #podGone(state: PodState): Promise<void> {
    const previous = state.identityPod!;
    const uid = previous.metadata!.uid!;
    const log = this.#log.child({ pod: state.key });
    if (state.attached) await this.#detach(state, log);
    if (this.options.releaseIdentities && (await releasePodIdentity(this.options.core, this.options.identityNamespace(previous), previous)))
      log.info({ secret: state.identity?.secretName }, 'identity deleted');
    state.identityPod = undefined;
    state.identity = undefined;
    this.#cniDeleted.delete(uid);
    this.options.events.forget(uid);
    this.#publisher.forget(state.key, uid);
    await this.#forgetNetns(uid);
  }

  async #forgetNetns(uid: string): Promise<void> {
    this.#cniNetns.delete(uid);
    await this.options.records?.remove(uid);
  }

  #entries(state: PodState): NetworkStatusEntry[] {
    const attachment = state.attached && this.options.dataplane.pods().includes(state.key)
      ? { address: state.attached.address, networks: this.options.dataplane.networks(state.key) }
      : undefined;
    return networkStatusEntries(state.resolutions, attachment, state.podError);
  }

  /** The pod a CNI request names, from the cache or (not there yet) the API. */
  async #podOf(request: CniRequest): Promise<V1Pod> {
    const cached = this.options.pod(request.podNamespace, request.podName);
    if (cached?.metadata?.uid === request.podUid) return cached;
    try {
      const pod = await this.options.core.readNamespacedPod({ namespace: request.podNamespace, name: request.podName });
      if (pod.metadata?.uid !== request.podUid) throw new Error(`it has uid ${pod.metadata?.uid}, not ${request.podUid}`);
      return pod;
    } catch (e) {
      throw new CniError(`pod ${request.podNamespace}/${request.podName}: ${(e as Error).message}`, CniErrorCode.tryAgainLater);
    }
  }

  /** The pod's entries once every joinable network has an address, or at the deadline. */
  async #waitReady(state: PodState, deadline: number): Promise<NetworkStatusEntry[]> {
    for (;;) {
      const entries = this.#entries(state);
      const nothingToJoin = state.resolutions.every((r) => r.error);
      const settled = nothingToJoin || (state.attached ? isReady(entries) : state.podError !== undefined);
      if (settled || Date.now() >= deadline || this.#closed) return entries;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** CNI ADD's answer: each configured ZeroTier interface and its addresses. */
function cniResult(entries: NetworkStatusEntry[], netns: string): CniResult {
  const result: CniResult = { interfaces: [], ips: [] };
  for (const entry of entries) {
    if (!entry.interface || !entry.mac) continue;
    const index = result.interfaces.push({ name: entry.interface, mac: entry.mac, sandbox: netns }) - 1;
    for (const address of entry.ips ?? []) result.ips.push({ address, interface: index });
  }
  return result;
}
