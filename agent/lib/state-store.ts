// Where a node keeps its state objects (identity, planet, moons, peers, network configs). The
// data plane reads everything once before the node starts (the engine reads state synchronously)
// and writes each change through, in order. Implementations: DirStateStore (a directory, for
// `ztkube node` and the demo) and the Kubernetes Secret store (agent/dataplane).
import type { StateId, StateObjectType } from './node.js';

export interface StateEntry {
  type: StateObjectType;
  id: StateId;
  data: Buffer;
}

export interface NodeStateStore {
  /** Every stored object. */
  load(): Promise<StateEntry[]>;
  /** Writes one object; data null deletes it. */
  put(type: StateObjectType, id: StateId, data: Buffer | null): Promise<void> | void;
}
