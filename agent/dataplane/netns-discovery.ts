// Finding a pod's network namespace without the CNI plugin (docs/kubernetes.md, "Attaching
// pods"): a process whose cgroup path names the pod (`pod<uid>` with the cgroupfs driver,
// `pod<uid with _ for ->` in the systemd driver's slice names) lives in the pod's sandbox, unless
// it shares the host's namespace (a hostNetwork pod) which is never one to attach to. Needs hostPID.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The cgroup path fragments that name a pod. */
export function podCgroupMarkers(uid: string): string[] {
  return [`pod${uid}`, `pod${uid.replaceAll('-', '_')}`];
}

async function readOrUndefined<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch {
    return undefined; // the process went meanwhile, or is not ours to read
  }
}

/** `/proc/<pid>/ns/net` of a process of the pod in another namespace than ours, or undefined. */
export async function findPodNetns(uid: string, proc = '/proc'): Promise<string | undefined> {
  const markers = podCgroupMarkers(uid);
  const own = await readlink(join(proc, 'self', 'ns', 'net'));
  for (const pid of (await readdir(proc)).filter((name) => /^\d+$/.test(name))) {
    const cgroup = await readOrUndefined(readFile(join(proc, pid, 'cgroup'), 'utf8'));
    if (!cgroup || !markers.some((m) => cgroup.includes(m))) continue;
    const netns = join(proc, pid, 'ns', 'net');
    const target = await readOrUndefined(readlink(netns));
    if (target && target !== own) return netns;
  }
  return undefined;
}
