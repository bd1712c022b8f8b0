// Puts ztkube-cni on a Kubernetes node: the binary into the CNI bin dir and a `ztkube-cni` entry at
// the end of the plugin chain the runtime uses (the first configuration file of the conf dir in
// name order, as libcni and the runtimes choose it). A single-plugin `.conf` is turned into a
// `.conflist` of the same name, since only a list can chain. The agent chains at start and again
// whenever the primary CNI rewrites its file, and unchains when it stops: pods created while no
// agent runs start without ztkube-cni and are attached by namespace discovery once one is back,
// and an uninstalled ztkube leaves no plugin behind that would fail every pod.
import { chmodSync, copyFileSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-file.js';

export const CNI_PLUGIN_TYPE = 'ztkube-cni';

export interface CniChainOptions {
  confDir: string;
  /** The agent's CNI socket, as the plugin will see the host's path. */
  socket: string;
  timeoutSeconds?: number;
}

interface ConfList {
  cniVersion?: string;
  name?: string;
  plugins: Record<string, unknown>[];
  [key: string]: unknown;
}

/** Copies the plugin binary into binDir under a temporary name and renames it: a runtime running
 * the old binary meanwhile never sees half a file. */
export function installCniBinary(source: string, binDir: string): void {
  const target = join(binDir, CNI_PLUGIN_TYPE);
  const temporary = join(binDir, `.${CNI_PLUGIN_TYPE}.${process.pid}.tmp`);
  try {
    copyFileSync(source, temporary);
    chmodSync(temporary, 0o755);
    renameSync(temporary, target);
  } catch (e) {
    rmSync(temporary, { force: true });
    throw new Error(`installing ${CNI_PLUGIN_TYPE} into ${binDir}: ${(e as Error).message}`);
  }
}

/** The configuration file the runtime uses: the first .conflist/.conf/.json by name. */
export function primaryCniConfig(confDir: string): string | undefined {
  const name = readdirSync(confDir)
    .filter((n) => /\.(conflist|conf|json)$/.test(n) && !n.startsWith('.'))
    .sort()[0];
  return name === undefined ? undefined : join(confDir, name);
}

/** Appends ztkube-cni to the primary chain unless it is there as wanted; returns the file changed
 * (undefined: nothing to do). Throws when the directory holds no configuration yet. */
export function chainCniPlugin(options: CniChainOptions): string | undefined {
  const file = primaryCniConfig(options.confDir);
  if (!file) throw new Error(`no CNI configuration in ${options.confDir} to chain ${CNI_PLUGIN_TYPE} into (is the cluster's CNI installed?)`);
  const list = readConfList(file);
  const entry = { type: CNI_PLUGIN_TYPE, socket: options.socket, timeoutSeconds: options.timeoutSeconds ?? 30 };
  const others = list.plugins.filter((p) => p.type !== CNI_PLUGIN_TYPE);
  const last = list.plugins[list.plugins.length - 1];
  if (others.length === list.plugins.length - 1 && JSON.stringify(last) === JSON.stringify(entry)) return undefined;
  return writeConfList(file, { ...list, plugins: [...others, entry] });
}

/** Removes ztkube-cni from the primary chain; returns the file changed, if any. */
export function unchainCniPlugin(confDir: string): string | undefined {
  const file = primaryCniConfig(confDir);
  if (!file) return undefined;
  const list = readConfList(file);
  const others = list.plugins.filter((p) => p.type !== CNI_PLUGIN_TYPE);
  if (others.length === list.plugins.length) return undefined;
  return writeConfList(file, { ...list, plugins: others });
}

function readConfList(file: string): ConfList {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`CNI configuration ${file}: ${(e as Error).message}`);
  }
  if (Array.isArray(parsed.plugins)) return parsed as ConfList;
  if (typeof parsed.type !== 'string') throw new Error(`CNI configuration ${file}: neither a plugin list nor a plugin`);
  const { cniVersion, name, ...plugin } = parsed;
  return { cniVersion: cniVersion as string, name: name as string, plugins: [plugin] };
}

/** Writes the list where the runtime reads it: a .conf becomes a .conflist of the same name. */
function writeConfList(file: string, list: ConfList): string {
  const target = file.endsWith('.conflist') ? file : join(file.slice(0, -basename(file).length), `${basename(file).replace(/\.(conf|json)$/, '')}.conflist`);
  writeFileAtomic(target, `${JSON.stringify(list, null, 2)}\n`);
  if (target !== file) rmSync(file);
  return target;
}
