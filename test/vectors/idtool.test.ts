// `ztkube idtool` against every identity, signature and agreement 1.14 recorded.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, readVectorJson } from '../helpers.js';

interface IdentityVector { address: string; public: string; secret: string; valid: boolean; tamper?: string }
interface SignatureVector { secret?: string; public: string; messageHex: string; signature: string; valid: boolean; tamper?: string }
interface AgreementVector { secretA: string; publicA: string; secretB: string; publicB: string; key: string }

const identities = readVectorJson<{ valid: IdentityVector[]; tampered: IdentityVector[] }>('identities.json');
const signatures = readVectorJson<SignatureVector[]>('signatures.json');
const agreements = readVectorJson<AgreementVector[]>('agreements.json');
const scratch = mkdtempSync(join(tmpdir(), 'ztkube-idtool-'));

// Vectors with their position, for file names and test titles.
function numbered<T>(items: T[], what: string): Array<T & { i: number; label: string }> {
  return items.map((item, i) => ({ ...item, i, label: `${what} ${i}` }));
}

function messageFile(index: number, hex: string): string {
  const path = join(scratch, `message-${index}`);
  writeFileSync(path, Buffer.from(hex, 'hex'));
  return path;
}

describe('idtool validate', () => {
  it.each([...identities.valid, ...identities.tampered])('judges $address ($tamper) as 1.14 did', (id) => {
    expect(cli('idtool', 'validate', id.public).status).toBe(id.valid ? 0 : 1);
  });

  it('reads the identity from a file', () => {
    const path = join(scratch, 'identity.public');
    writeFileSync(path, `${identities.valid[0]!.public}\n`);
    expect(cli('idtool', 'validate', path).status).toBe(0);
  });
});

describe('idtool getpublic', () => {
  it.each(identities.valid)('gives the public form of $address', (id) => {
    const r = cli('idtool', 'getpublic', id.secret);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(id.public);
  });
});

describe('idtool sign and verify', () => {
  it.each(numbered(signatures, 'signature'))('$label (tamper: $tamper) verifies as $valid', (s) => {
    const r = cli('idtool', 'verify', s.public, messageFile(s.i, s.messageHex), s.signature);
    expect(r.status).toBe(s.valid ? 0 : 1);
  });

  it.each(numbered(signatures, 'signature').filter((s) => s.secret))('$label is reproduced by sign', (s) => {
    const r = cli('idtool', 'sign', s.secret!, messageFile(s.i, s.messageHex));
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(s.signature.toLowerCase());
  });
});

describe('idtool agree', () => {
  it.each(numbered(agreements, 'agreement'))('$label gives the same key both ways', (g) => {
    const ab = cli('idtool', 'agree', g.secretA, g.publicB);
    const ba = cli('idtool', 'agree', g.secretB, g.publicA);
    expect(ab.stdout.trim()).toBe(g.key.toLowerCase());
    expect(ba.stdout.trim()).toBe(g.key.toLowerCase());
  });
});

describe('idtool generate', () => {
  it('writes a valid identity whose public file matches getpublic', () => {
    const secretFile = join(scratch, 'new.secret');
    const publicFile = join(scratch, 'new.public');
    expect(cli('idtool', 'generate', secretFile, publicFile).status).toBe(0);
    expect(cli('idtool', 'validate', secretFile).status).toBe(0);
    expect(cli('idtool', 'getpublic', secretFile).stdout).toBe(readFileSync(publicFile, 'utf8'));
  });
});

describe('idtool usage', () => {
  it('exits 2 with a one-line error for a missing argument', () => {
    const r = cli('idtool', 'verify', identities.valid[0]!.public);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^ztkube: .*\n$/);
  });

  it('exits 1 for an unreadable identity file', () => {
    const r = cli('idtool', 'getpublic', join(scratch, 'absent'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^ztkube: cannot read identity file .*\n$/);
  });
});
