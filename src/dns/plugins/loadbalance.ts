// loadbalance [round_robin]: shuffles the order of A, AAAA and MX records in
// the answer section (CNAMEs keep their place at the front), as CoreDNS does.

import { directiveError } from '../corefile.js';
import { registerPlugin } from '../registry.js';
import { sameResponder } from '../server.js';
import { TYPE, type ResourceRecord, type Plugin } from '../types.js';

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** CoreDNS's roundRobin: cname records first, then other, then shuffled address and MX records. */
export function roundRobin(rrs: ResourceRecord[]): ResourceRecord[] {
  if (rrs.length < 2) return rrs;
  const cname: ResourceRecord[] = [];
  const address: ResourceRecord[] = [];
  const mx: ResourceRecord[] = [];
  const rest: ResourceRecord[] = [];
  for (const rr of rrs) {
    if (rr.type === TYPE.CNAME) cname.push(rr);
    else if (rr.type === TYPE.A || rr.type === TYPE.AAAA) address.push(rr);
    else if (rr.type === TYPE.MX) mx.push(rr);
    else rest.push(rr);
  }
  return [...cname, ...rest, ...shuffle(address), ...shuffle(mx)];
}

registerPlugin('loadbalance', (d): Plugin => {
  if (d.args.length > 1 || (d.args[0] && d.args[0] !== 'round_robin')) throw directiveError(d, `loadbalance: unknown policy: ${d.args.join(' ')}`);
  if (d.block.length) throw directiveError(d, `loadbalance: unknown property '${d.block[0]![0]}'`);
  return {
    name: 'loadbalance',
    handler: (next) => async (req) => {
      const resp = await next(req);
      if (resp.answers.length > 1) return sameResponder(resp, { ...resp, answers: roundRobin([...resp.answers]) });
      return resp;
    },
  };
});
