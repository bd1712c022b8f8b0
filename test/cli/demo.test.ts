// `ztkube demo --once`: the real engine end to end on loopback UDP, run the way a user runs it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, repoRoot } from '../helpers.js';

const NODES = 3;

describe('ztkube demo', () => {
  it('brings a root and three nodes online and answers every pair of the echo matrix', () => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'ztkube.js'), 'demo', '--once', '--nodes', String(NODES)], {
      encoding: 'utf8',
      timeout: 110_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);

    const nodes = [...r.stdout.matchAll(/^(root|node\d+) +([0-9a-f]{10}) +127\.0\.0\.1\/(\d+)$/gm)];
    expect(nodes.map((m) => m[1])).toEqual(['root', 'node1', 'node2', 'node3']);
    expect(new Set(nodes.map((m) => m[2])).size).toBe(NODES + 1);
    expect(new Set(nodes.map((m) => m[3])).size).toBe(NODES + 1);
    expect(r.stdout).toMatch(new RegExp(`^all ${NODES} nodes ONLINE via root ${nodes[0]![2]} `, 'm'));

    // Every matrix: one row per node, an answer with a path for every other node.
    const matrices = r.stdout.split(/^ECHO round trips[^\n]*\n/m).slice(1);
    expect(matrices.length).toBeGreaterThanOrEqual(1);
    for (const matrix of matrices) {
      const rows = matrix.split('\n').filter((line) => /^node\d+ /.test(line));
      expect(rows).toHaveLength(NODES);
      for (const row of rows) {
        expect(row).not.toContain('—');
        expect(row.match(/\d+\.\d ms (?:direct|relayed)/g)).toHaveLength(NODES - 1);
      }
    }
    // Once the root's RENDEZVOUS has been acted on, the last matrix is all direct.
    expect(matrices.at(-1)!.match(/ms direct/g)).toHaveLength(NODES * (NODES - 1));

    const stateDir = /state in (\S+)/.exec(r.stdout)?.[1];
    expect(stateDir).toBeDefined();
    expect(existsSync(stateDir!)).toBe(false);
  });

  it.each([['--nodes', '1'], ['--nodes', 'x'], ['extra']])('exits 2 with one line on stderr for %s %s', (...args) => {
    const r = cli('demo', ...args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ztkube: demo: [^\n]*\n$/);
  });
});
