// String formats used throughout the API, as upstream's
// k8s.io/apimachinery/pkg/util/validation: each check returns the list of
// problems (empty when the value is fine), worded as upstream words them, so
// callers can wrap each message in a field error.

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;
export const DNS1035_LABEL_MAX = 63;
export const LABEL_VALUE_MAX = 63;

export const maxLenError = (n: number): string => `must be no more than ${n} characters`;
export const inclusiveRangeError = (lo: number, hi: number): string => `must be between ${lo} and ${hi}, inclusive`;
export const emptyError = (): string => 'must be non-empty';

/** `msg (e.g. 'a' or 'b', regex used for validation is 'fmt')`, as upstream's RegexError. */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  // Upstream separates examples with " or " after each example's trailing ", ": the double space is theirs.
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`;
}

const whole = (fmt: string): RegExp => new RegExp(`^(?:${fmt})$`);

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123LabelErr =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1123SubdomainErr =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?';
const dns1035LabelErr =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const wildcardSubdomainFmt = `\\*\\.${dns1123SubdomainFmt}`;
const wildcardSubdomainErr =
  "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character";

const dns1123LabelRe = whole(dns1123LabelFmt);
const dns1123SubdomainRe = whole(dns1123SubdomainFmt);
const dns1035LabelRe = whole(dns1035LabelFmt);
const wildcardSubdomainRe = whole(wildcardSubdomainFmt);

export function isDNS1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_LABEL_MAX) errs.push(maxLenError(DNS1123_LABEL_MAX));
  if (!dns1123LabelRe.test(v)) {
    // A valid subdomain of legal length that is not a label can only be failing on its dots.
    if (dns1123SubdomainRe.test(v)) errs.push('must not contain dots');
    else errs.push(regexError(dns1123LabelErr, dns1123LabelFmt, 'my-name', '123-abc'));
  }
  return errs;
}

export function isDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!dns1123SubdomainRe.test(v)) errs.push(regexError(dns1123SubdomainErr, dns1123SubdomainFmt, 'example.com'));
  return errs;
}

export function isDNS1035Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1035_LABEL_MAX) errs.push(maxLenError(DNS1035_LABEL_MAX));
  if (!dns1035LabelRe.test(v)) errs.push(regexError(dns1035LabelErr, dns1035LabelFmt, 'my-name', 'abc-123'));
  return errs;
}

export function isWildcardDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!wildcardSubdomainRe.test(v)) errs.push(regexError(wildcardSubdomainErr, wildcardSubdomainFmt, '*.example.com'));
  return errs;
}

// ---- object names: a name function checks a name, or a generateName prefix ----

export type NameFn = (name: string, prefix: boolean) => string[];

/** A generateName prefix may end in '-': mask it so the name checks still apply. */
const maskTrailingDash = (name: string): string => (name.endsWith('-') ? `${name.slice(0, -1)}a` : name);

export const nameIsDNSSubdomain: NameFn = (n, prefix) => isDNS1123Subdomain(prefix ? maskTrailingDash(n) : n);
export const nameIsDNSLabel: NameFn = (n, prefix) => isDNS1123Label(prefix ? maskTrailingDash(n) : n);
export const nameIsDNS1035Label: NameFn = (n, prefix) => isDNS1035Label(prefix ? maskTrailingDash(n) : n);

// ---- label keys and values (qualified names) ----

const labelKeyFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const labelKeyErr = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const labelKeyRe = whole(labelKeyFmt);
const labelValueFmt = `(${labelKeyFmt})?`;
const labelValueErr =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const labelValueRe = whole(labelValueFmt);

/** A "qualified name" (label key): an optional DNS subdomain prefix and '/', then a name of up to 63 characters. */
export function isQualifiedName(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push(`prefix part ${emptyError()}`);
    else for (const m of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${m}`);
  } else {
    return [
      `a valid label key ${regexError(labelKeyErr, labelKeyFmt, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push(`name part ${emptyError()}`);
  else if (name.length > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!labelKeyRe.test(name)) errs.push(`name part ${regexError(labelKeyErr, labelKeyFmt, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

export function isLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > LABEL_VALUE_MAX) errs.push(maxLenError(LABEL_VALUE_MAX));
  if (!labelValueRe.test(v)) errs.push(regexError(labelValueErr, labelValueFmt, 'MyValue', 'my_value', '12345'));
  return errs;
}

// ---- ports, identifiers, keys ----

export function isValidPortNum(p: number): string[] {
  return Number.isInteger(p) && p >= 1 && p <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

/** IANA_SVC_NAME: at most 15 characters of [-a-z0-9], at least one letter, no leading, trailing or double hyphen. */
export function isValidPortName(p: string): string[] {
  const errs: string[] = [];
  if (p.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(p)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(p)) errs.push('must contain at least one letter (a-z)');
  if (p.includes('--')) errs.push('must not contain consecutive hyphens');
  if (p.length > 0 && (p.startsWith('-') || p.endsWith('-'))) errs.push('must not begin or end with a hyphen');
  return errs;
}

function hasChDirPrefix(v: string): string[] {
  if (v === '.') return ["must not be '.'"];
  if (v === '..') return ["must not be '..'"];
  if (v.startsWith('..')) return ["must not start with '..'"];
  return [];
}

const envVarNameFmt = '[-._a-zA-Z][-._a-zA-Z0-9]*';
const envVarNameErr =
  "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit";
const envVarNameRe = whole(envVarNameFmt);

export function isEnvVarName(v: string): string[] {
  const errs: string[] = [];
  if (!envVarNameRe.test(v)) errs.push(regexError(envVarNameErr, envVarNameFmt, 'my.env-name', 'MY_ENV.NAME', 'MyEnvName1'));
  return errs.concat(hasChDirPrefix(v));
}

const configMapKeyFmt = '[-._a-zA-Z0-9]+';
const configMapKeyErr = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";
const configMapKeyRe = whole(configMapKeyFmt);

/** Keys of ConfigMap and Secret data. */
export function isConfigMapKey(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!configMapKeyRe.test(v)) errs.push(regexError(configMapKeyErr, configMapKeyFmt, 'key.name', 'KEY_NAME', 'key-name'));
  return errs.concat(hasChDirPrefix(v));
}

const cIdentifierFmt = '[A-Za-z_][A-Za-z0-9_]*';
export function isCIdentifier(v: string): string[] {
  return whole(cIdentifierFmt).test(v)
    ? []
    : [
        regexError(
          "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'",
          cIdentifierFmt,
          'my_name',
          'MY_NAME',
          'MyName',
        ),
      ];
}

const httpHeaderNameFmt = '[-A-Za-z0-9]+';
export function isHTTPHeaderName(v: string): string[] {
  return whole(httpHeaderNameFmt).test(v)
    ? []
    : [regexError("a valid HTTP header must consist of alphanumeric characters or '-'", httpHeaderNameFmt, 'X-Header-Name')];
}

const percentFmt = '[0-9]+%';
export function isValidPercent(v: string): string[] {
  return whole(percentFmt).test(v)
    ? []
    : [regexError("a valid percent string must be a numeric string followed by an ending '%'", percentFmt, '1%', '93%')];
}

const httpPathFmt = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+";
/** `acme.io/foo`: a DNS subdomain, '/', and an HTTP path. Returns [value-in-error, message] pairs. */
export function isDomainPrefixedPath(v: string): Array<[string, string]> {
  const segs = v.split('/');
  const host = segs[0]!;
  const path = segs.slice(1).join('/');
  if (segs.length < 2 || host.length === 0 || path.length === 0) {
    return [[v, 'must be a domain-prefixed path (such as "acme.io/foo")']];
  }
  const out: Array<[string, string]> = isDNS1123Subdomain(host).map((m) => [host, m]);
  if (!whole(httpPathFmt).test(path)) out.push([path, regexError('Invalid path', httpPathFmt)]);
  return out;
}

// ---- IP addresses and CIDRs (Go's sloppy parsing: IPv4 octets may carry leading zeros) ----

export interface ParsedIP {
  family: 4 | 6;
  /** 4 or 16 bytes. */
  bytes: number[];
}

function parseIPv4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

function parseIPv6(s: string): number[] | null {
  if (!/^[0-9A-Fa-f:.]+$/.test(s)) return null;
  let tail4: number[] = [];
  let body = s;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return null;
    tail4 = v4;
    body = s.slice(0, lastColon + 1) + '0:0';
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !rest) return null;
  let words: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return null;
    words = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    if (head.length !== 8) return null;
    words = head;
  }
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  if (tail4.length) bytes.splice(12, 4, ...tail4);
  return bytes;
}

