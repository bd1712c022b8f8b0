// Prometheus metrics of a Dataplane (prom-client), read from the native counters at scrape time:
// nothing is counted in JavaScript, so the packet path pays nothing for them.
import { Counter, Gauge, Registry } from 'prom-client';
import type { Dataplane, PodStatus } from './dataplane.js';
import type { IdentityPool } from './identity-pool.js';

/** What the metrics read at scrape time: a Dataplane's pods and their status. */
export type DataplaneMetricsSource = Pick<Dataplane, 'pods' | 'status'>;

/** Registers the data plane's metrics on `registry` (a new one by default) and returns it. */
export function registerDataplaneMetrics(dataplane: DataplaneMetricsSource, registry = new Registry()): Registry {
  let snapshot: Promise<PodStatus[]> | undefined;
  // One status read per scrape, shared by every metric's collect().
  const statuses = () => {
    snapshot ??= Promise.all(dataplane.pods().map((pod) => dataplane.status(pod).catch(() => undefined))).then(
      (list) => {
        setImmediate(() => (snapshot = undefined));
        return list.filter((s): s is PodStatus => s !== undefined);
      },
    );
    return snapshot;
  };
  const registers = [registry];

  new Gauge({
    name: 'ztkube_pods_attached',
    help: 'Pods attached to this data plane.',
    registers,
    collect() {
      this.set(dataplane.pods().length);
    },
  });
  new Gauge({
    name: 'ztkube_pod_online',
    help: '1 while the pod node hears from a root.',
    labelNames: ['pod'],
    registers,
    async collect() {
      this.reset();
      for (const s of await statuses()) this.set({ pod: s.pod }, s.online ? 1 : 0);
    },
  });
  for (const [unit, field] of [
    ['bytes', 'bytes'],
    ['packets', 'packets'],
  ] as const) {
    new Counter({
      name: `ztkube_network_${unit}_total`,
      help: `Ethernet ${unit} between the pod's TAP and the network, by direction (in: to the pod).`,
      labelNames: ['pod', 'network', 'direction'],
      registers,
      async collect() {
        this.reset();
        for (const s of await statuses())
          for (const n of s.networks) {
            this.inc({ pod: s.pod, network: n.id, direction: 'in' }, n.counters[`${field}In`]);
            this.inc({ pod: s.pod, network: n.id, direction: 'out' }, n.counters[`${field}Out`]);
          }
      },
    });
  }
  new Counter({
    name: 'ztkube_dropped_packets_total',
    help: 'Packets the pod node dropped, by reason.',
    labelNames: ['pod', 'reason'],
    registers,
    async collect() {
      this.reset();
      for (const s of await statuses())
        for (const [reason, count] of Object.entries(s.counters.dropped)) this.inc({ pod: s.pod, reason }, count);
    },
  });
  new Gauge({
    name: 'ztkube_peers',
    help: 'Peers of the pod node by path: direct, or relayed through a root.',
    labelNames: ['pod', 'path'],
    registers,
    async collect() {
      this.reset();
      for (const s of await statuses()) {
        const direct = s.peers.filter((p) => p.direct).length;
        this.set({ pod: s.pod, path: 'direct' }, direct);
        this.set({ pod: s.pod, path: 'relayed' }, s.peers.length - direct);
      }
    },
  });
  new Gauge({
    name: 'ztkube_root_latency_seconds',
    help: 'Round-trip latency from the pod node to each root it knows.',
    labelNames: ['pod', 'root'],
    registers,
    async collect() {
      this.reset();
      for (const s of await statuses())
        for (const p of s.peers)
          if (p.role === 'PLANET' && p.latency >= 0) this.set({ pod: s.pod, root: p.address }, p.latency / 1000);
    },
  });
  return registry;
}

/** The agent's gauge of spare identities (identity-pool.ts), on the data plane's registry. */
export function registerIdentityPoolMetrics(pool: Pick<IdentityPool, 'spares'>, registry: Registry): void {
  new Gauge({
    name: 'ztkube_identity_pool_spares',
    help: 'Identities made ahead for new pods, ready now.',
    registers: [registry],
    collect() {
      this.set(pool.spares);
    },
  });
}
