// A NodeStateStore in memory: for nodes whose only durable state (the identity) is kept
// elsewhere, so the rest (peers, cached network configs) lives as long as the process.
import type { StateId, StateObjectType } from './node.js';
import type { NodeStateStore, StateEntry } from './state-store.js';

export class MemoryStateStore implements NodeStateStore {
  readonly #objects = new Map<string, StateEntry>();

  constructor(initial: StateEntry[] = []) {
    for (const entry of initial) this.put(entry.type, entry.id, entry.data);
  }

  async load(): Promise<StateEntry[]> {
    return [...this.#objects.values()];
  }

  put(type: StateObjectType, id: StateId, data: Buffer | null): void {
    const key = `${type}:${id[0]}:${id[1]}`;
    if (data === null) this.#objects.delete(key);
    else this.#objects.set(key, { type, id, data });
  }
}
