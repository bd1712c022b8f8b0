// `ztkube idtool`: identities, signatures and key agreement, like zerotier-idtool.
import { writeFileSync } from 'node:fs';
import * as native from '../lib/native.js';
import { dispatch, Failure, identityArg, positionals, readFileArg } from './args.js';

export const usage = `Usage: ztkube idtool <command>
  generate [secretFile [publicFile]]            new identity; prints the secret if no file is given
  validate <identity or file>                   exit 0 if valid (proof of work included), 1 if not
  getpublic <secret identity or file>           prints the public identity
  sign <secret identity or file> <messageFile>  prints the signature (hex)
  verify <public identity or file> <messageFile> <signatureHex>
                                                exit 0 if the signature is valid, 1 if not
  agree <secret identity or file> <public identity or file>
                                                prints the 48-byte agreed key (hex)
`;

function generate(args: string[]): number {
  const [secretFile, publicFile] = positionals(args, ['secretFile', 'publicFile'], 0);
  const secret = native.identityGenerate();
  if (secretFile === undefined) {
    process.stdout.write(`${secret}\n`);
    return 0;
  }
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  if (publicFile !== undefined) writeFileSync(publicFile, `${native.identityGetPublic(secret)}\n`);
  process.stdout.write(`${secret.slice(0, 10)}\n`);
  return 0;
}

function validate(args: string[]): number {
  const [arg] = positionals(args, ['identity']);
  const identity = identityArg(arg!, 'identity file');
  if (!native.identityValidate(identity)) throw new Failure('identity is not valid');
  process.stdout.write(`${identity.slice(0, 10)} is a valid identity\n`);
  return 0;
}

function getpublic(args: string[]): number {
  const [arg] = positionals(args, ['identity']);
  process.stdout.write(`${native.identityGetPublic(identityArg(arg!, 'identity file'))}\n`);
  return 0;
}

function sign(args: string[]): number {
  const [secret, messageFile] = positionals(args, ['secret identity', 'messageFile']);
  const message = readFileArg(messageFile!, 'message file');
  process.stdout.write(`${native.identitySign(identityArg(secret!, 'identity file'), message)}\n`);
  return 0;
}

function verify(args: string[]): number {
  const [identity, messageFile, signature] = positionals(args, ['public identity', 'messageFile', 'signatureHex']);
  const message = readFileArg(messageFile!, 'message file');
  if (!native.identityVerify(identityArg(identity!, 'identity file'), message, signature!.trim()))
    throw new Failure('signature is not valid');
  process.stdout.write('signature valid\n');
  return 0;
}

function agree(args: string[]): number {
  const [secret, peer] = positionals(args, ['secret identity', 'public identity']);
  const key = native.identityAgree(identityArg(secret!, 'identity file'), identityArg(peer!, 'identity file'));
  process.stdout.write(`${key}\n`);
  return 0;
}

export function run(args: string[]): number | Promise<number> {
  return dispatch(args, { generate, validate, getpublic, sign, verify, agree }, usage);
}
