// VL1 over real UDP: one UdpNodeHost per node on 127.0.0.1 (test/live-lab.ts). A root serves a
// planet made with createWorld; three leaves use it.
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { identityGenerate } from '../../agent/lib/native.js';
import { StateObjectType } from '../../agent/lib/node.js';
import { cleanUp, host, keysOf, leaf, LOOPBACK, rootAndPlanet, until, ZERO, type LiveHost } from '../live-lab.js';

/** A root and leaves using its planet. */
async function lab(leafCount: number): Promise<{ root: LiveHost; leaves: LiveHost[]; planet: Buffer }> {
  const { root, planet } = await rootAndPlanet();
  const leaves: LiveHost[] = [];
  for (let i = 0; i < leafCount; i++) leaves.push(await leaf(planet, `leaf${i}`));
  return { root, leaves, planet };
}

afterEach(cleanUp);

describe('VL1 live over UDP on 127.0.0.1', () => {
  it('brings a root and three leaves online, reaches a leaf by WHOIS, relayed then direct, and echoes', async () => {
    const { root, leaves } = await lab(3);
    const [a, b, c] = leaves as [LiveHost, LiveHost, LiveHost];
    expect(root.node.status().online).toBe(true);
    await until('all leaves online', () => leaves.every((l) => l.node.status().online));
    for (const l of leaves) {
      expect(l.events.map((e) => e.event)).toEqual(['UP', 'ONLINE']);
      const rootPeer = l.node.peers().find((p) => p.address === root.node.address);
      expect(rootPeer?.role).toBe('PLANET');
      expect(rootPeer?.protocolVersion).toBe(12);
      expect(rootPeer?.paths.map((p) => [p.remote, p.preferred])).toEqual([[root.endpoint, true]]);
    }
    expect(root.node.peers().map((p) => p.address).sort()).toEqual(leaves.map((l) => l.node.address).sort());
    expect(b.node.peers().some((p) => p.address === c.node.address)).toBe(false);

    // A does not know C: WHOIS through the root, the ECHO relayed by the root, answered.
    expect(a.node.peers().some((p) => p.address === c.node.address)).toBe(false);
    a.echo(c.node.address);
    await until('OK(ECHO) from C', () => a.node.counters().echoRepliesReceived >= 1);
    expect(a.node.counters().whoisAnswered).toBe(1);
    expect(root.node.counters().packetsRelayed).toBeGreaterThan(0);

    // The root's RENDEZVOUS made A and C HELLO each other: a direct, preferred path.
    await until('direct path A→C', () =>
      a.node.peers().some((p) => p.address === c.node.address && p.paths.some((x) => x.preferred && x.remote === c.endpoint)),
    );
    const cAtA = a.node.peers().find((p) => p.address === c.node.address)!;
    expect(cAtA.role).toBe('LEAF');
    expect(cAtA.protocolVersion).toBe(12);

    // Direct now: another round trip without the root relaying anything.
    const relayed = root.node.counters().packetsRelayed;
    a.echo(c.node.address);
    await until('second OK(ECHO)', () => a.node.counters().echoRepliesReceived >= 2);
    expect(root.node.counters().packetsRelayed).toBe(relayed);
    expect(a.node.peers().find((p) => p.address === c.node.address)!.latency).toBeGreaterThanOrEqual(0);

    for (const h of [root, ...leaves]) expect(h.refusedSends).toBe(0);
  });

  it('raises FATAL_ERROR_IDENTITY_COLLISION when a root knows the address under another key', async () => {
    // A second identity with the same address cannot be found by proof of work (a 40-bit
    // collision). But a root that already knows an address checks a HELLO under it against the
    // *offered* key first (vl1-packets.md 7.1 step 2) and answers IDENTITY_COLLISION if that key
    // authenticates it, before any proof of work. So the impostor takes leaf A's address with
    // the key pair of another freshly generated identity: a consistent secret, a taken address.
    const { root, leaves, planet } = await lab(1);
    const a = leaves[0]!;
    await until('leaf A online', () => a.node.status().online);
    const other = keysOf(identityGenerate());
    const impostorSecret = `${a.node.address}:0:${other.publicKeyHex}:${other.privateKeyHex}`;
    const impostor = await leaf(planet, 'impostor', { secret: impostorSecret });
    expect(impostor.node.address).toBe(a.node.address);
    await until('fatal event', () => impostor.fired('FATAL_ERROR_IDENTITY_COLLISION'));
    const fatal = impostor.events.find((e) => e.event === 'FATAL_ERROR_IDENTITY_COLLISION')!;
    expect(fatal.detail).toContain(`root=${root.node.address}`);
    expect(impostor.node.status().online).toBe(false);
    expect(root.node.counters().dropped.badHello).toBeGreaterThanOrEqual(1);
    // The real A is untouched and still reachable through the root.
    expect(a.fired('FATAL_ERROR_IDENTITY_COLLISION')).toBe(false);
    expect(a.node.status().online).toBe(true);
    const aAtRoot = root.node.peers().find((p) => p.address === a.node.address)!;
    expect(aAtRoot.paths.map((p) => p.remote)).toEqual([a.endpoint]);
  });

  it('keeps its address when restarted on the same state directory', async () => {
    const { leaves, planet } = await lab(1);
    const first = leaves[0]!;
    await until('leaf online', () => first.node.status().online);
    const address = first.node.address;
    const store = first.store;
    expect(store.get(StateObjectType.IdentitySecret, ZERO)?.toString()).toMatch(new RegExp(`^${address}:0:[0-9a-f]{128}:[0-9a-f]{128}$`));
    expect(store.get(StateObjectType.IdentityPublic, ZERO)?.toString()).toMatch(new RegExp(`^${address}:0:[0-9a-f]{128}$`));
    first.close();
    expect(first.events.at(-1)?.event).toBe('DOWN');
    const secretBefore = store.get(StateObjectType.IdentitySecret, ZERO);

    const again = await host(store);
    again.start();
    expect(again.node.address).toBe(address);
    expect(store.get(StateObjectType.IdentitySecret, ZERO)).toEqual(secretBefore);
    await until('restarted leaf online', () => again.node.status().online);
    expect(store.get(StateObjectType.Planet, ZERO)).toEqual(planet);

    // A corrupt identity is an error, never a fresh identity.
    again.close();
    store.put(StateObjectType.IdentitySecret, ZERO, Buffer.from('0123456789:0:not-a-key'));
    const broken = await host(store);
    expect(() => broken.start()).toThrow(/IDENTITY_SECRET/);
    expect(store.get(StateObjectType.IdentitySecret, ZERO)?.toString()).toBe('0123456789:0:not-a-key');
  });

  it('drops garbage, truncated, replayed and wrongly keyed packets and counts them by reason', async () => {
    const { root, leaves } = await lab(1);
    const a = leaves[0]!;
    await until('leaf online', () => a.node.status().online);
    await until('a packet from the root to replay', () => a.received.some((m) => m.length >= 28 && m[13] !== 0xff));
    const attacker = createSocket('udp4');
    await new Promise<void>((resolve) => attacker.bind(0, LOOPBACK, () => resolve()));
    try {
      const send = (data: Buffer) =>
        new Promise<void>((resolve, reject) => attacker.send(data, a.port, LOOPBACK, (e) => (e ? reject(e) : resolve())));
      const captured = Buffer.from(a.received.find((m) => m.length >= 28 && m[13] !== 0xff && !(m[18]! & 0x40))!);
      const addressOfA = Buffer.from(a.node.address, 'hex');

      await send(Buffer.alloc(20, 0x11)); // longer than a keepalive, shorter than a header
      const badFragment = Buffer.alloc(40);
      addressOfA.copy(badFragment, 8);
      badFragment[13] = 0xff;
      badFragment[14] = 0x90; // 9 fragments: more than 7
      await send(badFragment);
      await send(captured); // replayed
      const tampered = Buffer.from(captured);
      tampered[tampered.length - 1]! ^= 0x01; // wrongly keyed / forged: the MAC no longer verifies
      tampered.writeUInt32BE(0x01020304, 0); // and a new packet id, so it is not just a replay
      await send(tampered);
      const garbage = Buffer.alloc(64, 0x5a); // for someone else, from a path A never trusted
      await send(garbage);

      await until('all five counted', () => {
        const d = a.node.counters().dropped;
        return d.truncated + d.badFragment + d.replay + d.notAuthenticated + d.untrustedRelay >= 5;
      });
      const dropped = a.node.counters().dropped;
      expect(dropped.truncated).toBe(1);
      expect(dropped.badFragment).toBe(1);
      expect(dropped.replay).toBe(1);
      expect(dropped.notAuthenticated).toBe(1);
      expect(dropped.untrustedRelay).toBe(1);
      expect(a.node.status().online).toBe(true);
      expect(root.node.counters().dropped.notAuthenticated).toBe(0);
    } finally {
      attacker.close();
    }
  });
});
