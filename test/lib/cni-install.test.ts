// Chaining ztkube-cni into a node's CNI configuration, on real files.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { chainCniPlugin, installCniBinary, unchainCniPlugin } from '../../agent/dataplane/cni-install.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ztkube-cni-install-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const bridge = { type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local', subnet: '10.1.0.0/16' } };
const options = () => ({ confDir: dir, socket: '/run/ztkube/cni.sock' });
const read = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as { plugins: { type: string }[] };

test('appends ztkube-cni to the first list by name, once, and removes it again', () => {
  writeFileSync(join(dir, '10-primary.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'k8s', plugins: [bridge, { type: 'portmap' }] }));
  writeFileSync(join(dir, '20-other.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'other', plugins: [bridge] }));
  expect(chainCniPlugin(options())).toBe(join(dir, '10-primary.conflist'));
  expect(read('10-primary.conflist').plugins).toEqual([bridge, { type: 'portmap' }, { type: 'ztkube-cni', socket: '/run/ztkube/cni.sock', timeoutSeconds: 30 }]);
  expect(read('20-other.conflist').plugins).toEqual([bridge]);
  expect(chainCniPlugin(options())).toBeUndefined();

  expect(unchainCniPlugin(dir)).toBe(join(dir, '10-primary.conflist'));
  expect(read('10-primary.conflist').plugins).toEqual([bridge, { type: 'portmap' }]);
  expect(unchainCniPlugin(dir)).toBeUndefined();
});

test('moves a stale entry to the end when the primary CNI appended after it', () => {
  const stale = { type: 'ztkube-cni', socket: '/old.sock', timeoutSeconds: 30 };
  writeFileSync(join(dir, '10-primary.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'k8s', plugins: [bridge, stale, { type: 'portmap' }] }));
  chainCniPlugin(options());
  expect(read('10-primary.conflist').plugins.map((p) => p.type)).toEqual(['bridge', 'portmap', 'ztkube-cni']);
});

test('turns a single-plugin .conf into a .conflist of the same name', () => {
  writeFileSync(join(dir, '10-primary.conf'), JSON.stringify({ cniVersion: '0.4.0', name: 'k8s', ...bridge }));
  expect(chainCniPlugin(options())).toBe(join(dir, '10-primary.conflist'));
  expect(readdirSync(dir)).toEqual(['10-primary.conflist']);
  expect(JSON.parse(readFileSync(join(dir, '10-primary.conflist'), 'utf8'))).toMatchObject({
    cniVersion: '0.4.0',
    name: 'k8s',
    plugins: [bridge, { type: 'ztkube-cni' }],
  });
});

test('refuses an empty directory and a file that is not a configuration, naming them', () => {
  expect(() => chainCniPlugin(options())).toThrow(`no CNI configuration in ${dir}`);
  writeFileSync(join(dir, '10-bad.conflist'), '{not json');
  expect(() => chainCniPlugin(options())).toThrow(`CNI configuration ${join(dir, '10-bad.conflist')}`);
});

test('installs the binary executable, replacing an older one', () => {
  const source = join(dir, 'source');
  writeFileSync(source, '#!/bin/sh\necho new\n');
  writeFileSync(join(dir, 'ztkube-cni'), 'old');
  installCniBinary(source, dir);
  expect(readFileSync(join(dir, 'ztkube-cni'), 'utf8')).toContain('echo new');
  expect(statSync(join(dir, 'ztkube-cni')).mode & 0o777).toBe(0o755);
  expect(existsSync(join(dir, `.ztkube-cni.${process.pid}.tmp`))).toBe(false);
});
