// The ZeroTierNetwork resource (ztkube.io/v1alpha1): a network our embedded controller runs
// (`managed`), or one whose controller is elsewhere (`external`). The same objects drive the
// Kubernetes operator, `ztkube node --controller <file>` and the demo, so a file that works on a
// laptop works in a cluster. A managed spec becomes a network record in the JSON shape of ZeroTier
// 1.14's controller; the native controller validates that record field by field (errors name the
// field), so this module only maps names and fills defaults.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { ControllerRecord } from './node.js';

export interface IpRange {
  start: string;
  end: string;
}

export interface ManagedNetworkSpec {
  /** Shown by members; default: the resource's name. */
  name?: string;
  /** Private networks admit only members the controller authorised (default true). */
  private?: boolean;
  /** The low 24 bits of the network id (its top 40 are the controller's address); default: derived from namespace/name. */
  networkNumber?: number;
  ipv4?: { pools?: IpRange[] };
  ipv6?: { rfc4193?: boolean; sixPlane?: boolean; pools?: IpRange[] };
  routes?: { target: string; via?: string | null }[];
  mtu?: number;
  multicastLimit?: number;
  enableBroadcast?: boolean;
  dns?: { domain: string; servers: string[] };
  /** Rules, capabilities and tags in the JSON form of ZeroTier 1.14's controller (rich/network.json). */
  rules?: Record<string, unknown>[];
  capabilities?: { id: number; default?: boolean; rules: Record<string, unknown>[] }[];
  tags?: { id: number; default?: number }[];
  /** ZeroTier addresses (10 hex digits) authorised besides the pods: nodes outside the cluster,
   * or the members of a standalone controller (`ztkube node --controller`). */
  members?: string[];
}

export interface ZeroTierNetworkSpec {
  managed?: ManagedNetworkSpec;
  external?: { networkId: string };
  /** Namespaces besides the network's own whose pods may join ("*": all). */
  allowedNamespaces?: string[];
}

export interface ZeroTierNetwork {
  apiVersion: 'ztkube.io/v1alpha1';
  kind: 'ZeroTierNetwork';
  metadata: { name: string; namespace?: string };
  spec: ZeroTierNetworkSpec;
}

const NETWORK_ID = /^[0-9a-f]{16}$/;

/** Reads one ZeroTierNetwork from a YAML (or JSON) file; errors name the file and the field. */
export function readZeroTierNetwork(file: string): ZeroTierNetwork {
  try {
    return checkZeroTierNetwork(parseYaml(readFileSync(file, 'utf8')));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

export function checkZeroTierNetwork(value: unknown): ZeroTierNetwork {
  const o = value as Partial<ZeroTierNetwork> | null;
  if (!o || typeof o !== 'object') throw new Error('not an object');
  if (o.apiVersion !== 'ztkube.io/v1alpha1') throw new Error(`apiVersion must be ztkube.io/v1alpha1, not ${String(o.apiVersion)}`);
  if (o.kind !== 'ZeroTierNetwork') throw new Error(`kind must be ZeroTierNetwork, not ${String(o.kind)}`);
  if (!o.metadata || typeof o.metadata.name !== 'string' || o.metadata.name === '') throw new Error('metadata.name is required');
  const spec = o.spec;
  if (!spec || typeof spec !== 'object') throw new Error('spec is required');
  if (!spec.managed === !spec.external) throw new Error('spec must have exactly one of managed and external');
  if (spec.external && !NETWORK_ID.test(String(spec.external.networkId)))
    throw new Error('spec.external.networkId must be 16 lowercase hex digits');
  const number = spec.managed?.networkNumber;
  if (number !== undefined && !(Number.isInteger(number) && number >= 0 && number <= 0xffffff))
    throw new Error('spec.managed.networkNumber must be an integer from 0 to 16777215');
  for (const [i, member] of (spec.managed?.members ?? []).entries())
    if (!/^[0-9a-f]{10}$/.test(String(member))) throw new Error(`spec.managed.members[${i}] must be a ZeroTier address (10 lowercase hex digits)`);
  return o as ZeroTierNetwork;
}

/** namespace/name: how pods and logs refer to a network. */
export function networkKey(network: ZeroTierNetwork): string {
  return `${network.metadata.namespace ?? 'default'}/${network.metadata.name}`;
}

/** The id of a managed network run by the controller at `controllerAddress` (10 hex digits). */
export function managedNetworkId(controllerAddress: string, network: ZeroTierNetwork): string {
  const number =
    network.spec.managed?.networkNumber ??
    createHash('sha256').update(networkKey(network)).digest().readUIntBE(0, 3);
  return `${controllerAddress}${number.toString(16).padStart(6, '0')}`;
}

/** The controller's network record for a managed network. */
export function managedNetworkRecord(networkId: string, network: ZeroTierNetwork): ControllerRecord {
  const spec = network.spec.managed;
  if (!spec) throw new Error(`network ${networkKey(network)} is not managed`);
  const pools = [...(spec.ipv4?.pools ?? []), ...(spec.ipv6?.pools ?? [])];
  const record: ControllerRecord = {
    id: networkId,
    nwid: networkId,
    objtype: 'network',
    name: spec.name ?? network.metadata.name,
    private: spec.private ?? true,
    enableBroadcast: spec.enableBroadcast ?? true,
    ipAssignmentPools: pools.map((p) => ({ ipRangeStart: p.start, ipRangeEnd: p.end })),
    routes: (spec.routes ?? []).map((r) => ({ target: r.target, via: r.via ?? null })),
    v4AssignMode: { zt: (spec.ipv4?.pools?.length ?? 0) > 0 },
    v6AssignMode: {
      zt: (spec.ipv6?.pools?.length ?? 0) > 0,
      rfc4193: spec.ipv6?.rfc4193 ?? false,
      '6plane': spec.ipv6?.sixPlane ?? false,
    },
    rules: spec.rules ?? [{ type: 'ACTION_ACCEPT' }],
    capabilities: spec.capabilities ?? [],
    tags: spec.tags ?? [],
  };
  if (spec.mtu !== undefined) record.mtu = spec.mtu;
  if (spec.multicastLimit !== undefined) record.multicastLimit = spec.multicastLimit;
  if (spec.dns) record.dns = spec.dns;
  return record;
}

/** The member record that authorises (or deauthorises) a ZeroTier address on a network. */
export function memberRecord(networkId: string, address: string, authorized: boolean): ControllerRecord {
  return { nwid: networkId, id: address, objtype: 'member', authorized };
}
