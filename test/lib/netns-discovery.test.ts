// Finding a pod's network namespace from /proc without CNI: a fake /proc tree with the cgroup
// paths of both cgroup drivers, and processes in the host's namespace that must be passed over.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { findPodNetns } from '../../agent/dataplane/netns-discovery.js';

const uid = '0f8e4c2a-1b2c-4d5e-8f90-123456789abc';
let proc: string;

function fakeProcess(pid: string, cgroup: string, netns: string): void {
  mkdirSync(join(proc, pid, 'ns'), { recursive: true });
  writeFileSync(join(proc, pid, 'cgroup'), cgroup);
  symlinkSync(netns, join(proc, pid, 'ns', 'net'));
}

beforeEach(() => {
  proc = mkdtempSync(join(tmpdir(), 'ztkube-proc-'));
  fakeProcess('self', '0::/\n', 'net:[4026531840]');
});
afterEach(() => rmSync(proc, { recursive: true, force: true }));

test('a process of the pod in its own namespace (cgroupfs driver) gives /proc/<pid>/ns/net', async () => {
  fakeProcess('10', '0::/\n', 'net:[4026531840]');
  fakeProcess('42', `12:pids:/kubepods/besteffort/pod${uid}/0123abcd\n`, 'net:[4026532999]');
  expect(await findPodNetns(uid, proc)).toBe(join(proc, '42', 'ns', 'net'));
});

test('the systemd driver names the pod with underscores', async () => {
  fakeProcess('7', `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replaceAll('-', '_')}.slice/cri-containerd-1.scope\n`, 'net:[4026533001]');
  expect(await findPodNetns(uid, proc)).toBe(join(proc, '7', 'ns', 'net'));
});

test('a pod whose processes share the host namespace (hostNetwork), or that has none, is not found', async () => {
  fakeProcess('8', `0::/kubepods/pod${uid}/c1\n`, 'net:[4026531840]');
  fakeProcess('9', '0::/kubepods/podother/c1\n', 'net:[4026533002]');
  expect(await findPodNetns(uid, proc)).toBeUndefined();
});
