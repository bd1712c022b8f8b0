// `ztkube world show|create`: planets and moons, in the JSON shape of the interop vectors.
import { writeFileSync } from 'node:fs';
import * as native from '../lib/native.js';
import type { WorldRoot, WorldSigningKey, WorldSpec } from '../lib/native.js';
import { dispatch, Failure, identityArg, integerArg, options, positionals, printJson, readFileArg, UsageError } from './args.js';

export const usage = `Usage: ztkube world <command>
  show <file>      prints the world in <file> as JSON
  create [--spec <json file>] --id <n> --timestamp <ms> [--type planet|moon]
         --signing-key <json file> [--update-key <public key hex>]
         --root <identity or file>=<ip/port>[,<ip/port>...] (repeatable) --out <file>
                   writes a world signed with the signing key ({publicKeyHex, privateKeyHex}).
                   --spec gives type, id, timestamp, updatesMustBeSignedBy and roots as in
                   'world show'; the other options override it. The update key defaults to the
                   signing key's public half.
`;

function show(args: string[]): number {
  const [file] = positionals(args, ['file']);
  printJson(native.describeWorld(readFileArg(file!, 'world file')));
  return 0;
}

function readJson(path: string, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(readFileArg(path, what).toString('utf8'));
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  } catch (e) {
    if (e instanceof Failure) throw e;
  }
  throw new Failure(`${what} ${path} is not a JSON object`);
}

function signingKey(path: string): WorldSigningKey {
  const { publicKeyHex, privateKeyHex } = readJson(path, 'signing key file');
  if (typeof publicKeyHex !== 'string' || typeof privateKeyHex !== 'string')
    throw new Failure(`signing key file ${path} lacks publicKeyHex and privateKeyHex`);
  return { publicKeyHex, privateKeyHex };
}

// <identity or file>=<ip/port>[,<ip/port>...]; endpoints never contain '=', so split at the last.
function root(arg: string): WorldRoot {
  const split = arg.lastIndexOf('=');
  if (split <= 0) throw new UsageError(`--root must be <identity>=<ip/port>[,...]: '${arg.slice(0, 30)}'`);
  const endpoints = arg.slice(split + 1).split(',').filter((e) => e !== '');
  if (endpoints.length === 0) throw new UsageError('--root needs at least one ip/port');
  // Only the public half goes into a world, even when given a secret identity file.
  const identity = native.identityGetPublic(identityArg(arg.slice(0, split), 'root identity file'));
  return { identity, stableEndpoints: endpoints };
}

function worldType(text: unknown): WorldSpec['type'] {
  if (text === 'planet' || text === 'moon') return text;
  throw new UsageError(`--type must be planet or moon, not '${String(text)}'`);
}

function create(args: string[]): number {
  const { values, positionals: extra } = options(args, {
    spec: { type: 'string' },
    id: { type: 'string' },
    timestamp: { type: 'string' },
    type: { type: 'string' },
    'signing-key': { type: 'string' },
    'update-key': { type: 'string' },
    root: { type: 'string', multiple: true },
    out: { type: 'string' },
  });
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  if (values['signing-key'] === undefined) throw new UsageError('missing --signing-key');
  if (values.out === undefined) throw new UsageError('missing --out');
  const base: Partial<WorldSpec> = values.spec === undefined ? {} : readJson(values.spec, 'spec file');
  const id = values.id === undefined ? base.id : integerArg(values.id, '--id');
  const timestamp = values.timestamp === undefined ? base.timestamp : integerArg(values.timestamp, '--timestamp');
  const roots = values.root === undefined ? base.roots : values.root.map(root);
  if (id === undefined) throw new UsageError('missing --id');
  if (timestamp === undefined) throw new UsageError('missing --timestamp');
  if (roots === undefined || roots.length === 0) throw new UsageError('missing --root');
  const spec: WorldSpec = { type: worldType(values.type ?? base.type ?? 'planet'), id, timestamp, roots };
  const updateKey = values['update-key'] ?? base.updatesMustBeSignedBy;
  if (updateKey !== undefined) spec.updatesMustBeSignedBy = updateKey;
  writeFileSync(values.out, native.createWorld(spec, signingKey(values['signing-key'])));
  return 0;
}

export function run(args: string[]): number | Promise<number> {
  return dispatch(args, { show, create }, usage);
}
