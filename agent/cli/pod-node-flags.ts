// What `ztkube agent` and `ztkube sidecar` share on the command line: the flags, their checks,
// the logger, and running until SIGINT/SIGTERM.
import { pino } from 'pino';
import { startAgent, type AgentOptions, type Mode } from '../dataplane/agent.js';
import { DEFAULT_NAMESPACE, loadKubeConfig, ZT_PORT } from '../lib/kube.js';
import { onTermination } from '../lib/termination.js';
import { Failure, integerArg, UsageError } from './args.js';

export const commonFlags = {
  kubeconfig: { type: 'string' },
  namespace: { type: 'string' },
  mode: { type: 'string' },
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
  threads: { type: 'string' },
  'bind-port': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface CommonValues {
  kubeconfig?: string;
  namespace?: string;
  mode?: string;
  'metrics-port'?: string;
  'metrics-host'?: string;
  threads?: string;
  'bind-port'?: string;
}

function portArg(text: string | undefined, fallback: number, what: string): number {
  const port = text === undefined ? fallback : integerArg(text, what);
  if (port > 65535) throw new UsageError(`${what} must be at most 65535`);
  return port;
}

export function sharedOptions(
  values: CommonValues,
  context: { namespace?: string; component: string; nodeName: string; pod?: string },
): Omit<AgentOptions, 'role' | 'nodeName' | 'cniWaitMs' | 'identityPool'> {
  const mode = values.mode ?? 'private';
  if (mode !== 'private' && mode !== 'public') throw new UsageError(`--mode must be private or public, not '${mode}'`);
  const threads = values.threads === undefined ? 2 : integerArg(values.threads, '--threads');
  if (threads < 1 || threads > 64) throw new UsageError('--threads must be from 1 to 64');
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig(values.kubeconfig);
  } catch (e) {
    throw new Failure(`Kubernetes API: ${(e as Error).message}`);
  }
  const base = { component: context.component, ...(context.nodeName ? { node: context.nodeName } : {}), ...(context.pod ? { pod: context.pod } : {}) };
  return {
    kubeConfig,
    logger: pino({ base, level: process.env.ZTKUBE_LOG_LEVEL ?? 'info' }),
    namespace: values.namespace ?? context.namespace ?? DEFAULT_NAMESPACE,
    mode: mode as Mode,
    threads,
    bindPort: portArg(values['bind-port'], ZT_PORT, '--bind-port'),
    metrics: { host: values['metrics-host'] ?? '0.0.0.0', port: portArg(values['metrics-port'], 9464, '--metrics-port') },
  };
}

export async function runUntilSignalled(options: AgentOptions): Promise<number> {
  const termination = onTermination();
  try {
    const agent = await startAgent(options);
    await termination.signalled;
    options.logger.info('stopping');
    await agent.close();
    return 0;
  } finally {
    termination.dispose();
  }
}
