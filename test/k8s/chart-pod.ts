// The chart's pod specs as the rig runs them: a container's `args` and `env` (downward-API fields
// resolved to the rig's values) become a `ztkube` process's command line and environment, with the
// paths under each volume mount moved to where the rig keeps that volume, and the capabilities it
// keeps after dropping ALL its only ones (it still runs as root: the rig has no users' files). So
// the processes of the Kubernetes suites run what `helm template` renders: change an arg or a
// capability in the chart and they run it.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KubernetesObject, V1Container, V1PodSpec } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../helpers.js';
import { toolsBin } from './control-plane.js';

const run = promisify(execFile);

/** Where a pod of the chart runs on the rig. */
export interface RigPlacement {
  /** Each volume the container mounts, by name: the rig's stand-in for its hostPath. A volume the
   * rig does not place fails the start, so a volume added to the chart is never the host's own. */
  volumes: Record<string, string>;
  /** Downward-API values by fieldPath (metadata.namespace, metadata.name, spec.nodeName). */
  fields: Record<string, string>;
  /** Flags the rig sets itself on the pod's containers, not its init containers (its kubeconfig
   * for the in-cluster one, metrics on a free port): they replace the chart's value of the same
   * flag or are added. */
  flags?: Record<string, string>;
}

export interface RigCommand {
  args: string[];
  env: Record<string, string>;
  /** The capabilities a container dropping ALL adds; undefined when privileged or not dropping. */
  capabilities?: string[];
}

/** The chart rendered by `helm template` for the namespace with the given `--set` values. */
export async function renderChart(namespace: string, values: string[] = [], release = 'ztkube'): Promise<KubernetesObject[]> {
  const set = values.flatMap((v) => ['--set', v]);
  const { stdout } = await run(join(toolsBin, 'helm'), ['template', release, join(repoRoot, 'charts/ztkube'), '--namespace', namespace, ...set], {
    maxBuffer: 16 << 20,
  });
  return parseAllDocuments(stdout)
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => o !== null);
}

/** The pod template of the rendered workload kind/name. */
export function podSpecOf(objects: KubernetesObject[], kind: 'DaemonSet' | 'Deployment', name: string): V1PodSpec {
  const workload = objects.find((o) => o.kind === kind && o.metadata?.name === name) as { spec?: { template?: { spec?: V1PodSpec } } } | undefined;
  const spec = workload?.spec?.template?.spec;
  if (!spec) throw new Error(`the chart renders no ${kind} ${name}`);
  return spec;
}

/** The `ztkube` arguments and environment of a container of the chart, placed on the rig. */
export function containerCommand(container: V1Container, placement: RigPlacement): RigCommand {
  const mounts = (container.volumeMounts ?? [])
    .map((mount) => {
      const where = placement.volumes[mount.name];
      if (where === undefined) throw new Error(`container ${container.name}: the rig does not place volume ${mount.name}`);
      return { from: mount.mountPath, to: where };
    })
    .sort((a, b) => b.from.length - a.from.length);
  const place = (value: string) => {
    const mount = mounts.find((m) => value === m.from || value.startsWith(`${m.from}/`));
    return mount ? mount.to + value.slice(mount.from.length) : value;
  };
  const args = (container.args ?? []).map((arg) => {
    const equals = arg.indexOf('=');
    return arg.startsWith('--') && equals > 0 ? `${arg.slice(0, equals + 1)}${place(arg.slice(equals + 1))}` : arg;
  });
  const capabilities = containerCapabilities(container);
  return { args: withFlags(args, placement.flags ?? {}), env: containerEnv(container, placement.fields), ...(capabilities ? { capabilities } : {}) };
}

/** The init containers' and then the containers' commands, in the order a kubelet runs them. */
export function podCommands(spec: V1PodSpec, placement: RigPlacement): { init: RigCommand[]; main: RigCommand[] } {
  return {
    init: (spec.initContainers ?? []).map((c) => containerCommand(c, { ...placement, flags: {} })),
    main: spec.containers.map((c) => containerCommand(c, placement)),
  };
}

function containerCapabilities(container: V1Container): string[] | undefined {
  const context = container.securityContext;
  if (context?.privileged || !context?.capabilities?.drop?.includes('ALL')) return undefined;
  return (context.capabilities.add ?? []).map((c) => c.replace(/^CAP_/, ''));
}

function withFlags(args: string[], flags: Record<string, string>): string[] {
  const flagOf = (arg: string) => arg.split('=')[0]!;
  const replaced = args.map((arg) => (flagOf(arg) in flags ? `${flagOf(arg)}=${flags[flagOf(arg)]}` : arg));
  const added = Object.entries(flags)
    .filter(([flag]) => !args.some((arg) => flagOf(arg) === flag))
    .map(([flag, value]) => `${flag}=${value}`);
  return [...replaced, ...added];
}

function containerEnv(container: V1Container, fields: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const fieldPath = variable.valueFrom?.fieldRef?.fieldPath;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (fieldPath !== undefined && fieldPath in fields) env[variable.name] = fields[fieldPath]!;
    else throw new Error(`container ${container.name}: the rig cannot give ${variable.name} (${JSON.stringify(variable.valueFrom)})`);
  }
  return env;
}
