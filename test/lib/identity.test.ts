// Identity generation off the event loop (the agent generates one per new pod).
import { readdir, readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { generateIdentity, identityValidate } from '../../agent/lib/native.js';

it('generateIdentity resolves distinct valid identities while the event loop keeps running', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const identities = await Promise.all([generateIdentity(), generateIdentity()]);
  clearInterval(timer);
  expect(new Set(identities).size).toBe(2);
  for (const identity of identities) {
    expect(identity).toMatch(/^[0-9a-f]{10}:0:[0-9a-f]{128}:[0-9a-f]{128}$/);
    expect(identityValidate(identity)).toBe(true);
  }
  expect(ticks).toBeGreaterThan(2);
});

/** Scheduling policies of this process's threads (field 41 of /proc/self/task/<tid>/stat). */
async function threadPolicies(): Promise<number[]> {
  const tasks = await readdir('/proc/self/task');
  const stats = await Promise.all(tasks.map((tid) => readFile(`/proc/self/task/${tid}/stat`, 'utf8').catch(() => '')));
  return stats.filter(Boolean).map((stat) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]));
}

it('generateIdentity("idle") works on a thread at SCHED_IDLE, and normal generation does not', async () => {
  const SCHED_IDLE = 5;
  const watch = async (generation: Promise<string>) => {
    let done = false;
    const seen = new Set<number>();
    const identity = generation.finally(() => (done = true));
    while (!done) for (const policy of await threadPolicies()) seen.add(policy);
    expect(identityValidate(await identity)).toBe(true);
    return seen;
  };
  expect(await watch(generateIdentity('idle'))).toContain(SCHED_IDLE);
  expect(await watch(generateIdentity())).not.toContain(SCHED_IDLE);
});
