// `ztkube netconf decode`: a network-config dictionary as the controller sent it, as JSON.
import * as native from '../lib/native.js';
import { dispatch, positionals, printJson, readFileArg } from './args.js';

export const usage = `Usage: ztkube netconf decode <file>
  Prints the network config dictionary in <file> as JSON.
`;

function decode(args: string[]): number {
  const [file] = positionals(args, ['file']);
  printJson(native.decodeNetconf(readFileArg(file!, 'dictionary file')));
  return 0;
}

export function run(args: string[]): number | Promise<number> {
  return dispatch(args, { decode }, usage);
}
