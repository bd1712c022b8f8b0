// Leader election on a coordination.k8s.io/v1 Lease (client-node has none), the way client-go's
// leaderelection does it: a candidate takes the Lease when it has no holder or when its record has
// not changed for leaseDuration as measured on the candidate's own clock (no clock skew between
// pods matters); the leader renews every renewInterval and gives up when it could not renew for
// renewDeadline (shorter than leaseDuration, so two leaders never overlap). Every write carries
// the resourceVersion it read, so two candidates cannot both win.
import { EventEmitter } from 'node:events';
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isConflict, isNotFound } from '../lib/kube.js';

export interface LeaseElectorOptions {
  namespace: string;
  name: string;
  /** Unique per candidate process. */
  identity: string;
  leaseDurationMs?: number;
  renewIntervalMs?: number;
  renewDeadlineMs?: number;
  retryIntervalMs?: number;
  log: Logger;
}

interface ElectorEvents {
  /** Leadership is gone (not renewed in time, or taken): stop leading at once. */
  lost: [reason: string];
}

export class LeaseElector extends EventEmitter<ElectorEvents> {
  readonly leaseDurationMs: number;
  readonly renewIntervalMs: number;
  readonly renewDeadlineMs: number;
  readonly retryIntervalMs: number;
  #lease: V1Lease | undefined;
  /** The holder and renew time last seen, and when (our clock). */
  #observed = { record: '', at: 0 };
  #leading = false;
  #lastRenew = 0;
  #renewTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly api: CoordinationV1Api,
    private readonly options: LeaseElectorOptions,
  ) {
    super();
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewIntervalMs = options.renewIntervalMs ?? 5_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryIntervalMs = options.retryIntervalMs ?? 2_000;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Resolves once this candidate holds the Lease (renewing it from then on); rejects if stopped first. */
  async acquire(): Promise<void> {
    const { log } = this.options;
    while (!this.#stopped) {
      try {
        if (await this.#tryAcquire()) {
          this.#leading = true;
          this.#lastRenew = Date.now();
          this.#renewTimer = setInterval(() => void this.#renew(), this.renewIntervalMs);
          log.info({ lease: this.options.name, identity: this.options.identity }, 'became leader');
          return;
        }
      } catch (e) {
        log.warn({ err: e, lease: this.options.name }, 'lease not acquired');
      }
      await new Promise((r) => setTimeout(r, this.retryIntervalMs));
    }
    throw new Error('leader election stopped');
  }

  /** Stops renewing; a leader hands the Lease over (no holder), so a successor need not wait. */
  async release(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#renewTimer);
    if (!this.#leading || !this.#lease) return;
    this.#leading = false;
    try {
      await this.#write({ ...this.#lease, spec: { ...this.#lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime() } });
      this.options.log.info({ lease: this.options.name }, 'lease released');
    } catch (e) {
      this.options.log.warn({ err: e, lease: this.options.name }, 'lease not released');
    }
  }

  async #tryAcquire(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ namespace, name });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      return this.#create();
    }
    this.#lease = lease;
    const spec = lease.spec ?? {};
    const record = `${spec.holderIdentity ?? ''}@${String(spec.renewTime ?? '')}`;
    if (record !== this.#observed.record) this.#observed = { record, at: Date.now() };
    const durationMs = (spec.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
    const held = spec.holderIdentity && spec.holderIdentity !== identity && Date.now() - this.#observed.at < durationMs;
    if (held) return false;
    const now = new V1MicroTime();
    const transitions = (spec.leaseTransitions ?? 0) + (spec.holderIdentity === identity ? 0 : 1);
    return this.#write({
      ...lease,
      spec: { holderIdentity: identity, leaseDurationSeconds: this.leaseDurationMs / 1000, acquireTime: now, renewTime: now, leaseTransitions: transitions },
    });
  }

  async #create(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = new V1MicroTime();
    try {
      this.#lease = await this.api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name },
          spec: { holderIdentity: identity, leaseDurationSeconds: this.leaseDurationMs / 1000, acquireTime: now, renewTime: now, leaseTransitions: 0 },
        },
      });
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }

  /** Replaces the Lease at the resourceVersion read; false when someone else wrote it first. */
  async #write(lease: V1Lease): Promise<boolean> {
    const { namespace, name } = this.options;
    try {
      this.#lease = await this.api.replaceNamespacedLease({ namespace, name, body: lease });
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }

  async #renew(): Promise<void> {
    if (!this.#leading || !this.#lease) return;
    try {
      if (await this.#write({ ...this.#lease, spec: { ...this.#lease.spec, renewTime: new V1MicroTime() } })) {
        this.#lastRenew = Date.now();
        return;
      }
      this.#lose('the lease was written by another candidate');
    } catch (e) {
      // An API error is retried until the deadline.
      this.options.log.warn({ err: e, lease: this.options.name }, 'lease renewal failed');
      if (Date.now() - this.#lastRenew >= this.renewDeadlineMs) this.#lose(`not renewed for ${this.renewDeadlineMs} ms: ${(e as Error).message}`);
    }
  }

  #lose(reason: string): void {
    this.#leading = false;
    this.#stopped = true;
    clearInterval(this.#renewTimer);
    this.emit('lost', reason);
  }
}
