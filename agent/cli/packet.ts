// `ztkube packet decode`: dearmors and describes one packet received from a known peer.
import * as native from '../lib/native.js';
import { dispatch, hexArg, identityArg, options, printJson, UsageError } from './args.js';

export const usage = `Usage: ztkube packet decode --secret <identity or file> --peer <identity or file> <hex> [<fragment hex>...]
  --secret   the receiver's secret identity
  --peer     the sender's public identity
  <hex>      the packet's UDP payload (the head, if fragmented), then its fragments in any order
Prints the packet as JSON; exit 1 if it does not authenticate.
`;

function decode(args: string[]): number {
  const { values, positionals } = options(args, {
    secret: { type: 'string' },
    peer: { type: 'string' },
  });
  if (values.secret === undefined) throw new UsageError('missing --secret');
  if (values.peer === undefined) throw new UsageError('missing --peer');
  if (positionals.length === 0) throw new UsageError('missing packet hex');
  const datagrams = positionals.map((hex, i) => hexArg(hex, i === 0 ? 'packet' : `fragment ${i}`));
  const packet = native.decodePacket(
    identityArg(values.secret, 'identity file'),
    identityArg(values.peer, 'identity file'),
    datagrams,
  );
  printJson(packet);
  return packet.authenticated ? 0 : 1;
}

export function run(args: string[]): number | Promise<number> {
  return dispatch(args, { decode }, usage);
}
