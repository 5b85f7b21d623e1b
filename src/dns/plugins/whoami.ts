// whoami: answers every query with the client's address (A or AAAA) and port
// (SRV "_udp"/"_tcp") in the additional section, as CoreDNS's whoami does.

import { directiveError } from '../corefile.js';
import { registerPlugin } from '../registry.js';
import { CLASS, TYPE, reply, type Plugin, type ResourceRecord } from '../types.js';

registerPlugin('whoami', (d): Plugin => {
  if (d.args.length || d.block.length) throw directiveError(d, 'whoami: takes no arguments');
  return {
    name: 'whoami',
    handler: () => async (req) => {
      const r = reply(req);
      r.aa = true;
      let addr = req.client.address;
      if (addr.startsWith('::ffff:') && addr.includes('.')) addr = addr.slice(7);
      const v6 = addr.includes(':');
      const name = req.question.name;
      const a: ResourceRecord = v6
        ? { name, type: TYPE.AAAA, class: CLASS.IN, ttl: 0, data: { type: TYPE.AAAA, address: addr } }
        : { name, type: TYPE.A, class: CLASS.IN, ttl: 0, data: { type: TYPE.A, address: addr } };
      const srvName = `_${req.client.protocol}.${name === '.' ? '' : name}`;
      r.additional = [a, { name: srvName, type: TYPE.SRV, class: CLASS.IN, ttl: 0, data: { type: TYPE.SRV, priority: 0, weight: 0, port: req.client.port, target: '.' } }];
      return r;
    },
  };
});
