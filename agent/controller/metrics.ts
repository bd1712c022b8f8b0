// The controller's Prometheus metrics (served by agent/lib/metrics-server.ts).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MemberCounts } from './status.js';

/** The prefix of prom-client's default process and Node.js metrics in the controller. */
export const CONTROLLER_METRICS_PREFIX = 'ztkube_controller_';

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: 'ztkube_controller_reconciles_total',
    help: 'Reconcile passes over every ZeroTierNetwork, by result (success, error).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'ztkube_controller_reconcile_duration_seconds',
    help: 'Duration of one reconcile pass.',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'ztkube_controller_errors_total',
    help: 'Errors: failed reconcile passes and API writes.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly members = new Gauge({
    name: 'ztkube_controller_members',
    help: 'Members of each ZeroTierNetwork (namespace/name) by state: total, authorized, awaitingAuthorization, online.',
    labelNames: ['network', 'state'] as const,
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'ztkube_controller_leader',
    help: '1 while this process holds the controller Lease.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: CONTROLLER_METRICS_PREFIX });
  }

  setMembers(network: string, counts: MemberCounts): void {
    for (const [state, value] of Object.entries(counts)) this.members.set({ network, state }, value);
  }

  forgetNetwork(network: string): void {
    for (const state of ['total', 'authorized', 'awaitingAuthorization', 'online']) this.members.remove({ network, state });
  }
}
