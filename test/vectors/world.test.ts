// `ztkube world show|create` against the lab planet (signed by us in the lab) and the public planet.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, readVectorJson, vectorPath } from '../helpers.js';

interface WorldJson {
  type: string;
  id: number;
  timestamp: number;
  roots: Array<{ identity: string; stableEndpoints: string[] }>;
}

const scratch = mkdtempSync(join(tmpdir(), 'ztkube-world-'));
const labPlanet = readVectorJson<WorldJson>('world', 'lab-planet.json');
const labPlanetBin = readFileSync(vectorPath('world', 'lab-planet.bin'));
const signingKey = vectorPath('world', 'lab-planet-signing-key.json');

describe('world show', () => {
  it.each(['lab-planet', 'public-planet'])('prints the %s binary as its JSON', (name) => {
    const r = cli('world', 'show', vectorPath('world', `${name}.bin`));
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(readVectorJson('world', `${name}.json`));
  });

  it('rejects a truncated world with exit 1', () => {
    const truncated = join(scratch, 'truncated.bin');
    writeFileSync(truncated, labPlanetBin.subarray(0, 100));
    const r = cli('world', 'show', truncated);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^ztkube: .*\n$/);
  });
});

describe('world create', () => {
  const roots = labPlanet.roots.map((r) => ['--root', `${r.identity}=${r.stableEndpoints.join(',')}`]).flat();

  it('reproduces lab-planet.bin byte for byte from its roots, timestamp and signing key', () => {
    const out = join(scratch, 'lab-planet.bin');
    const r = cli('world', 'create', '--id', String(labPlanet.id), '--timestamp', String(labPlanet.timestamp),
      '--type', labPlanet.type, '--signing-key', signingKey, ...roots, '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(out).equals(labPlanetBin)).toBe(true);
  });

  it('reproduces lab-planet.bin from a spec file, with the root given as a secret identity file', () => {
    const out = join(scratch, 'lab-planet-from-spec.bin');
    const spec = join(scratch, 'spec.json');
    writeFileSync(spec, JSON.stringify({ ...labPlanet, roots: [] }));
    const root = labPlanet.roots[0]!;
    const r = cli('world', 'create', '--spec', spec, '--signing-key', signingKey,
      '--root', `${vectorPath('session', 'root.identity.secret')}=${root.stableEndpoints.join(',')}`, '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(out).equals(labPlanetBin)).toBe(true);
  });

  it('exits 2 without a signing key', () => {
    const r = cli('world', 'create', '--id', '1', '--timestamp', '1', ...roots, '--out', join(scratch, 'x.bin'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^ztkube: .*signing-key.*\n$/);
  });
});
