// The cluster DNS server's shared vocabulary: the DNS message model (decoded
// from / encoded to the wire by src/dns/wire.ts), and the plugin contract,
// after CoreDNS: a Corefile names, per server block, a chain of plugins; each
// plugin either answers a request or passes it to the next one.

export const TYPE = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255, AXFR: 252, IXFR: 251,
} as const;
export const CLASS = { IN: 1, CH: 3, ANY: 255 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface Question {
  /** Lower-cased, fully qualified, with the trailing dot ("kube-dns.kube-system.svc.cluster.local."). */
  name: string;
  type: number;
  class: number;
}

export type RData =
  | { type: 1; address: string } // A
  | { type: 28; address: string } // AAAA
  | { type: 5 | 2 | 12; target: string } // CNAME, NS, PTR
  | { type: 33; priority: number; weight: number; port: number; target: string } // SRV
  | { type: 16; texts: string[] } // TXT
  | { type: 6; mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number } // SOA
  | { type: number; raw: Buffer }; // anything else, kept opaque

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: RData;
}

export interface Edns {
  udpSize: number;
  version: number;
  dnssecOk: boolean;
  /** Raw EDNS options (code, data). */
  options: Array<{ code: number; data: Buffer }>;
}

export interface DnsMessage {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
  rcode: number;
  questions: Question[];
  answers: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
  edns?: Edns;
}

export interface DnsRequest {
  msg: DnsMessage;
  /** msg.questions[0], always present for requests that reach plugins. */
  question: Question;
  client: { address: string; port: number; protocol: 'udp' | 'tcp' };
  /** The server block's zone that matched the question (e.g. "cluster.local."). */
  zone: string;
}

/** Answers a request: a response message (plugins build it from the request with `reply`). */
export type Handler = (req: DnsRequest) => Promise<DnsMessage>;

/** One directive of a Corefile server block: `name arg1 arg2 { subdirective args... }`. */
export interface Directive {
  name: string;
  args: string[];
  /** Lines inside the directive's braces, each as [name, ...args]. */
  block: string[][];
  /** For error messages: "Corefile:12". */
  location: string;
}

export interface PluginContext {
  /** Zones of the server block ("cluster.local.", "in-addr.arpa.", "."). */
  zones: string[];
  /** The server block's listen port. */
  port: number;
  /** Registers something to close at shutdown or reload (informers, sockets, timers). */
  onShutdown(fn: () => unknown): void;
  /** Services shared by plugins of one server (e.g. the metrics registry). */
  shared: Map<string, unknown>;
}

export interface Plugin {
  name: string;
  /** Wraps the rest of the chain. */
  handler(next: Handler): Handler;
  /** Called once the whole server is up (e.g. to start informers); optional. */
  start?(): Promise<void>;
  /** `ready` plugin: true once this plugin can serve (e.g. its informers synced). */
  ready?(): boolean;
}

/** Builds a plugin from its Corefile directive (throws a CorefileError on bad arguments). */
export type PluginSetup = (d: Directive, ctx: PluginContext) => Plugin | Promise<Plugin>;

/**
 * Starts the response to a request: same id, opcode, RD, CD and question, QR set,
 * RCODE as given (NOERROR by default), empty sections; EDNS mirrored when the
 * request had it. Plugins set aa/answers/authority as they need.
 */
export function reply(req: DnsMessage | DnsRequest, rcode: number = RCODE.NOERROR): DnsMessage {
  const m = 'msg' in req ? req.msg : req;
  return {
    id: m.id,
    qr: true,
    opcode: m.opcode,
    aa: false,
    tc: false,
    rd: m.rd,
    ra: false,
    ad: false,
    cd: m.cd,
    rcode,
    questions: m.questions.map((q) => ({ ...q })),
    answers: [],
    authority: [],
    additional: [],
    edns: m.edns ? { udpSize: Math.max(512, Math.min(m.edns.udpSize, 4096)), version: 0, dnssecOk: m.edns.dnssecOk, options: [] } : undefined,
  };
}
