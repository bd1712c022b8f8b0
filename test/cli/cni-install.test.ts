// `ztkube cni-install` (the agent DaemonSet's init container) on a node's CNI dirs made of temp dirs.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { cli } from '../helpers.js';

let dir: string;
let binDir: string;
let confDir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ztkube-cni-install-cli-'));
  [binDir, confDir] = [join(dir, 'bin'), join(dir, 'net.d')];
  mkdirSync(binDir);
  mkdirSync(confDir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const pluginTypes = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { plugins: { type: string; socket?: string }[] }).plugins;

test('installs the plugin and chains it into the primary configuration, once', () => {
  const source = join(dir, 'plugin');
  writeFileSync(source, '#!/bin/sh\n');
  const primary = join(confDir, '10-cluster.conflist');
  writeFileSync(primary, JSON.stringify({ cniVersion: '1.0.0', name: 'cluster', plugins: [{ type: 'bridge' }] }));
  const args = ['cni-install', `--cni-bin-dir=${binDir}`, `--cni-conf-dir=${confDir}`, '--cni-socket=/run/x/cni.sock', `--source=${source}`];

  const first = cli(...args);
  expect(first.stderr).toBe('');
  expect(first.status).toBe(0);
  expect(JSON.parse(first.stdout)).toMatchObject({ msg: 'ztkube-cni installed', chainedIn: primary, changed: true });
  expect(statSync(join(binDir, 'ztkube-cni')).mode & 0o777).toBe(0o755);
  expect(pluginTypes(primary)).toEqual([{ type: 'bridge' }, { type: 'ztkube-cni', socket: '/run/x/cni.sock', timeoutSeconds: 30 }]);

  const again = cli(...args);
  expect(again.status).toBe(0);
  expect(JSON.parse(again.stdout)).toMatchObject({ chainedIn: primary, changed: false });
  expect(pluginTypes(primary)).toHaveLength(2);
});

test('installs the built plugin by default', () => {
  writeFileSync(join(confDir, '10-cluster.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'cluster', type: 'bridge' }));
  const r = cli('cni-install', `--cni-bin-dir=${binDir}`, `--cni-conf-dir=${confDir}`);
  expect(r.status).toBe(0);
  expect(readdirSync(binDir)).toEqual(['ztkube-cni']);
  expect(readdirSync(confDir)).toEqual(['10-cluster.conflist']);
  expect(pluginTypes(join(confDir, '10-cluster.conflist')).at(-1)).toEqual({ type: 'ztkube-cni', socket: '/run/ztkube/cni.sock', timeoutSeconds: 30 });
});

test('fails with the reason while the cluster has no CNI configuration, and on usage errors', () => {
  const empty = cli('cni-install', `--cni-bin-dir=${binDir}`, `--cni-conf-dir=${confDir}`);
  expect(empty.status).toBe(1);
  expect(empty.stderr).toContain(`no CNI configuration in ${confDir}`);
  const missing = cli('cni-install', `--cni-bin-dir=${binDir}`);
  expect(missing.status).toBe(2);
  expect(missing.stderr).toMatch(/^ztkube: cni-install: --cni-bin-dir and --cni-conf-dir are required/);
});
