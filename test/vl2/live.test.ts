// VL2 over real UDP on 127.0.0.1, through the TypeScript binding: our root, our controller (the
// `rich` capture's controller identity, serving the captured network record with its rules, tags
// and capability from a DirControllerStore) and the capture's three members. Frames go in with
// processVirtualNetworkFrame and come out of virtualNetworkFrame on the other side.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirControllerStore } from '../../agent/lib/dir-controller-store.js';
import type { ControllerRecord, VirtualNetworkConfig } from '../../agent/lib/node.js';
import { vectorPath } from '../helpers.js';
import { cleanUp, leaf, rootAndPlanet, scratchDir, until, type LiveHost } from '../live-lab.js';

const NWID = '315595f4f8c0ffee';
const IPV4 = 0x0800;
const ARP = 0x0806;
const IPV6 = 0x86dd;
const BROADCAST = 'ffffffffffff';

interface Frame {
  src: string;
  dst: string;
  etherType: number;
  payload: Buffer;
}

interface Member {
  host: LiveHost;
  frames: Frame[];
  configs: VirtualNetworkConfig[];
}

function richFile(name: string): string {
  return readFileSync(vectorPath('rich', name), 'utf8').trim();
}

/** The captured records; members' addresses cleared so that the pools pick them (m1 keeps its
 * static ones), and m2 no active bridge, so that multicast has to find each group's members. */
function richRecords(): { network: ControllerRecord; members: ControllerRecord[] } {
  const network = JSON.parse(richFile('network.json')) as ControllerRecord;
  const members = ['member-1233366eb5.json', 'member-89fafc907b.json', 'member-64a5e01ea0.json'].map((name) => {
    const m = JSON.parse(richFile(name)) as ControllerRecord;
    if (m.address !== '1233366eb5') m.ipAssignments = [];
    m.activeBridge = false;
    return m;
  });
  return { network, members };
}

// ---- Frames: just enough IP for the rules engine and the NDP emulation to read.

