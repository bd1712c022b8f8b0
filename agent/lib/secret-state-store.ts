// A NodeStateStore in a Kubernetes Secret that persists only a node's identity (and, for a root,
// its planet): everything else a node writes (peers, cached network configs) is rebuilt from the
// root and the controller within a second, and writing it would cost API writes. Writes of
// unchanged data are skipped, so a node that re-saves its identity at start costs nothing. The
// Secret is created on the first write; later writes merge-patch only the keys they change, so
// keys others keep in the same Secret (the root's planet signing key) survive.
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { generateIdentity, identityGetPublic } from './native.js';
import { IDENTITY_PUBLIC_KEY, IDENTITY_SECRET_KEY, IDENTITY_SECRET_TYPE, isConflict, isNotFound, mergePatch, PLANET_KEY } from './kube.js';
import { StateObjectType, type StateId } from './node.js';
import type { NodeStateStore, StateEntry } from './state-store.js';

const ZERO: StateId = ['0000000000000000', '0000000000000000'];

export interface SecretStateStoreOptions {
  /** Labels of the Secret when this store creates it. */
  labels?: Record<string, string>;
  /** Type of the Secret when this store creates it (default ztkube.io/identity). */
  type?: string;
  /** Persist the planet too (a root's store); otherwise planet writes are ignored. */
  keepPlanet?: boolean;
  /** A planet every load() returns (the published one), unless the Secret keeps its own. */
  planet?: Buffer;
}

/** The Secret key each persisted state type lives under. */
function keyOf(type: StateObjectType, keepPlanet: boolean): string | undefined {
  if (type === StateObjectType.IdentitySecret) return IDENTITY_SECRET_KEY;
  if (type === StateObjectType.IdentityPublic) return IDENTITY_PUBLIC_KEY;
  if (type === StateObjectType.Planet && keepPlanet) return PLANET_KEY;
  return undefined;
}

/** The Secret, or undefined when it does not exist. */
export async function readSecret(api: CoreV1Api, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await api.readNamespacedSecret({ namespace, name });
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw new Error(`reading Secret ${namespace}/${name}: ${(e as Error).message}`);
  }
}

type SecretData = Record<string, Buffer>;

/** Reads the Secret, or creates it with `data()` (made only when needed; labels may derive from
 * it). A concurrent creator wins: its Secret is returned, `created` false. */
export async function ensureSecret(
  api: CoreV1Api,
  namespace: string,
  name: string,
  options: { labels?: Record<string, string> | ((data: SecretData) => Record<string, string>); type?: string; data: () => Promise<SecretData> },
): Promise<{ secret: V1Secret; created: boolean }> {
  const existing = await readSecret(api, namespace, name);
  if (existing) return { secret: existing, created: false };
  const data = await options.data();
  const labels = typeof options.labels === 'function' ? options.labels(data) : options.labels;
  const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('base64')]));
  try {
    const secret = await api.createNamespacedSecret({
      namespace,
      body: { metadata: { name, labels }, type: options.type ?? IDENTITY_SECRET_TYPE, data: encoded },
    });
    return { secret, created: true };
  } catch (e) {
    if (!isConflict(e)) throw new Error(`creating Secret ${namespace}/${name}: ${(e as Error).message}`);
    const winner = await readSecret(api, namespace, name);
    if (!winner) throw new Error(`Secret ${namespace}/${name} conflicted on create but is gone`);
    return { secret: winner, created: false };
  }
}

/** A secret identity as the Secret keys a SecretStateStore reads (one API write instead of the
 * node's two when it generates its own). */
export function identityData(secret: string): SecretData {
  return { [IDENTITY_SECRET_KEY]: Buffer.from(secret), [IDENTITY_PUBLIC_KEY]: Buffer.from(identityGetPublic(secret)) };
}

/** identityData of a fresh identity; the proof of work runs off the event loop. */
export async function newIdentityData(): Promise<SecretData> {
  return identityData(await generateIdentity());
}

/** The Secret, created with a fresh identity if it does not exist. */
export async function ensureIdentitySecret(
  api: CoreV1Api,
  namespace: string,
  name: string,
  options: { labels?: Record<string, string>; type?: string } = {},
): Promise<{ secret: V1Secret; created: boolean }> {
  return ensureSecret(api, namespace, name, { ...options, data: newIdentityData });
}

/** A key of a Secret's data, decoded. */
export function secretValue(secret: V1Secret | undefined, key: string): Buffer | undefined {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64');
}

export class SecretStateStore implements NodeStateStore {
  readonly #keepPlanet: boolean;
  /** What the Secret holds now (as far as this store wrote or read it); undefined: not loaded. */
  #data: Map<string, Buffer> | undefined;
  #exists = false;

  constructor(
    private readonly api: CoreV1Api,
    readonly namespace: string,
    readonly name: string,
    private readonly options: SecretStateStoreOptions = {},
  ) {
    this.#keepPlanet = options.keepPlanet ?? false;
  }

  async load(): Promise<StateEntry[]> {
    const secret = await readSecret(this.api, this.namespace, this.name);
    this.#exists = secret !== undefined;
    this.#data = new Map(Object.keys(secret?.data ?? {}).map((k) => [k, secretValue(secret, k)!]));
    const entries: StateEntry[] = [];
    const add = (type: StateObjectType, data: Buffer | undefined) => data && entries.push({ type, id: ZERO, data });
    add(StateObjectType.IdentitySecret, this.#data.get(IDENTITY_SECRET_KEY));
    add(StateObjectType.IdentityPublic, this.#data.get(IDENTITY_PUBLIC_KEY));
    add(StateObjectType.Planet, (this.#keepPlanet ? this.#data.get(PLANET_KEY) : undefined) ?? this.options.planet);
    return entries;
  }

  async put(type: StateObjectType, _id: StateId, data: Buffer | null): Promise<void> {
    const key = keyOf(type, this.#keepPlanet);
    if (!key) return;
    this.#data ??= new Map();
    const current = this.#data.get(key);
    if (data === null ? current === undefined : current?.equals(data)) return;
    if (data !== null && !this.#exists) await this.#create(key, data);
    else if (this.#exists) await this.#patch(key, data);
    if (data === null) this.#data.delete(key);
    else this.#data.set(key, data);
  }

  async #patch(key: string, data: Buffer | null): Promise<void> {
    await this.api.patchNamespacedSecret(
      { namespace: this.namespace, name: this.name, body: { data: { [key]: data === null ? null : data.toString('base64') } } },
      mergePatch,
    );
  }

  async #create(key: string, data: Buffer): Promise<void> {
    try {
      await this.api.createNamespacedSecret({
        namespace: this.namespace,
        body: {
          metadata: { name: this.name, labels: this.options.labels },
          type: this.options.type ?? IDENTITY_SECRET_TYPE,
          data: { [key]: data.toString('base64') },
        },
      });
      this.#exists = true;
    } catch (e) {
      // Created meanwhile (load() saw none): write into it.
      if (!isConflict(e)) throw new Error(`creating Secret ${this.namespace}/${this.name}: ${(e as Error).message}`);
      this.#exists = true;
      await this.#patch(key, data);
    }
  }
}
