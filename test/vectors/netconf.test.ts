// `ztkube netconf decode` of every recorded network-config dictionary, checked against what the
// member itself reported (listnetworks) and, for the rich network, the controller's rules.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli, readVectorJson, vectorPath } from '../helpers.js';

interface ListedNetwork {
  nwid: string;
  name: string;
  mtu: number;
  netconfRevision: number;
  assignedAddresses: string[];
  routes: Array<{ target: string; via: string | null }>;
}

interface DecodedNetconf {
  networkId: string;
  name: string;
  mtu: number;
  revision: number;
  issuedTo: string;
  assignedAddresses: string[];
  routes: Array<{ target: string; via?: string | null }>;
  rules: Array<{ type: string; not?: boolean; or?: boolean }>;
}

interface Rule { type: string; not?: boolean; or?: boolean }

// One spelling per IP address ("fd00:1234:0::c8" and "fd00:1234::c8" are the same), prefix kept.
function canonical(address: string): string {
  const [ip, bits] = address.split('/');
  const host = ip!.includes(':') ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip!;
  return bits === undefined ? host : `${host}/${bits}`;
}

function ruleShape(rules: Rule[]): Array<[string, boolean, boolean]> {
  return rules.map((r) => [r.type, Boolean(r.not), Boolean(r.or)]);
}

function dictionaries(capture: string) {
  const dir = vectorPath(capture);
  const memberOf = new Map<string, ListedNetwork>();
  for (const file of readdirSync(dir).filter((f) => /^listnetworks-.*\.json$/.test(f))) {
    const node = file.slice('listnetworks-'.length, -'.json'.length);
    const address = readFileSync(`${dir}/${node}.identity.public`, 'utf8').slice(0, 10);
    memberOf.set(address, readVectorJson<ListedNetwork[]>(capture, file)[0]!);
  }
  return readdirSync(dir)
    .filter((f) => f.endsWith('.dict'))
    .sort()
    .map((file) => ({ file, path: `${dir}/${file}`, member: file.split('-')[1]!, listed: memberOf.get(file.split('-')[1]!)! }));
}

// Each dictionary is decoded through the CLI once, however many tests look at it.
const decoded = new Map<string, ReturnType<typeof cli>>();
function decode(path: string) {
  if (!decoded.has(path)) decoded.set(path, cli('netconf', 'decode', path));
  return decoded.get(path)!;
}

const captures = ['session', 'rich'].filter((c) => existsSync(vectorPath(c, 'network.json')));

describe.each(captures)('%s capture netconf', (capture) => {
  const rules = capture === 'rich' ? readVectorJson<{ rules: Rule[] }>(capture, 'network.json').rules : undefined;

  it.each(dictionaries(capture))('$file decodes to the member\'s network', ({ path, member, listed }) => {
    const r = decode(path);
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as DecodedNetconf;
    expect(got.networkId).toBe(listed.nwid);
    expect(got.issuedTo).toBe(member);
    if (rules) expect(ruleShape(got.rules)).toEqual(ruleShape(rules));
    // The member's report shows only its latest revision; older dictionaries carry older values.
    if (got.revision !== listed.netconfRevision) return;
    expect(got.name).toBe(listed.name);
    expect(got.mtu).toBe(listed.mtu);
    expect(got.assignedAddresses.map(canonical).sort()).toEqual(listed.assignedAddresses.map(canonical).sort());
    expect(got.routes.map((rt) => [canonical(rt.target), rt.via ? canonical(rt.via) : null]).sort())
      .toEqual(listed.routes.map((rt) => [canonical(rt.target), rt.via ? canonical(rt.via) : null]).sort());
  });

  it('has a dictionary at the revision each member reported', () => {
    const latest = dictionaries(capture).filter(({ path, listed }) =>
      (JSON.parse(decode(path).stdout) as DecodedNetconf).revision === listed.netconfRevision);
    expect(new Set(latest.map((d) => d.member)).size).toBe(new Set(dictionaries(capture).map((d) => d.member)).size);
  });
});

describe('netconf decode usage', () => {
  it('exits 1 for a missing file and 2 for a missing argument', () => {
    expect(cli('netconf', 'decode', vectorPath('absent.dict')).status).toBe(1);
    expect(cli('netconf', 'decode').status).toBe(2);
  });
});