export function parseIP(s: unknown): ParsedIP | null {
  if (typeof s !== 'string' || s.length === 0) return null;
  if (s.includes(':')) {
    const b = parseIPv6(s);
    if (!b) return null;
    // An IPv4-mapped IPv6 address is an IPv4 address, as Go sees it.
    const mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
    return mapped ? { family: 4, bytes: b.slice(12) } : { family: 6, bytes: b };
  }
  const b = parseIPv4(s);
  return b ? { family: 4, bytes: b } : null;
}

export interface ParsedCIDR {
  ip: ParsedIP;
  prefix: number;
}

export function parseCIDR(s: unknown): ParsedCIDR | null {
  if (typeof s !== 'string') return null;
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const addr = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bits)) return null;
  const ip = parseIP(addr);
  if (!ip) return null;
  const prefix = Number(bits);
  // An IPv4-mapped address keeps its IPv6 prefix length semantics in Go; keep it simple: bound by family.
  const max = addr.includes(':') ? 128 : 32;
  if (prefix > max) return null;
  return { ip, prefix: addr.includes(':') && ip.family === 4 ? Math.max(0, prefix - 96) : prefix };
}

/** Whether `ip` falls within `cidr`. */
export function cidrContains(cidr: ParsedCIDR, ip: ParsedIP): boolean {
  if (cidr.ip.family !== ip.family) return false;
  let bits = cidr.prefix;
  for (let i = 0; i < ip.bytes.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((cidr.ip.bytes[i]! & mask) !== (ip.bytes[i]! & mask)) return false;
  }
  return true;
}

export const IP_ERROR = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';
export const CIDR_ERROR = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

/** Problems with an IP that parses but is meaningless as an endpoint or external address. */
export function nonSpecialIPErrors(value: string): string[] {
  const ip = parseIP(value);
  if (!ip) return ['must be a valid IP address'];
  const b = ip.bytes;
  const errs: string[] = [];
  if (b.every((x) => x === 0)) errs.push(`may not be unspecified (${value})`);
  const loopback = ip.family === 4 ? b[0] === 127 : b.slice(0, 15).every((x) => x === 0) && b[15] === 1;
  if (loopback) errs.push('may not be in the loopback range (127.0.0.0/8, ::1/128)');
  const linkLocalUnicast = ip.family === 4 ? b[0] === 169 && b[1] === 254 : b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
  if (linkLocalUnicast) errs.push('may not be in the link-local range (169.254.0.0/16, fe80::/10)');
  const linkLocalMulticast = ip.family === 4 ? b[0] === 224 && b[1] === 0 && b[2] === 0 : b[0] === 0xff && (b[1]! & 0x0f) === 0x02;
  if (linkLocalMulticast) errs.push('may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)');
  return errs;
}
