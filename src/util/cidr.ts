// IPv4 CIDR math (service and pod ranges).

export interface Cidr4 {
  base: number; // network address as an unsigned 32-bit number
  prefix: number;
  size: number; // number of addresses
  text: string;
}

export function ipToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255) || m.slice(1).some((p) => p.length > 1 && p.startsWith('0'))) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(text: string): Cidr4 {
  const [ip, p] = text.split('/');
  const base = ipToInt(ip ?? '');
  const prefix = Number(p);
  if (base === undefined || !/^\d+$/.test(p ?? '') || prefix < 0 || prefix > 32) throw new Error(`invalid CIDR address: ${text}`);
  const size = 2 ** (32 - prefix);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (base & mask) >>> 0, prefix, size, text: `${intToIp((base & mask) >>> 0)}/${prefix}` };
}

export function cidrContains(c: Cidr4, ip: string): boolean {
  const n = ipToInt(ip);
  return n !== undefined && n >= c.base && n < c.base + c.size;
}

/** The n-th address of the range (0 is the network address). */
export function nthIp(c: Cidr4, n: number): string {
  return intToIp(c.base + n);
}
