// A ZeroTierNode state store in a directory: one file per object, named <type>-<id0>-<id1>,
// each replaced atomically.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import type { StateId, StateObjectType } from './node.js';
import type { NodeStateStore, StateEntry } from './state-store.js';

const objectName = /^(\d+)-([0-9a-fA-F]{16})-([0-9a-fA-F]{16})$/;

export class DirStateStore implements NodeStateStore {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  file(type: StateObjectType, id: StateId): string {
    return join(this.dir, `${type}-${id[0]}-${id[1]}`);
  }

  get(type: StateObjectType, id: StateId): Buffer | null {
    try {
      return readFileSync(this.file(type, id));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  /** data null deletes the object. */
  put(type: StateObjectType, id: StateId, data: Buffer | null): void {
    const file = this.file(type, id);
    if (!data) {
      rmSync(file, { force: true });
      return;
    }
    writeFileAtomic(file, data);
  }

  list(type: StateObjectType): StateId[] {
    const ids: StateId[] = [];
    for (const name of readdirSync(this.dir)) {
      const match = objectName.exec(name);
      if (match && match[1] === String(type)) ids.push([match[2]!, match[3]!]);
    }
    return ids;
  }

  async load(): Promise<StateEntry[]> {
    const entries: StateEntry[] = [];
    for (const name of readdirSync(this.dir)) {
      const match = objectName.exec(name);
      if (!match) continue;
      const type = Number(match[1]) as StateObjectType;
      const id: StateId = [match[2]!, match[3]!];
      entries.push({ type, id, data: readFileSync(join(this.dir, name)) });
    }
    return entries;
  }
}
