// A ZeroTierNode state store in a directory: one file per object, named <type>-<id0>-<id1>.
// Writes go to a temporary file that is then renamed over the object, so a crash leaves either
// the old or the new object, never half of one.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StateId, StateObjectType } from './node.js';

const objectName = /^(\d+)-([0-9a-fA-F]{16})-([0-9a-fA-F]{16})$/;

export class DirStateStore {
  #temporaries = 0;

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
    // A dot name never matches objectName, so list() skips a temporary left by a crash.
    const temporary = join(this.dir, `.${type}-${id[0]}-${id[1]}.${process.pid}.${this.#temporaries++}.tmp`);
    try {
      writeFileSync(temporary, data);
      renameSync(temporary, file);
    } catch (e) {
      rmSync(temporary, { force: true });
      throw e;
    }
  }

  list(type: StateObjectType): StateId[] {
    const ids: StateId[] = [];
    for (const name of readdirSync(this.dir)) {
      const match = objectName.exec(name);
      if (match && match[1] === String(type)) ids.push([match[2]!, match[3]!]);
    }
    return ids;
  }
}
