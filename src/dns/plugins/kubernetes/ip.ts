// IP address helpers for the kubernetes DNS plugin: canonical text forms
// (so "FD00:0::1" and "fd00::1" index alike), the reverse-lookup names of
// in-addr.arpa / ip6.arpa, and the dashed forms used in DNS labels.

/** Parses an IPv4 address in strict dotted-quad form (no leading zeros) into 4 bytes. */
function parse4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** Parses an IPv6 address (with optional embedded IPv4 tail) into 8 16-bit groups. */
function parse6(s: string): number[] | undefined {
  if (!s.includes(':') || /[^0-9a-fA-F:.]/.test(s)) return undefined;
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (i === items.length - 1 && it.includes('.')) {
        const v4 = parse4(it);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return undefined;
      out.push(parseInt(it, 16));
    }
    return out;
  };
  if (dbl >= 0) {
    const head = groupsOf(s.slice(0, dbl));
    const tail = groupsOf(s.slice(dbl + 2));
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    return [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  }
  const all = groupsOf(s);
  return all && all.length === 8 ? all : undefined;
}

/** Formats 8 groups as RFC 5952 text (lower case, longest zero run of 2+ compressed). */
function format6(g: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export interface ParsedIP {
  family: 4 | 6;
  /** Canonical text form. */
  text: string;
}

/** Parses an IP address; undefined if it is not one. IPv4-mapped IPv6 stays IPv6. */
export function parseIP(s: string): ParsedIP | undefined {
  const v4 = parse4(s);
  if (v4) return { family: 4, text: v4.join('.') };
  const v6 = parse6(s);
  if (v6) return { family: 6, text: format6(v6) };
  return undefined;
}

/** The canonical text of an IP address (the input unchanged if it is not one). */
export function canonicalIP(s: string): string {
  return parseIP(s)?.text ?? s;
}

/** The reverse-lookup name of an address: 10.96.0.12 -> "12.0.96.10.in-addr.arpa.". */
export function reverseName(ip: string): string | undefined {
  const v4 = parse4(ip);
  if (v4) return `${[...v4].reverse().join('.')}.in-addr.arpa.`;
  const v6 = parse6(ip);
  if (!v6) return undefined;
  const nibbles = v6.flatMap((g) => [(g >> 12) & 15, (g >> 8) & 15, (g >> 4) & 15, g & 15].map((n) => n.toString(16)));
  return `${nibbles.reverse().join('.')}.ip6.arpa.`;
}

/** The address named by a complete reverse-lookup name (lower-case, fully qualified), else undefined. */
export function addressFromReverse(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa.')) {
    const labels = name.slice(0, -'.in-addr.arpa.'.length).split('.');
    if (labels.length !== 4) return undefined;
    return parseIP(labels.reverse().join('.'))?.text;
  }
  if (name.endsWith('.ip6.arpa.')) {
    const labels = name.slice(0, -'.ip6.arpa.'.length).split('.');
    if (labels.length !== 32 || labels.some((l) => !/^[0-9a-f]$/.test(l))) return undefined;
    const hex = labels.reverse().join('');
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    return parseIP(groups.join(':'))?.text;
  }
  return undefined;
}

/** True for names under in-addr.arpa. or ip6.arpa. (and those zones themselves). */
export function isReverseName(name: string): boolean {
  return /(^|\.)(in-addr|ip6)\.arpa\.$/.test(name);
}

/** An address as one DNS label: "10.244.3.64" -> "10-244-3-64", "fd00::1" -> "fd00--1" (a trailing "-" gets a "0"). */
export function dashedIP(ip: string): string {
  const text = canonicalIP(ip);
  if (text.includes('.') && !text.includes(':')) return text.replaceAll('.', '-');
  const d = text.replaceAll(':', '-');
  return d.endsWith('-') ? `${d}0` : d;
}

/** The address a pod label names ("10-244-3-64", "fd00--1"), else undefined. */
export function ipFromDashed(label: string): ParsedIP | undefined {
  const dashes = label.split('-').length - 1;
  const text = dashes === 3 && !label.includes('--') ? label.replaceAll('-', '.') : label.replaceAll('-', ':');
  return parseIP(text);
}
