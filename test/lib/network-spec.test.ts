// ZeroTierNetwork resources: checked on read with errors that name the field, mapped to network
// records that our controller accepts, with ids made of the controller's address and the number.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkZeroTierNetwork,
  managedNetworkId,
  managedNetworkRecord,
  readZeroTierNetwork,
  type ZeroTierNetwork,
} from '../../agent/lib/network-spec.js';
import { repoPath } from '../../agent/lib/native.js';
import { ZeroTierNode, type ControllerRecords } from '../../agent/lib/node.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A node that never touches the network, running a controller over an in-memory store. */
function controllerNode(): { node: ZeroTierNode; records: ControllerRecords } {
  const state = new Map<string, Buffer>();
  const records: ControllerRecords = { networks: [], members: [] };
  const node = new ZeroTierNode({
    stateGet: (type, id) => state.get(`${type}-${id.join('-')}`),
    statePut: (type, id, data) => void (data ? state.set(`${type}-${id.join('-')}`, data) : state.delete(`${type}-${id.join('-')}`)),
    event: () => {},
    wirePacketSend: () => false,
  });
  node.runController({
    load: () => ({ networks: [], members: [] }),
    save: (change) => {
      if (change.kind === 'network') records.networks.push(change.record);
      if (change.kind === 'member') records.members.push(change.record);
    },
  });
  return { node, records };
}

describe('ZeroTierNetwork', () => {
  it('reads the example, and the controller accepts its record under an id made of its address', () => {
    const network = readZeroTierNetwork(repoPath('examples', 'network.yaml'));
    const { node, records } = controllerNode();
    const id = managedNetworkId(node.address, network);
    expect(id).toMatch(new RegExp(`^${node.address}[0-9a-f]{6}$`));
    expect(managedNetworkId(node.address, network)).toBe(id); // stable
    node.setNetwork(Date.now(), managedNetworkRecord(id, network));
    const saved = records.networks.at(-1)!;
    expect(saved.id).toBe(id);
    expect(saved.ipAssignmentPools).toEqual([{ ipRangeStart: '198.19.0.10', ipRangeEnd: '198.19.0.250' }]);
    expect(saved.v6AssignMode).toMatchObject({ rfc4193: true, '6plane': false });
    expect(saved.mtu).toBe(2800);
  });

  it('takes a given network number and rejects a record the controller finds wrong', () => {
    const network: ZeroTierNetwork = checkZeroTierNetwork({
      apiVersion: 'ztkube.io/v1alpha1',
      kind: 'ZeroTierNetwork',
      metadata: { name: 'bad' },
      spec: { managed: { networkNumber: 0xabc, routes: [{ target: 'not-an-ip' }] } },
    });
    const { node } = controllerNode();
    const id = managedNetworkId(node.address, network);
    expect(id).toBe(`${node.address}000abc`);
    expect(() => node.setNetwork(Date.now(), managedNetworkRecord(id, network))).toThrow(/routes\[0\]/);
  });

  it('refuses to run a controller over a record it cannot read, naming it', () => {
    const node = new ZeroTierNode({ stateGet: () => undefined, statePut: () => {}, event: () => {}, wirePacketSend: () => false });
    const bad = { load: () => ({ networks: [{ id: `${node.address}000001`, routes: [{ target: 'x' }] }], members: [] }), save: () => {} };
    expect(() => node.runController(bad)).toThrow(/controller network record: .*routes\[0\]/);
  });

  it('names the problem in a bad resource', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ztkube-spec-'));
    dirs.push(dir);
    const file = join(dir, 'n.yaml');
    const cases: [string, RegExp][] = [
      ['apiVersion: v1\nkind: ZeroTierNetwork\nmetadata: {name: a}\nspec: {managed: {}}', /apiVersion must be ztkube.io\/v1alpha1/],
      ['apiVersion: ztkube.io/v1alpha1\nkind: ZeroTierNetwork\nmetadata: {}\nspec: {managed: {}}', /metadata.name is required/],
      ['apiVersion: ztkube.io/v1alpha1\nkind: ZeroTierNetwork\nmetadata: {name: a}\nspec: {}', /exactly one of managed and external/],
      ['apiVersion: ztkube.io/v1alpha1\nkind: ZeroTierNetwork\nmetadata: {name: a}\nspec: {external: {networkId: xyz}}', /networkId must be 16/],
      ['apiVersion: ztkube.io/v1alpha1\nkind: ZeroTierNetwork\nmetadata: {name: a}\nspec: {managed: {members: [abc]}}', /members\[0\]/],
      ['apiVersion: ztkube.io/v1alpha1\nkind: ZeroTierNetwork\nmetadata: {name: a}\nspec: {managed: {networkNumber: 16777216}}', /networkNumber/],
    ];
    for (const [text, error] of cases) {
      writeFileSync(file, text);
      expect(() => readZeroTierNetwork(file)).toThrow(error);
      expect(() => readZeroTierNetwork(file)).toThrow(new RegExp(file.replaceAll('/', '\\/')));
    }
  });
});