function ipv4(src: string, dst: string, protocol: number, upper: Buffer): Buffer {
  const header = Buffer.alloc(20);
  header[0] = 0x45;
  header.writeUInt16BE(20 + upper.length, 2);
  header[8] = 64;
  header[9] = protocol;
  Buffer.from(src.split('.').map(Number)).copy(header, 12);
  Buffer.from(dst.split('.').map(Number)).copy(header, 16);
  return Buffer.concat([header, upper]);
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const words = (s: string | undefined) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const front = words(head), back = words(tail);
  const all = [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

function ipv6(src: Buffer, dst: Buffer, next: number, upper: Buffer): Buffer {
  const header = Buffer.alloc(40);
  header[0] = 0x60;
  header.writeUInt16BE(upper.length, 4);
  header[6] = next;
  header[7] = 255;
  src.copy(header, 8);
  dst.copy(header, 24);
  return Buffer.concat([header, upper]);
}

function transport(srcPort: number, dstPort: number, tcp: boolean): Buffer {
  const b = Buffer.alloc(tcp ? 20 : 8);
  b.writeUInt16BE(srcPort, 0);
  b.writeUInt16BE(dstPort, 2);
  if (tcp) (b[12] = 0x50), (b[13] = 0x02); // SYN
  return b;
}

function icmpEcho(dataLength: number): Buffer {
  const b = Buffer.alloc(8 + dataLength, 0xab);
  b[0] = 8;
  return b;
}

function arpRequest(senderMac: string, senderIp: string, targetIp: string): Buffer {
  const p = Buffer.alloc(28);
  p.writeUInt16BE(1, 0);
  p.writeUInt16BE(IPV4, 2);
  (p[4] = 6), (p[5] = 4);
  p.writeUInt16BE(1, 6);
  Buffer.from(senderMac, 'hex').copy(p, 8);
  Buffer.from(senderIp.split('.').map(Number)).copy(p, 14);
  Buffer.from(targetIp.split('.').map(Number)).copy(p, 24);
  return p;
}

// ---- The lab

let ctl: LiveHost;
let store: DirControllerStore;
let members: Member[];
let planet: Buffer;

const macOf = (m: Member) => m.host.node.networkConfig(NWID)!.mac.replaceAll(':', '');
const configOf = (m: Member) => m.host.node.networkConfig(NWID)!;
const addressesOf = (m: Member, test: (ip: string) => boolean) =>
  configOf(m).assignedAddresses.filter((a) => test(a)).map((a) => a.split('/')[0]!);
const ipv4Of = (m: Member) => addressesOf(m, (a) => a.includes('.'))[0]!;

function send(from: Member, dst: string, etherType: number, payload: Buffer): void {
  from.host.run((node, now) => node.processVirtualNetworkFrame(now, NWID, macOf(from), dst, etherType, payload));
}

function framesFrom(to: Member, from: Member, etherType: number): Frame[] {
  const mac = macOf(from);
  return to.frames.filter((f) => f.src === mac && f.etherType === etherType);
}

/** Sends every 100 ms until arrived() holds, up to 5 s: a first frame may wait for credentials
 * to be exchanged, a first multicast for the group's members to be gathered. */
async function repeat(what: string, sendOnce: () => void, arrived: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!arrived()) {
    if (Date.now() > end) throw new Error(`${what} never arrived`);
    sendOnce();
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function deliver(from: Member, to: Member, etherType: number, payload: Buffer): Promise<void> {
  const before = framesFrom(to, from, etherType).length;
  await repeat(
    `frame ${etherType.toString(16)} from ${from.host.node.address}`,
    () => send(from, macOf(to), etherType, payload),
    () => framesFrom(to, from, etherType).length > before,
  );
}

/** Sends a few times over a second and returns how many arrived (for frames the rules must drop). */
async function attempts(from: Member, to: Member, etherType: number, payload: Buffer, times = 5): Promise<number> {
  const before = framesFrom(to, from, etherType).length;
  for (let i = 0; i < times; i++) {
    send(from, macOf(to), etherType, payload);
    await new Promise((r) => setTimeout(r, 200));
  }
  return framesFrom(to, from, etherType).length - before;
}

/** The controller node; a restart keeps its state directory and UDP port, as a service would. */
async function startController(previous?: LiveHost): Promise<LiveHost> {
  const host = await leaf(planet, 'ctl', {
    secret: richFile('ctl.identity.secret'),
    store: previous?.store,
    host: { port: previous?.port },
  });
  host.node.runController(store);
  return host;
}

async function member(name: string): Promise<Member> {
  const m: Member = { host: undefined as unknown as LiveHost, frames: [], configs: [] };
  m.host = await leaf(planet, name, {
    secret: richFile(`${name}.identity.secret`),
    host: {
      onFrame: (_nwid, src, dst, etherType, payload) => m.frames.push({ src, dst, etherType, payload }),
      onNetworkConfig: (_nwid, _op, config) => m.configs.push(config),
    },
  });
  return m;
}

function authorize(m: Member, authorized: boolean): void {
  ctl.run((node, now) => node.setMember(now, { nwid: NWID, id: m.host.node.address, authorized }));
}

async function joinAll(list: Member[], status: VirtualNetworkConfig['status'] = 'OK'): Promise<void> {
  for (const m of list) m.host.run((node, now) => node.join(now, NWID));
  await until(`members ${status}`, () => list.every((m) => m.host.node.networkConfig(NWID)?.status === status), 15_000);
  if (status === 'OK') for (const m of list) subscribeResolutionGroups(m);
}

/** What a TAP's host does from the kernel's memberships: the ARP group (broadcast, ADI = the IPv4)
 * of each assigned IPv4 and the solicited-node group of each assigned IPv6. */
function subscribeResolutionGroups(m: Member): void {
  for (const address of configOf(m).assignedAddresses) {
    const ip = address.split('/')[0]!;
    m.host.run((node, now) => {
      if (ip.includes('.')) node.multicastSubscribe(now, NWID, BROADCAST, ip.split('.').reduce((a, b) => a * 256 + Number(b), 0));
      else node.multicastSubscribe(now, NWID, `3333ff${ipv6Bytes(ip).subarray(13).toString('hex')}`);
    });
  }
}

beforeEach(async () => {
  ({ planet } = await rootAndPlanet());
  store = new DirControllerStore(scratchDir('controller'));
  const records = richRecords();
  store.save({ kind: 'network', record: records.network });
  for (const m of records.members) store.save({ kind: 'member', record: m });
  ctl = await startController();
  members = [await member('m1'), await member('m2'), await member('m3')];
  await until('all online', () => [ctl, ...members.map((m) => m.host)].every((h) => h.node.status().online));
});

afterEach(cleanUp);

describe('VL2 live over UDP on 127.0.0.1', () => {
  it('authorises members, assigns pool addresses and carries IPv4, IPv6, ARP and broadcast frames', async () => {
    const [m1, m2, m3] = members as [Member, Member, Member];
    authorize(m3, true);
    await joinAll([m1, m2, m3]);
    for (const m of [m2, m3]) {
      const v4 = ipv4Of(m).split('.').map(Number);
      expect(v4.slice(0, 3)).toEqual([198, 19, 1]);
      expect(v4[3]).toBeGreaterThanOrEqual(10);
      expect(v4[3]).toBeLessThanOrEqual(20);
      expect(addressesOf(m, (a) => a.startsWith('fd00:1234::'))).toHaveLength(1);
    }
    expect(ipv4Of(m1)).toBe('198.19.1.5'); // its static assignment
    expect(new Set(members.map(ipv4Of)).size).toBe(3);
    for (const m of members) {
      expect(configOf(m).name).toBe('rich-renamed');
      expect(configOf(m).mtu).toBe(2800);
      expect(addressesOf(m, (a) => a.endsWith('/88') && a.startsWith('fd'))).toHaveLength(1); // RFC 4193
      expect(addressesOf(m, (a) => a.endsWith('/40') && a.startsWith('fc'))).toHaveLength(1); // 6PLANE
      expect(m.configs.at(-1)?.status).toBe('OK'); // what virtualNetworkConfig reported last
    }
    const recorded = store.load().members.find((r) => r.id === m2.host.node.address)!;
    expect(recorded.ipAssignments).toContain(ipv4Of(m2)); // the pick is persisted

    const payload = ipv4(ipv4Of(m1), ipv4Of(m2), 1, icmpEcho(64));
    await deliver(m1, m2, IPV4, payload);
    const got = framesFrom(m2, m1, IPV4).at(-1)!;
    expect(got.dst).toBe(macOf(m2));
    expect(got.payload).toEqual(payload);
    const v6src = ipv6Bytes(addressesOf(m1, (a) => a.startsWith('fd00:1234'))[0]!);
    const v6dst = ipv6Bytes(addressesOf(m2, (a) => a.startsWith('fd00:1234'))[0]!);
    await deliver(m1, m2, IPV6, ipv6(v6src, v6dst, 17, transport(5000, 5001, false)));

    // ARP: a request goes to the group of its target address, so only the target gets it. The
    // askers suit the rules: m1 (tag 1) and m3 (tag 4) differ by more than 2, so the tag rule drops
    // whatever one of them sends the other (the capture-outcomes case below checks that).
    for (const [asker, target, other] of [[m1, m2, m3], [m2, m3, m1]] as const) {
      const request = arpRequest(macOf(asker), ipv4Of(asker), ipv4Of(target));
      await repeat(
        `ARP request for ${target.host.node.address}`,
        () => send(asker, BROADCAST, ARP, request),
        () => framesFrom(target, asker, ARP).length > 0,
      );
      expect(framesFrom(target, asker, ARP)[0]!.payload).toEqual(request);
      expect(framesFrom(other, asker, ARP).filter((f) => f.payload.equals(request))).toHaveLength(0);
    }
    // A plain broadcast from m2 reaches both other members (the tag rule lets m2's frames through).
    const broadcast = ipv4(ipv4Of(m2), '198.19.1.255', 17, transport(5000, 5000, false));
    await repeat(
      'broadcast',
      () => send(m2, BROADCAST, IPV4, broadcast),
      () => [m1, m3].every((m) => framesFrom(m, m2, IPV4).some((f) => f.dst === BROADCAST)),
    );
  });

  it('answers neighbour solicitations for RFC 4193 and 6PLANE addresses', async () => {
    const [m1, m2] = members as [Member, Member];
    await joinAll([m1, m2]);
    for (const prefix of ['fd', 'fc']) {
      const mine = ipv6Bytes(addressesOf(m1, (a) => a.startsWith(prefix) && !a.startsWith('fd00:1234'))[0]!);
      const target = ipv6Bytes(addressesOf(m2, (a) => a.startsWith(prefix) && !a.startsWith('fd00:1234'))[0]!);
      const solicitation = Buffer.alloc(24);
      solicitation[0] = 135;
      target.copy(solicitation, 8);
      const solicited = Buffer.from('ff0200000000000000000001ff000000', 'hex');
      target.copy(solicited, 13, 13);
      const groupMac = `3333${solicited.subarray(12).toString('hex')}`;
      const before = m1.frames.length;
      send(m1, groupMac, IPV6, ipv6(mine, solicited, 58, solicitation));
      await until(`neighbour advertisement for ${prefix}`, () => m1.frames.length > before);
      const na = m1.frames.at(-1)!;
      expect(na.src).toBe(macOf(m2));
      expect(na.dst).toBe(macOf(m1));
      expect(na.payload[40]).toBe(136);
      expect(na.payload.subarray(48, 64)).toEqual(target);
    }
  });

  it("holds the rich capture's outcomes: capability, dropped port, tag difference and TEE copies", async () => {
    const [m1, m2, m3] = members as [Member, Member, Member];
    authorize(m3, true);
    await joinAll([m1, m2, m3]);
    const tcp22 = (a: Member, b: Member) => ipv4(ipv4Of(a), ipv4Of(b), 6, transport(40000, 22, true));
    await deliver(m1, m2, IPV4, tcp22(m1, m2)); // m1 holds capability 1000
    expect(await attempts(m2, m1, IPV4, tcp22(m2, m1))).toBe(0); // m2 has none
    expect(await attempts(m1, m2, IPV4, ipv4(ipv4Of(m1), ipv4Of(m2), 17, transport(5000, 9995, false)))).toBe(0);
    await deliver(m1, m2, IPV4, ipv4(ipv4Of(m1), ipv4Of(m2), 17, transport(5000, 5000, false)));
    // Tags: m3 (4) reaches m2 (3) but not m1 (1).
    await deliver(m3, m2, IPV4, ipv4(ipv4Of(m3), ipv4Of(m2), 1, icmpEcho(16)));
    expect(await attempts(m3, m1, IPV4, ipv4(ipv4Of(m3), ipv4Of(m1), 1, icmpEcho(16)))).toBe(0);
    // TEE: echo requests m1→m2 are copied to m3 (cut to 128 bytes). With tag 4, m3's own inbound
    // rules drop m1's copy; with tag 2 it takes the copies of both ends.
    const echo = ipv4(ipv4Of(m1), ipv4Of(m2), 1, icmpEcho(300));
    const copies = () => m3.frames.filter((f) => f.src === macOf(m1) && f.dst === macOf(m2));
    await repeat('a TEE copy from m2', () => send(m1, macOf(m2), IPV4, echo), () => copies().length > 0);
    expect(await attempts(m1, m2, IPV4, echo)).toBe(5);
    const perEcho = copies().length; // m2's copies only: m1's are dropped by m3's tag rule
    ctl.run((node, now) => node.setMember(now, { nwid: NWID, id: m3.host.node.address, tags: [[100, 2]] }));
    await repeat('both TEE copies', () => send(m1, macOf(m2), IPV4, echo), () => copies().length >= perEcho + 2 * 3);
    for (const copy of copies()) expect(copy.payload.length).toBe(128);
  });

  it('denies a member that was never authorised and carries no frame from it', async () => {
    const [m1, , m3] = members as [Member, Member, Member];
    await joinAll([m1]);
    await joinAll([m3], 'ACCESS_DENIED');
    expect(m3.configs.at(-1)?.status).toBe('ACCESS_DENIED');
    m3.host.run((node, now) => node.processVirtualNetworkFrame(now, NWID, macOf(m3), macOf(m1), IPV4, Buffer.alloc(40, 1)));
    await new Promise((r) => setTimeout(r, 1000));
    expect(m1.frames).toHaveLength(0);
  });

  it('cuts a deauthorised member off within 10 seconds', async () => {
    const [, m2, m3] = members as [Member, Member, Member];
    authorize(m3, true);
    await joinAll([m2, m3]);
    const ping = ipv4(ipv4Of(m3), ipv4Of(m2), 1, icmpEcho(16));
    await deliver(m3, m2, IPV4, ping);
    const deauthorisedAt = Date.now();
    authorize(m3, false);
    // m3 keeps sending as the revocation spreads; 10 s on, nothing of it may arrive any more.
    while (Date.now() - deauthorisedAt < 10_000) {
      send(m3, macOf(m2), IPV4, ping);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await attempts(m3, m2, IPV4, ping)).toBe(0);
    expect(configOf(m2).status).toBe('OK');
  });

  it('loses no member and no address when the controller restarts on the same store', async () => {
    const [m1, m2] = members as [Member, Member];
    await joinAll([m1, m2]);
    const before = members.slice(0, 2).map((m) => configOf(m).assignedAddresses);
    ctl.close();
    ctl = await startController(ctl);
    await until('controller online again', () => ctl.node.status().online);
    expect(ctl.node.members(Date.now(), NWID).filter((s) => s.authorized).map((s) => s.address).sort()).toEqual(
      [m1, m2].map((m) => m.host.node.address).sort(),
    );
    for (const m of [m1, m2]) {
      m.configs.length = 0;
      m.host.run((node, now) => node.leave(now, NWID));
    }
    await joinAll([m1, m2]);
    expect([m1, m2].map((m) => configOf(m).assignedAddresses)).toEqual(before);
    await deliver(m1, m2, IPV4, ipv4(ipv4Of(m1), ipv4Of(m2), 1, icmpEcho(8)));
  });
});
