// Private mode: the root of ztkube's own planet. Its identity and the planet signing key live in
// the Secret `ztkube-root` (made once); the signed planet is kept there too and re-signed (newer
// timestamp, same key) only when the root's stable endpoints change; it is published in the
// ConfigMap `ztkube-planet` for the agents.
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { IDENTITY_PUBLIC_KEY, IDENTITY_SECRET_KEY, isNotFound, KIND_LABEL, MANAGED_BY, MANAGED_BY_LABEL, PLANET_CONFIGMAP, PLANET_KEY, PRIVATE_PLANET_ID, ROOT_SECRET, ROOT_SERVICE, ZT_PORT } from '../lib/kube.js';
import { createWorld, describeWorld, generateIdentity, identityGetPublic, type WorldSigningKey } from '../lib/native.js';
import { StateObjectType } from '../lib/node.js';
import { ensureSecret, newIdentityData, SecretStateStore, secretValue } from '../lib/secret-state-store.js';

export const SIGNING_KEY = 'planet-signing-key';
export const ROOT_SECRET_TYPE = 'ztkube.io/root';
const ZERO = ['0000000000000000', '0000000000000000'] as const;

export interface Root {
  publicIdentity: string;
  /** The published planet (stable endpoints as given). */
  planet: Buffer;
  /** The same planet re-signed with the root reachable at `localEndpoint`: for a node in the
   * root's own network namespace, which may not reach itself through a ClusterIP (no hairpin). */
  localPlanet: Buffer;
  store: SecretStateStore;
}

/** The planet's stable endpoints: the flags', or the ClusterIP of Service ztkube-root. */
export async function rootEndpoints(api: CoreV1Api, namespace: string, flags: string[]): Promise<string[]> {
  if (flags.length > 0) return flags;
  try {
    const service = await api.readNamespacedService({ namespace, name: ROOT_SERVICE });
    const ip = service.spec?.clusterIP;
    if (!ip || ip === 'None') throw new Error(`Service ${namespace}/${ROOT_SERVICE} has no ClusterIP`);
    return [`${ip}/${ZT_PORT}`];
  } catch (e) {
    if (isNotFound(e)) throw new Error(`no --root-endpoint and no Service ${namespace}/${ROOT_SERVICE} to take the root's address from`);
    throw e;
  }
}

/** The root's identity and planet, made on first use; the planet re-signed if its endpoints changed. */
export async function prepareRoot(
  api: CoreV1Api,
  namespace: string,
  endpoints: string[],
  localEndpoint: string,
  log: Logger,
): Promise<Root> {
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY, [KIND_LABEL]: 'root' };
  // Made whole in one write: identity, signing key and the planet they sign.
  const { secret } = await ensureSecret(api, namespace, ROOT_SECRET, {
    labels,
    type: ROOT_SECRET_TYPE,
    data: async () => {
      const identity = await newIdentityData();
      const key = await newSigningKey();
      const planet = signPlanet(identity[IDENTITY_PUBLIC_KEY]!.toString('utf8'), endpoints, key, Date.now());
      return { ...identity, [SIGNING_KEY]: Buffer.from(JSON.stringify(key)), [PLANET_KEY]: planet };
    },
  });
  const secretIdentity = secretValue(secret, IDENTITY_SECRET_KEY)?.toString('utf8');
  const signingKeyJson = secretValue(secret, SIGNING_KEY)?.toString('utf8');
  if (!secretIdentity || !signingKeyJson) throw new Error(`Secret ${namespace}/${ROOT_SECRET} lacks ${IDENTITY_SECRET_KEY} or ${SIGNING_KEY}`);
  const publicIdentity = identityGetPublic(secretIdentity);
  const signingKey = JSON.parse(signingKeyJson) as WorldSigningKey;

  const store = new SecretStateStore(api, namespace, ROOT_SECRET, { keepPlanet: true, labels, type: ROOT_SECRET_TYPE });
  await store.load();
  let planet = secretValue(secret, PLANET_KEY);
  if (!planet || !sameRoots(planet, publicIdentity, endpoints)) {
    planet = signPlanet(publicIdentity, endpoints, signingKey, Date.now());
    log.info({ root: publicIdentity.slice(0, 10), endpoints }, 'planet re-signed');
    await store.put(StateObjectType.Planet, ZERO, planet);
  }
  const localPlanet = signPlanet(publicIdentity, [localEndpoint], signingKey, describeWorld(planet).timestamp);
  await publishPlanet(api, namespace, planet);
  return { publicIdentity, planet, localPlanet, store };
}

/** An identity's key pair serves as the planet signing key (as in world/lab-planet-signing-key.json). */
async function newSigningKey(): Promise<WorldSigningKey> {
  const [, , publicKeyHex, privateKeyHex] = (await generateIdentity()).split(':');
  return { publicKeyHex: publicKeyHex!, privateKeyHex: privateKeyHex! };
}

function signPlanet(publicIdentity: string, stableEndpoints: string[], key: WorldSigningKey, timestamp: number): Buffer {
  return createWorld({ type: 'planet', id: PRIVATE_PLANET_ID, timestamp, roots: [{ identity: publicIdentity, stableEndpoints }] }, key);
}

function sameRoots(planet: Buffer, publicIdentity: string, endpoints: string[]): boolean {
  const roots = describeWorld(planet).roots;
  return roots.length === 1 && roots[0]!.identity === publicIdentity && roots[0]!.stableEndpoints.join() === endpoints.join();
}

/** ConfigMap ztkube-planet, key planet (binary): written only when it differs. */
async function publishPlanet(api: CoreV1Api, namespace: string, planet: Buffer): Promise<void> {
  const body = {
    metadata: { name: PLANET_CONFIGMAP, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
    binaryData: { [PLANET_KEY]: planet.toString('base64') },
  };
  try {
    const current = await api.readNamespacedConfigMap({ namespace, name: PLANET_CONFIGMAP });
    if (current.binaryData?.[PLANET_KEY] === body.binaryData[PLANET_KEY]) return;
    await api.replaceNamespacedConfigMap({ namespace, name: PLANET_CONFIGMAP, body });
  } catch (e) {
    if (!isNotFound(e)) throw new Error(`publishing ConfigMap ${namespace}/${PLANET_CONFIGMAP}: ${(e as Error).message}`);
    await api.createNamespacedConfigMap({ namespace, body });
  }
}

/** Where a node in the root's own namespace reaches it: loopback for a wildcard or loopback bind. */
export function localRootEndpoint(rootBind: string): string {
  const [ip, port] = rootBind.split('/') as [string, string];
  return ip === '0.0.0.0' || ip.startsWith('127.') ? `127.0.0.1/${port}` : rootBind;
}
