// CniServer on a real unix socket, driven by the real ztkube-cni where the plugin's behaviour is
// the point and by raw requests where the server's validation is.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { CniError, CniServer, type CniHandler, type CniRequest } from '../../agent/dataplane/cni-server.js';
import { repoRoot } from '../helpers.js';

let dir: string;
let socket: string;
const seen: CniRequest[] = [];
const handler: CniHandler = {
  async add(request) {
    seen.push(request);
    if (request.podName === 'refused') throw new CniError('network refused', 7, 'net-a');
    if (request.podName === 'broken') throw new Error('state store unwritable');
    return { interfaces: [], ips: [] };
  },
  async del(request) {
    seen.push(request);
  },
  async check(request) {
    seen.push(request);
  },
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ztkube-cni-server-'));
  socket = join(dir, 'run', 'cni.sock');
  seen.length = 0;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function send(line: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const client = connect(socket, () => client.write(line));
    let answer = '';
    client.setEncoding('utf8');
    client.on('data', (chunk: string) => (answer += chunk));
    client.on('end', () => resolve(JSON.parse(answer)));
    client.on('error', reject);
  });
}

const podRequest = { containerId: 'c1', netns: '/var/run/netns/x', ifName: 'eth0', podNamespace: 'ns', podName: 'p', podUid: 'u1' };

test('listens 0600 in a created directory, and close() removes the socket', async () => {
  const server = await CniServer.listen(socket, handler);
  expect((await stat(socket)).mode & 0o777).toBe(0o600);
  await server.close();
  await expect(stat(socket)).rejects.toThrow(/ENOENT/);
});

test('replaces a stale socket file but refuses one another process listens on', async () => {
  const other = createServer();
  await CniServer.listen(socket, handler).then((s) => s.close());
  await new Promise<void>((resolve) => other.listen(socket, resolve));
  await expect(CniServer.listen(socket, handler)).rejects.toThrow(/in use by another process/);
  await new Promise((resolve) => other.close(resolve));
  // A socket file with nobody behind it, as a killed agent leaves.
  const killed = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => console.log('up'))`]);
  await new Promise((resolve) => killed.stdout.once('data', resolve));
  killed.kill('SIGKILL');
  await new Promise((resolve) => killed.once('exit', resolve));
  expect((await stat(socket)).isSocket()).toBe(true);
  const server = await CniServer.listen(socket, handler);
  expect(await send(`${JSON.stringify({ command: 'DEL', containerId: 'c1' })}\n`)).toEqual({ interfaces: [], ips: [] });
  await server.close();
});

test('validates requests and answers errors with their code and context', async () => {
  const server = await CniServer.listen(socket, handler);
  try {
    expect(await send('not json\n')).toMatchObject({ error: { code: 6, msg: expect.stringContaining('not JSON') } });
    expect(await send('{"command":"GC"}\n')).toMatchObject({ error: { code: 6, msg: expect.stringContaining('"GC"') } });
    expect(await send('{"command":"ADD","containerId":"c1"}\n')).toMatchObject({
      error: { code: 4, msg: 'CNI ADD request lacks netns, ifName, podNamespace, podName, podUid' },
    });
    expect(await send(`${JSON.stringify({ command: 'ADD', ...podRequest, podName: 'refused' })}\n`)).toEqual({
      error: { code: 7, msg: 'network refused', details: 'net-a' },
    });
    expect(await send(`${JSON.stringify({ command: 'ADD', ...podRequest, podName: 'broken' })}\n`)).toEqual({
      error: { code: 999, msg: 'state store unwritable', details: 'ADD pod ns/broken (uid u1) container c1' },
    });
    expect(seen.map((r) => r.podName)).toEqual(['refused', 'broken']);
  } finally {
    await server.close();
  }
});

test('ztkube-cni: CHECK reaches the handler; ADD without prevResult and ADD with no agent fail clearly', async () => {
  const plugin = join(repoRoot, 'dist/bin/ztkube-cni');
  const build = spawnSync('npm', ['run', 'build:cni'], { cwd: repoRoot, encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
  // Asynchronous: the server answering it runs in this process.
  const invoke = async (command: string, config: object) => {
    const child = execFile(plugin, {
      env: { CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/nonexistent', CNI_ARGS: 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_UID=u1' },
    });
    child.stdin!.end(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'ztkube-cni', socket, ...config }));
    let stdout = '';
    child.stdout!.on('data', (chunk: string) => (stdout += chunk));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { status, stdout };
  };
  const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: '/var/run/netns/x' }], ips: [{ address: '198.18.0.2/26', interface: 0 }] };

  const unreachable = await invoke('ADD', { prevResult });
  expect(unreachable.status).not.toBe(0);
  expect(JSON.parse(unreachable.stdout)).toMatchObject({ code: 11, msg: expect.stringContaining(`ztkube agent unreachable at ${socket}`) });

  const server = await CniServer.listen(socket, handler);
  try {
    expect(JSON.parse((await invoke('ADD', {})).stdout)).toMatchObject({ code: 7, msg: expect.stringContaining('prevResult') });
    const check = await invoke('CHECK', { prevResult });
    expect(check.status, check.stdout).toBe(0);
    expect(seen).toEqual([{ command: 'CHECK', ...podRequest, prevResult: expect.objectContaining({ ips: prevResult.ips }) }]);
  } finally {
    await server.close();
  }
});
