// A ControllerStore in a directory, the way ZeroTier One's controller keeps its records: one JSON
// file per network (network-<nwid>.json) and per member (member-<nwid>-<address>.json), each
// replaced atomically. A record that does not parse stops the load with its file named: a
// controller that silently forgot a member would hand its addresses to someone else.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { recordIdField, type ControllerRecord, type ControllerRecords, type ControllerStore, type ControllerStoreChange } from './node.js';

const networkFile = /^network-([0-9a-f]{16})\.json$/;
const memberFile = /^member-([0-9a-f]{16})-([0-9a-f]{10})\.json$/;

export class DirControllerStore implements ControllerStore {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  load(): ControllerRecords {
    const records: ControllerRecords = { networks: [], members: [] };
    for (const name of readdirSync(this.dir).sort()) {
      if (networkFile.test(name)) records.networks.push(this.#read(name));
      else if (memberFile.test(name)) records.members.push(this.#read(name));
    }
    return records;
  }

  save(change: ControllerStoreChange): void {
    switch (change.kind) {
      case 'network':
        writeFileAtomic(this.#networkPath(recordIdField(change.record, 'id', 'nwid')), JSON.stringify(change.record, null, 2));
        break;
      case 'member':
        writeFileAtomic(
          this.#memberPath(recordIdField(change.record, 'nwid'), recordIdField(change.record, 'id', 'address')),
          JSON.stringify(change.record, null, 2),
        );
        break;
      case 'deleteNetwork':
        rmSync(this.#networkPath(change.networkId), { force: true });
        break;
      case 'deleteMember':
        rmSync(this.#memberPath(change.networkId, change.address), { force: true });
        break;
    }
  }

  #networkPath(networkId: string): string {
    return join(this.dir, `network-${networkId.toLowerCase()}.json`);
  }

  #memberPath(networkId: string, address: string): string {
    return join(this.dir, `member-${networkId.toLowerCase()}-${address.toLowerCase()}.json`);
  }

  #read(name: string): ControllerRecord {
    const file = join(this.dir, name);
    try {
      const record: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new Error('not a JSON object');
      return record as ControllerRecord;
    } catch (e) {
      throw new Error(`controller record ${file}: ${(e as Error).message}`);
    }
  }
}
