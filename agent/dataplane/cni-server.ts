// The agent's end of the CNI socket (docs/kubernetes.md, "CNI socket protocol"): ztkube-cni sends
// one newline-terminated JSON request per connection and reads one JSON answer. This file only
// speaks the protocol; what ADD, DEL and CHECK do is the CniHandler's business.
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

/** CNI's well-known error codes (CNI spec, "Error"), the ones this protocol uses. */
export const CniErrorCode = {
  invalidEnvironment: 4,
  decodingFailure: 6,
  tryAgainLater: 11,
  internal: 999,
} as const;

export interface CniRequest {
  command: CniCommand;
  containerId: string;
  /** The runtime's netns path; may be empty on DEL. */
  netns: string;
  ifName: string;
  /** Empty only on a DEL whose runtime no longer gives the pod. */
  podNamespace: string;
  podName: string;
  podUid: string;
  /** The previous plugins' result (CNI 1.0.0 form) on ADD and CHECK. */
  prevResult?: unknown;
}

export interface CniInterface {
  name: string;
  mac: string;
  /** The netns path the interface is in. */
  sandbox: string;
}

export interface CniIp {
  /** "address/prefix". */
  address: string;
  /** Index into this answer's interfaces (the plugin shifts it past prevResult's). */
  interface: number;
}

/** ADD's answer; empty lists for a pod ztkube has nothing to do with. */
export interface CniResult {
  interfaces: CniInterface[];
  ips: CniIp[];
}

export interface CniErrorAnswer {
  error: { code: number; msg: string; details: string };
}

export type CniAnswer = CniResult | CniErrorAnswer;

/** An error a handler throws to choose the CNI code the runtime sees (otherwise 999). */
export class CniError extends Error {
  constructor(
    message: string,
    readonly code: number = CniErrorCode.internal,
    readonly details = '',
  ) {
    super(message);
    this.name = 'CniError';
  }
}

export interface CniHandler {
  add(request: CniRequest): Promise<CniResult>;
  /** Must succeed for a pod or container it does not know (CNI DEL is idempotent). */
  del(request: CniRequest): Promise<void>;
  check(request: CniRequest): Promise<void>;
}

export interface CniServerOptions {
  logger?: Logger;
  /** A connection that sends no complete request within this is closed (default 30 s). */
  requestTimeoutMs?: number;
}

/** Larger than any request a plugin sends (a prevResult is a few kB). */
const maxRequestBytes = 1 << 20;

export class CniServer {
  private constructor(
    readonly path: string,
    private readonly server: Server,
  ) {}

  /** Listens on `path` (mode 0600; missing directories are created 0700; a stale socket file is
   * replaced, a live one is an error). */
  static async listen(path: string, handler: CniHandler, options: CniServerOptions = {}): Promise<CniServer> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await removeStaleSocket(path);
    const timeoutMs = options.requestTimeoutMs ?? 30_000;
    const server = createServer((socket) => serve(socket, handler, timeoutMs, options.logger));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    await chmod(path, 0o600);
    options.logger?.info({ socket: path }, 'CNI socket listening');
    return new CniServer(path, server);
  }

  /** Stops accepting, waits for the requests in flight, removes the socket file. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await unlink(this.path).catch(ignoreMissing);
    await closed;
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(ignoreMissing);
  if (!stat) return;
  if (!stat.isSocket()) throw new Error(`CNI socket ${path} exists and is not a socket`);
  if (await someoneListens(path)) throw new Error(`CNI socket ${path} is in use by another process`);
  await unlink(path);
}

function someoneListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

function serve(socket: Socket, handler: CniHandler, timeoutMs: number, logger?: Logger): void {
  let received = '';
  socket.setEncoding('utf8');
  socket.setTimeout(timeoutMs, () => socket.destroy());
  socket.on('error', (error) => logger?.warn({ err: error }, 'CNI connection failed'));
  const onData = (chunk: string) => {
    received += chunk;
    const end = received.indexOf('\n');
    if (end < 0 && received.length <= maxRequestBytes) return;
    socket.removeListener('data', onData);
    const line = end < 0 ? received : received.slice(0, end);
    void answer(line, handler, logger).then((reply) => socket.end(`${JSON.stringify(reply)}\n`));
  };
  socket.on('data', onData);
}

async function answer(line: string, handler: CniHandler, logger?: Logger): Promise<CniAnswer> {
  let request: CniRequest;
  try {
    request = parseCniRequest(line);
  } catch (error) {
    logger?.warn({ err: error }, 'bad CNI request');
    return errorAnswer(error, 'request');
  }
  const context = `${request.command} pod ${request.podNamespace}/${request.podName} (uid ${request.podUid}) container ${request.containerId}`;
  try {
    switch (request.command) {
      case 'ADD':
        return await handler.add(request);
      case 'DEL':
        await handler.del(request);
        return { interfaces: [], ips: [] };
      case 'CHECK':
        await handler.check(request);
        return { interfaces: [], ips: [] };
    }
  } catch (error) {
    logger?.warn({ err: error, pod: `${request.podNamespace}/${request.podName}`, command: request.command }, 'CNI request failed');
    return errorAnswer(error, context);
  }
}

function errorAnswer(error: unknown, context: string): CniErrorAnswer {
  if (error instanceof CniError) return { error: { code: error.code, msg: error.message, details: error.details || context } };
  const msg = error instanceof Error ? error.message : String(error);
  return { error: { code: CniErrorCode.internal, msg, details: context } };
}

const stringFields = ['containerId', 'netns', 'ifName', 'podNamespace', 'podName', 'podUid'] as const;
const requiredFields: Record<CniCommand, readonly (typeof stringFields)[number][]> = {
  ADD: stringFields,
  CHECK: stringFields,
  DEL: ['containerId'],
};

/** Parses and validates one request line; throws a CniError naming what is wrong. */
export function parseCniRequest(line: string): CniRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new CniError(`CNI request is not JSON: ${(error as Error).message}`, CniErrorCode.decodingFailure);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CniError('CNI request is not a JSON object', CniErrorCode.decodingFailure);
  }
  const fields = value as Record<string, unknown>;
  const command = fields.command;
  if (!CNI_COMMANDS.includes(command as CniCommand)) {
    throw new CniError(`CNI request command ${JSON.stringify(command)} is not one of ${CNI_COMMANDS.join(', ')}`, CniErrorCode.decodingFailure);
  }
  for (const field of stringFields) {
    if (fields[field] !== undefined && typeof fields[field] !== 'string') {
      throw new CniError(`CNI request field ${field} is not a string`, CniErrorCode.decodingFailure);
    }
  }
  const missing = requiredFields[command as CniCommand].filter((field) => !fields[field]);
  if (missing.length > 0) {
    throw new CniError(`CNI ${command} request lacks ${missing.join(', ')}`, CniErrorCode.invalidEnvironment);
  }
  const text = (field: (typeof stringFields)[number]) => (fields[field] as string | undefined) ?? '';
  return {
    command: command as CniCommand,
    containerId: text('containerId'),
    netns: text('netns'),
    ifName: text('ifName'),
    podNamespace: text('podNamespace'),
    podName: text('podName'),
    podUid: text('podUid'),
    ...(fields.prevResult === undefined ? {} : { prevResult: fields.prevResult }),
  };
}

function ignoreMissing(error: NodeJS.ErrnoException): undefined {
  if (error.code !== 'ENOENT') throw error;
  return undefined;
}
