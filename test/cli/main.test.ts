// The command dispatcher: help, exit codes and one-line errors.
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';

describe('ztkube', () => {
  it('prints usage for --help and exits 0', () => {
    const r = cli('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: ztkube/);
  });

  it('prints a subcommand\'s usage for <command> --help', () => {
    const r = cli('world', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: ztkube world/);
  });

  it.each([[[]], [['nonsense']], [['idtool', 'nonsense']], [['world', 'create', '--bogus']]])(
    'exits 2 with one line on stderr for %j',
    (args) => {
      const r = cli(...args);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^ztkube: [^\n]*\n$/);
    },
  );
});
