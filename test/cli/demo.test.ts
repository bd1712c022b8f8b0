// `ztkube demo --once` (what `npm run demo -- --once` runs), as root: pods in network namespaces
// on the example ZeroTierNetwork, a ping matrix from inside the pods, and nothing left behind.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, repoRoot } from '../helpers.js';

const PODS = 3;

const leftovers = () => ({
  namespaces: execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('ztkdemo')),
  stateDirs: readdirSync(tmpdir()).filter((f) => f.startsWith('ztkube-demo-')),
});

describe('ztkube demo', () => {
  it('puts three pods on the network, every pair answers over IPv4 and IPv6, and it cleans up', () => {
    const before = leftovers();
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'ztkube.js'), 'demo', '--once', '--pods', String(PODS), '--metrics-port', '0'], {
      encoding: 'utf8',
      timeout: 110_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const network = /^network ([0-9a-f]{16}) \(demo\)$/m.exec(r.stdout);
    expect(network).not.toBeNull();
    const pods = [...r.stdout.matchAll(/^ {2}(pod\d+) +zt ([0-9a-f]{10}) +(zt[0-9a-f]{10}) +mac ((?:[0-9a-f]{2}:){5}[0-9a-f]{2}) +(.+)$/gm)];
    expect(pods.map((m) => m[1])).toEqual(['pod1', 'pod2', 'pod3']);
    expect(new Set(pods.map((m) => m[2])).size).toBe(PODS);
    for (const pod of pods) {
      expect(pod[5]).toMatch(/198\.19\.0\.\d+\/16/);
      expect(pod[5]).toMatch(/fd[0-9a-f:]+\/88/);
    }
    expect(r.stdout).toMatch(/^metrics: http:\/\/127\.0\.0\.1:\d+\/metrics$/m);
    const rows = r.stdout.split('\n').filter((line) => /^pod\d+ /.test(line));
    expect(rows).toHaveLength(PODS);
    for (const row of rows) expect(row.match(/\d+\.\d+ms \/ \d+\.\d+ms/g)).toHaveLength(PODS - 1);
    expect(r.stdout).not.toContain('FAIL');
    expect(leftovers()).toEqual(before);
  });

  it('runs until Ctrl-C, serving metrics, then removes everything it made', async () => {
    const before = leftovers();
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'ztkube.js'), 'demo', '--pods', '2', '--metrics-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const end = Date.now() + 60_000;
    while (!/^pod2 .*ms/m.test(stdout) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    const url = /^metrics: (\S+)$/m.exec(stdout)?.[1];
    expect(url).toBeDefined();
    const metrics = await (await fetch(url!)).text();
    expect(metrics).toMatch(/^ztkube_pods_attached 4$/m); // root, controller and the two pods
    expect(metrics).toMatch(/^ztkube_network_packets_total\{pod="default\/pod1",network="[0-9a-f]{16}",direction="in"\} [1-9]/m);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(leftovers()).toEqual(before);
  });

  it.each([['--pods', '1'], ['--pods', 'x'], ['extra']])('exits 2 with one line on stderr for %s %s', (...args) => {
    const r = cli('demo', ...args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ztkube: demo: [^\n]*\n$/);
  });
});
