// Spare identities for new pods (agent/dataplane/identity-pool.ts), with the real proof of work.
import { pino } from 'pino';
import { expect, test } from 'vitest';
import { IdentityPool } from '../../agent/dataplane/identity-pool.js';
import { generateIdentity, identityValidate } from '../../agent/lib/native.js';

const logger = pino({ level: 'silent' });

async function filled(pool: IdentityPool): Promise<void> {
  while (pool.spares < pool.target) await new Promise((resolve) => setTimeout(resolve, 20));
}

test('keeps its spares ready, hands each out once, refills, and takes back an unused one', async () => {
  const pool = new IdentityPool({ target: 2, refillDelayMs: 50 }, logger);
  await filled(pool);
  const taken = [await pool.take(), await pool.take()];
  expect(pool.spares).toBe(0);
  expect(new Set(taken).size).toBe(2);
  for (const identity of taken) expect(identityValidate(identity)).toBe(true);
  await filled(pool);
  const third = await pool.take();
  expect(taken).not.toContain(third);
  pool.giveBack(third);
  expect(pool.spares).toBe(2);
  expect(await pool.take()).toBe(third);
  pool.close();
  expect(pool.spares).toBe(0);
});

test('with no spares wanted, every identity is made on demand', async () => {
  const pool = new IdentityPool({ target: 0 }, logger);
  const identity = await pool.take();
  expect(identityValidate(identity)).toBe(true);
  expect(pool.spares).toBe(0);
  pool.giveBack(identity);
  expect(pool.spares).toBe(0);
  pool.close();
});

test('does not refill while takes keep coming, and refills once they pause', async () => {
  let generated = 0;
  const priorities: string[] = [];
  const generate = (priority: 'normal' | 'idle') => {
    generated++;
    priorities.push(priority);
    return generateIdentity(priority);
  };
  const pool = new IdentityPool({ target: 3, refillDelayMs: 1000, generate }, logger);
  await filled(pool);
  expect(generated).toBe(3);
  for (let i = 0; i < 5; i++) {
    expect(identityValidate(await pool.take())).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Three spares, then two made on demand; none made for the pool during the burst.
  expect(generated).toBe(5);
  expect(pool.spares).toBe(0);
  await filled(pool);
  expect(generated).toBe(8);
  expect(priorities).toEqual(['idle', 'idle', 'idle', 'normal', 'normal', 'idle', 'idle', 'idle']);
  pool.close();
});
