// DirControllerStore: one JSON file per network and member record, written through as the
// controller changes them, loaded back in full, and a corrupt record is an error naming its file.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirControllerStore } from '../../agent/lib/dir-controller-store.js';

const NWID = '315595f4f8c0ffee';
const dirs: string[] = [];

function store(): DirControllerStore {
  const dir = mkdtempSync(join(tmpdir(), 'ztkube-records-'));
  dirs.push(dir);
  return new DirControllerStore(dir);
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('DirControllerStore', () => {
  it('keeps networks and members across instances and forgets deleted ones', () => {
    const s = store();
    s.save({ kind: 'network', record: { id: NWID, nwid: NWID, name: 'one' } });
    s.save({ kind: 'network', record: { id: NWID, nwid: NWID, name: 'two' } });
    s.save({ kind: 'member', record: { nwid: NWID, id: '1233366eb5', authorized: true } });
    s.save({ kind: 'member', record: { nwid: NWID, id: '89fafc907b', authorized: false } });
    s.save({ kind: 'deleteMember', networkId: NWID, address: '89fafc907b' });
    const again = new DirControllerStore(s.dir);
    expect(again.load()).toEqual({
      networks: [{ id: NWID, nwid: NWID, name: 'two' }],
      members: [{ nwid: NWID, id: '1233366eb5', authorized: true }],
    });
    again.save({ kind: 'deleteNetwork', networkId: NWID });
    expect(again.load().networks).toEqual([]);
    expect(readdirSync(s.dir).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('refuses a record it cannot parse, naming the file, and a record without ids', () => {
    const s = store();
    writeFileSync(join(s.dir, `network-${NWID}.json`), '{ not json');
    expect(() => s.load()).toThrow(new RegExp(`network-${NWID}\\.json`));
    expect(() => s.save({ kind: 'member', record: { id: '1233366eb5' } })).toThrow(/without nwid/);
  });
});
