// Argument helpers shared by the subcommands: errors with exit codes, option parsing, and reading
// identities, files and hex from the command line.
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Wrong use of the command line: exit 2. */
export class UsageError extends Error {}
/** The input was read but is invalid, or the operation failed: exit 1. */
export class Failure extends Error {}

export type Command = (args: string[]) => number | Promise<number>;

/** Runs the subcommand named by args[0] from `commands`, or prints `usage` for --help. */
export function dispatch(args: string[], commands: Record<string, Command>, usage: string): number | Promise<number> {
  const [name, ...rest] = args;
  if (name === '--help' || name === '-h' || (name !== undefined && rest.includes('--help'))) {
    process.stdout.write(usage);
    return 0;
  }
  const command = name === undefined ? undefined : commands[name];
  if (!command) throw new UsageError(name === undefined ? 'missing subcommand' : `unknown subcommand '${name}'`);
  return command(rest);
}

/** node:util parseArgs with its errors turned into usage errors. */
export function options<T extends ParseArgsConfig['options']>(args: string[], config: T) {
  try {
    return parseArgs({ args, options: config, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
}

/** Exactly `min`..`max` positional arguments, named for the error message. */
export function positionals(args: string[], names: string[], min = names.length): string[] {
  if (args.length < min) throw new UsageError(`missing ${names[args.length]}`);
  if (args.length > names.length) throw new UsageError(`unexpected argument '${args[names.length]}'`);
  return args;
}

export function readFileArg(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Failure(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

// Identity text starts with its 10-digit address and a colon; anything else names a file.
const identityText = /^[0-9a-f]{10}:/i;

/** An identity given as text or as the path of a file holding it. */
export function identityArg(arg: string, what: string): string {
  return identityText.test(arg) ? arg : readFileArg(arg, what).toString('utf8').trim();
}

export function hexArg(text: string, what: string): Buffer {
  if (!/^(?:[0-9a-f]{2})*$/i.test(text)) throw new UsageError(`${what} is not hex: '${text.slice(0, 20)}'`);
  return Buffer.from(text, 'hex');
}

/** A non-negative integer that JSON numbers carry exactly. */
export function integerArg(text: string, what: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) throw new UsageError(`${what} must be a non-negative integer: '${text}'`);
  return value;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
