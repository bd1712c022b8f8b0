// A whole ZeroTier deployment on one machine, in one process: an Underlay of network namespaces,
// one Dataplane, a root serving a private planet (signed with a fresh key), a controller running a
// ZeroTierNetwork, and pods that join it and get TAPs with their addresses. The demo, the
// end-to-end tests and the data-plane benchmark all run on it.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Dataplane, type AttachedPod, type PodNetwork } from '../dataplane/dataplane.js';
import { DirControllerStore } from '../lib/dir-controller-store.js';
import { DirStateStore } from '../lib/dir-store.js';
import { PRIVATE_PLANET_ID } from '../lib/kube.js';
import { createWorld, identityGenerate } from '../lib/native.js';
import { managedNetworkId, managedNetworkRecord, memberRecord, type ZeroTierNetwork } from '../lib/network-spec.js';
import { StateObjectType, type StateId } from '../lib/node.js';
import { Underlay, type PodNamespace } from './underlay.js';

const ZERO: StateId = ['0000000000000000', '0000000000000000'];
const ZT_PORT = 9993;

export interface LocalPod {
  name: string;
  key: string;
  namespace: PodNamespace;
  store: DirStateStore;
  attached: AttachedPod;
}

export interface LocalNetworkOptions {
  /** Names every namespace of this run (keep it short and unique). */
  prefix: string;
  network: ZeroTierNetwork;
  /** Where every node keeps its state (a directory per node). */
  stateDir: string;
  logger: Logger;
  threads?: number;
}

export class LocalNetwork {
  readonly pods: LocalPod[] = [];
  networkId = '';
  #planet: Buffer = Buffer.alloc(0);
  #controllerKey = '';

  private constructor(
    readonly options: LocalNetworkOptions,
    readonly underlay: Underlay,
    readonly dataplane: Dataplane,
  ) {}

  /** Underlay, root and controller (the network applied); pods come with addPod. */
  static async start(options: LocalNetworkOptions): Promise<LocalNetwork> {
    const underlay = Underlay.create(options.prefix);
    const net = new LocalNetwork(options, underlay, new Dataplane({ threads: options.threads ?? 2, logger: options.logger }));
    try {
      await net.#startRootAndController();
    } catch (e) {
      await net.close();
      throw e;
    }
    return net;
  }

  async #startRootAndController(): Promise<void> {
    const rootNs = this.underlay.addPod('root');
    // A restart over the same state directory keeps the root, the planet and so every address.
    const rootStore = new DirStateStore(join(this.options.stateDir, 'root'));
    const saved = rootStore.get(StateObjectType.Planet, ZERO);
    if (saved && rootStore.get(StateObjectType.IdentitySecret, ZERO)) {
      this.#planet = saved;
    } else {
      const rootSecret = identityGenerate();
      const [, , publicKeyHex, privateKeyHex] = identityGenerate().split(':');
      this.#planet = createWorld(
        {
          type: 'planet',
          id: PRIVATE_PLANET_ID,
          timestamp: Date.now(),
          roots: [{ identity: rootSecret.split(':').slice(0, 3).join(':'), stableEndpoints: [`${rootNs.ip}/${ZT_PORT}`] }],
        },
        { publicKeyHex: publicKeyHex!, privateKeyHex: privateKeyHex! },
      );
      rootStore.put(StateObjectType.IdentitySecret, ZERO, Buffer.from(rootSecret));
      rootStore.put(StateObjectType.Planet, ZERO, this.#planet);
    }
    await this.dataplane.attach({ key: 'infra/root', netns: rootNs.path, bind: `${rootNs.ip}/${ZT_PORT}`, store: rootStore, rootMode: true });

    const ctlNs = this.underlay.addPod('ctl');
    this.#controllerKey = 'infra/controller';
    const controller = await this.dataplane.attach({
      key: this.#controllerKey,
      netns: ctlNs.path,
      bind: `${ctlNs.ip}/${ZT_PORT}`,
      store: this.#store('controller'),
      controller: new DirControllerStore(join(this.options.stateDir, 'controller-records')),
    });
    this.networkId = managedNetworkId(controller.address, this.options.network);
    await this.dataplane.setNetwork(this.#controllerKey, managedNetworkRecord(this.networkId, this.options.network));
  }

  /** A pod namespace whose node joins the network and is authorised by the controller. */
  async addPod(name: string): Promise<LocalPod> {
    const namespace = this.underlay.addPod(name);
    const key = `default/${name}`;
    const store = this.#store(name);
    const attached = await this.dataplane.attach({
      key,
      netns: namespace.path,
      bind: `${namespace.ip}/${ZT_PORT}`,
      networks: [this.networkId],
      store,
    });
    await this.dataplane.setMember(this.#controllerKey, memberRecord(this.networkId, attached.address, true));
    const pod = { name, key, namespace, store, attached };
    this.pods.push(pod);
    return pod;
  }

  /** The pod's network as last applied to its TAP, if any. */
  networkOf(pod: LocalPod): PodNetwork | undefined {
    return this.dataplane.networks(pod.key).find((n) => n.networkId === this.networkId);
  }

  /** Resolves when every pod's TAP is configured with status OK and at least one address. */
  async ready(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const waiting = this.pods.filter((p) => {
        const n = this.networkOf(p);
        return !n || n.config.status !== 'OK' || !n.interfaceName || n.config.assignedAddresses.length === 0;
      });
      if (waiting.length === 0) return;
      const failed = this.pods.map((p) => this.networkOf(p)).find((n) => n?.applyError);
      if (failed) throw new Error(`network ${this.networkId}: ${failed.applyError}`);
      if (Date.now() > end)
        throw new Error(`pods not on network ${this.networkId} within ${timeoutMs / 1000} s: ${waiting.map((p) => p.name).join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops every node, then removes the namespaces (nothing is left behind). */
  async close(): Promise<void> {
    try {
      await this.dataplane.close();
    } finally {
      this.underlay.destroy();
    }
  }

  #store(name: string): DirStateStore {
    const store = new DirStateStore(join(this.options.stateDir, name));
    store.put(StateObjectType.Planet, ZERO, this.#planet);
    return store;
  }
}
