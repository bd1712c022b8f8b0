// Every authenticated packet of both captures, decoded with the receiver's secret and the sender's
// public identity; fragmented packets from their separate fragment datagrams.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodePacket } from '../../agent/lib/native.js';
import { cli, vectorPath } from '../helpers.js';

interface CaptureRecord {
  kind: 'packet' | 'fragment' | 'short';
  wire: string;
  packetId?: string;
  destination?: string;
  source?: string;
  fragmented?: boolean;
  authenticated?: boolean;
  verb?: number;
  plaintextHex?: string;
  reassembledHex?: string;
}

interface Capture {
  name: string;
  packets: CaptureRecord[];
  fragments: Map<string, string[]>;
  secret: Map<string, string>;
  public: Map<string, string>;
}

function loadCapture(name: string): Capture {
  const dir = vectorPath(name);
  const records = readFileSync(`${dir}/session.jsonl`, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CaptureRecord);
  const fragments = new Map<string, string[]>();
  for (const r of records.filter((r) => r.kind === 'fragment'))
    fragments.set(r.packetId!, [...(fragments.get(r.packetId!) ?? []), r.wire]);
  const capture: Capture = { name, packets: [], fragments, secret: new Map(), public: new Map() };
  capture.packets = records.filter((r) => r.kind === 'packet' && r.authenticated);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.identity.secret'))) {
    const secret = readFileSync(`${dir}/${file}`, 'utf8').trim();
    const address = secret.slice(0, 10);
    capture.secret.set(address, secret);
    capture.public.set(address, readFileSync(`${dir}/${file.replace(/secret$/, 'public')}`, 'utf8').trim());
  }
  return capture;
}

const captures = ['session', 'rich'].filter((name) => existsSync(vectorPath(name, 'session.jsonl'))).map(loadCapture);

function datagrams(capture: Capture, packet: CaptureRecord): string[] {
  return [packet.wire, ...(packet.fragmented ? (capture.fragments.get(packet.packetId!) ?? []) : [])];
}

describe.each(captures)('$name capture', (capture) => {
  it('has authenticated packets and the fragments of every fragmented one', () => {
    expect(capture.packets.length).toBeGreaterThan(0);
    for (const p of capture.packets.filter((p) => p.fragmented)) expect(capture.fragments.get(p.packetId!)).toBeDefined();
  });

  it('decodes every authenticated packet in-process to 1.14\'s verb and plaintext', () => {
    const wrong: string[] = [];
    for (const p of capture.packets) {
      const got = decodePacket(
        capture.secret.get(p.destination!)!,
        capture.public.get(p.source!)!,
        datagrams(capture, p).map((hex) => Buffer.from(hex, 'hex')),
      );
      if (!got.authenticated || got.verb !== p.verb || got.plaintextHex.toLowerCase() !== p.plaintextHex!.toLowerCase())
        wrong.push(`${p.packetId} verb ${p.verb}: authenticated=${got.authenticated} verb=${got.verb}`);
    }
    expect(wrong).toEqual([]);
  });

  it('decodes every fragmented packet also from its reassembled form, one datagram', () => {
    const fragmented = capture.packets.filter((p) => p.fragmented);
    expect(fragmented.length).toBeGreaterThan(0);
    for (const p of fragmented) {
      const got = decodePacket(capture.secret.get(p.destination!)!, capture.public.get(p.source!)!,
        [Buffer.from(p.reassembledHex!, 'hex')]);
      expect(got.authenticated).toBe(true);
      expect(got.plaintextHex.toLowerCase()).toBe(p.plaintextHex!.toLowerCase());
    }
  });

  it('decodes a fragmented and an unfragmented packet through the CLI', () => {
    const sample = [capture.packets.find((p) => p.fragmented), capture.packets.find((p) => !p.fragmented)];
    for (const p of sample.filter((p) => p !== undefined)) {
      const r = cli('packet', 'decode', '--secret', capture.secret.get(p.destination!)!,
        '--peer', capture.public.get(p.source!)!, ...datagrams(capture, p));
      expect(r.status, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout) as { authenticated: boolean; verb: number; plaintextHex: string };
      expect(got.authenticated).toBe(true);
      expect(got.verb).toBe(p.verb);
      expect(got.plaintextHex.toLowerCase()).toBe(p.plaintextHex!.toLowerCase());
    }
  });

  it('reports a packet decoded with the wrong sender as unauthenticated (exit 1)', () => {
    const p = capture.packets.find((p) => !p.fragmented)!;
    const stranger = [...capture.public.keys()].find((a) => a !== p.source && a !== p.destination)!;
    const r = cli('packet', 'decode', '--secret', capture.secret.get(p.destination!)!,
      '--peer', capture.public.get(stranger)!, p.wire);
    expect(r.status).toBe(1);
    expect((JSON.parse(r.stdout) as { authenticated: boolean }).authenticated).toBe(false);
  });
});

describe('packet decode usage', () => {
  it('rejects hex that is not hex with exit 2', () => {
    const [capture] = captures;
    const [address] = capture!.secret.keys();
    const r = cli('packet', 'decode', '--secret', capture!.secret.get(address!)!, '--peer', capture!.public.get(address!)!, 'zz');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^ztkube: .*not hex.*\n$/);
  });
});
