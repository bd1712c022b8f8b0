// Identity generation off the event loop (the agent generates one per new pod).
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
