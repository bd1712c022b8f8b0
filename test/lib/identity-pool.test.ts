// Spare identities for new pods (agent/dataplane/identity-pool.ts), with the real proof of work.
import { pino } from 'pino';
import { expect, test } from 'vitest';
import { IdentityPool } from '../../agent/dataplane/identity-pool.js';
import { identityValidate } from '../../agent/lib/native.js';

const logger = pino({ level: 'silent' });

async function filled(pool: IdentityPool): Promise<void> {
  while (pool.spares < pool.target) await new Promise((resolve) => setTimeout(resolve, 20));
}

test('keeps its spares ready, hands each out once, refills, and takes back an unused one', async () => {
  const pool = new IdentityPool(2, logger);
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
  const pool = new IdentityPool(0, logger);
  const identity = await pool.take();
  expect(identityValidate(identity)).toBe(true);
  expect(pool.spares).toBe(0);
  pool.giveBack(identity);
  expect(pool.spares).toBe(0);
  pool.close();
});
