// DirStateStore: one file per object, replaced atomically, deleted by a null put.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirStateStore } from '../../agent/lib/dir-store.js';
import { StateObjectType, type StateId } from '../../agent/lib/node.js';

const ZERO: StateId = ['0000000000000000', '0000000000000000'];
const MOON: StateId = ['000000000000abcd', '0000000000000000'];
const dirs: string[] = [];

function store(): DirStateStore {
  const dir = mkdtempSync(join(tmpdir(), 'ztkube-store-'));
  dirs.push(dir);
  return new DirStateStore(dir);
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('DirStateStore', () => {
  it('stores, replaces, lists and deletes objects, leaving no temporary files', () => {
    const s = store();
    expect(s.get(StateObjectType.Planet, ZERO)).toBeNull();
    s.put(StateObjectType.Planet, ZERO, Buffer.from('one'));
    s.put(StateObjectType.Planet, ZERO, Buffer.from('two'));
    s.put(StateObjectType.Moon, MOON, Buffer.from('moon'));
    expect(s.get(StateObjectType.Planet, ZERO)?.toString()).toBe('two');
    expect(s.list(StateObjectType.Moon)).toEqual([MOON]);
    expect(readdirSync(s.dir).sort()).toEqual([`3-${ZERO[0]}-${ZERO[1]}`, `4-${MOON[0]}-${MOON[1]}`]);
    s.put(StateObjectType.Moon, MOON, null);
    s.put(StateObjectType.Moon, MOON, null);
    expect(s.get(StateObjectType.Moon, MOON)).toBeNull();
    expect(s.list(StateObjectType.Moon)).toEqual([]);
  });

  it('ignores a temporary file a crash left behind', () => {
    const s = store();
    writeFileSync(join(s.dir, `.4-${MOON[0]}-${MOON[1]}.123.0.tmp`), 'half');
    expect(s.list(StateObjectType.Moon)).toEqual([]);
    expect(s.get(StateObjectType.Moon, MOON)).toBeNull();
  });

  it('loads every object it holds, skipping foreign and temporary files', async () => {
    const s = store();
    s.put(StateObjectType.Planet, ZERO, Buffer.from('planet'));
    s.put(StateObjectType.Moon, MOON, Buffer.from('moon'));
    writeFileSync(join(s.dir, 'README'), 'not an object');
    writeFileSync(join(s.dir, '.3-0000000000000000-0000000000000000.1.0.tmp'), 'half');
    const loaded = (await s.load()).map((e) => [e.type, e.id.join('-'), e.data.toString()]).sort();
    expect(loaded).toEqual([
      [StateObjectType.Planet, ZERO.join('-'), 'planet'],
      [StateObjectType.Moon, MOON.join('-'), 'moon'],
    ].sort());
  });
});
