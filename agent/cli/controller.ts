// `ztkube controller`: the cluster-wide controller (docs/kubernetes.md). Every replica serves
// metrics and competes for the Lease; the leader runs the root and the controller node and
// reconciles. A leader that cannot renew the Lease (renew deadline 10 s, e.g. an apiserver
// outage) stops its nodes and writes nothing more, before anyone can take over (15 s), then
// competes again: the process lives on.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { LeaseElector } from '../controller/leader-election.js';
import { Leader } from '../controller/leader.js';
import { ControllerMetrics } from '../controller/metrics.js';
import { CONTROLLER_LEASE, DEFAULT_NAMESPACE, loadKubeConfig, ZT_PORT } from '../lib/kube.js';
import { serveMetrics } from '../lib/metrics-server.js';
import { onTermination } from '../lib/termination.js';
import { integerArg, options, UsageError } from './args.js';

export const usage = `Usage: ztkube controller [--kubeconfig FILE] [--namespace NS] [--mode private|public]
                         [--root-endpoint IP/PORT]... [--root-bind IP/PORT] [--controller-bind IP/PORT]
                         [--metrics-port P] [--threads N]
  Runs the ztkube controller until SIGINT/SIGTERM: leader election on the Lease ${CONTROLLER_LEASE}
  in NS (default $POD_NAMESPACE or ${DEFAULT_NAMESPACE}); the leader runs every ZeroTierNetwork in
  its embedded network controller (node on --controller-bind, default 0.0.0.0/${ZT_PORT + 1}),
  authorises the pods that ask for them, writes their status and collects identities nobody owns.
  private (default): it also runs the root of ztkube's planet (--root-bind, default
  0.0.0.0/${ZT_PORT}) whose stable endpoints are the --root-endpoint values or the ClusterIP of
  the Service ztkube-root; public: ZeroTier's public planet, no root.
  Metrics on --metrics-port (default 9464; /metrics, /healthz, /readyz). $POD_NAME names this
  pod, labelled ztkube.io/leader=true while it leads. Logs are JSON lines on stderr
  ($ZTKUBE_LOG_LEVEL, default info).
`;

function endpointArg(text: string, what: string): string {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]+)\/(\d+)$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535) throw new UsageError(`${what} takes ip/port: '${text}'`);
  return text;
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = options(args, {
    kubeconfig: { type: 'string' },
    namespace: { type: 'string' },
    mode: { type: 'string' },
    'root-endpoint': { type: 'string', multiple: true },
    'root-bind': { type: 'string' },
    'controller-bind': { type: 'string' },
    'metrics-port': { type: 'string' },
    threads: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const mode = values.mode ?? 'private';
  if (mode !== 'private' && mode !== 'public') throw new UsageError(`--mode must be private or public: '${mode}'`);
  if (mode === 'public' && (values['root-endpoint'] || values['root-bind'])) throw new UsageError('--root-endpoint and --root-bind need --mode private');
  const rootEndpoints = (values['root-endpoint'] ?? []).map((e) => endpointArg(e, '--root-endpoint'));
  const rootBind = endpointArg(values['root-bind'] ?? `0.0.0.0/${ZT_PORT}`, '--root-bind');
  const controllerBind = endpointArg(values['controller-bind'] ?? `0.0.0.0/${ZT_PORT + 1}`, '--controller-bind');
  const metricsPort = values['metrics-port'] === undefined ? 9464 : integerArg(values['metrics-port'], '--metrics-port');
  if (metricsPort > 65535) throw new UsageError('--metrics-port must be at most 65535');
  const threads = values.threads === undefined ? 1 : integerArg(values.threads, '--threads');
  if (threads < 1 || threads > 64) throw new UsageError('--threads must be from 1 to 64');
  const namespace = values.namespace ?? process.env.POD_NAMESPACE ?? DEFAULT_NAMESPACE;
  const podName = process.env.POD_NAME || undefined;
  const identity = `${podName ?? hostname()}_${randomBytes(4).toString('hex')}`;

  const kubeConfig = loadKubeConfig(values.kubeconfig);
  const log = pino({ level: process.env.ZTKUBE_LOG_LEVEL ?? 'info', base: { component: 'ztkube-controller', identity } }, pino.destination(2));
  const metrics = new ControllerMetrics();
  let state: 'candidate' | 'starting' | 'leading' = 'candidate';
  const server = await serveMetrics(metrics.registry, { host: '0.0.0.0', port: metricsPort, ready: () => state !== 'starting' });
  const termination = onTermination();
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  let leader: Leader | undefined;
  let elector: LeaseElector | undefined;
  try {
    log.info({ namespace, mode, metrics: server.url }, 'controller candidate');
    for (;;) {
      elector = new LeaseElector(coordination, { namespace, name: CONTROLLER_LEASE, identity, log });
      const lost = new Promise<string>((resolve) => elector!.once('lost', resolve));
      const won = await Promise.race([elector.acquire().then(() => true), termination.signalled.then(() => false)]);
      if (!won) return 0;
      state = 'starting';
      metrics.leader.set(1);
      leader = await Leader.start({ kubeConfig, namespace, mode, rootEndpoints, rootBind, controllerBind, threads, podName, identity, metrics, log });
      state = 'leading';
      log.info({ controller: leader.controllerAddress }, 'leading');
      const reason = await Promise.race([lost, termination.signalled.then(() => undefined)]);
      if (reason === undefined) return 0;
      // Whoever holds the Lease now runs the nodes: stop ours at once, then stand by again.
      log.error({ reason }, 'leadership lost: nodes stopped, standing by');
      const abandoned = leader;
      leader = undefined;
      await abandoned.abandon();
      metrics.leader.set(0);
      state = 'candidate';
    }
  } finally {
    termination.dispose();
    log.info('stopping');
    await leader?.stop();
    await elector?.release();
    metrics.leader.set(0);
    await server.close();
  }
}
