// Corefile parser (Caddyfile syntax as CoreDNS uses it):
//
//   # comment
//   zone1 zone2:port {            <- server block keys (zone[:port], dns:// prefix, CIDR)
//       directive arg "quoted arg" {$ENV_VAR}
//       directive arg {
//           subdirective args...
//       }
//   }
//
// Errors carry the line: "Corefile:12 - Error during parsing: ...".

import type { Directive } from './types.js';

export class CorefileError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
    kind = 'Error during parsing',
  ) {
    super(line > 0 ? `${file}:${line} - ${kind}: ${message}` : `${file} - ${kind}: ${message}`);
    this.name = 'CorefileError';
  }
}

export interface ServerBlock {
  /** The keys as written (".:53", "cluster.local"). */
  keys: string[];
  /** Normalized zones (lower-case, fully qualified). */
  zones: string[];
  port: number;
  directives: Directive[];
  /** "Corefile:1" */
  location: string;
}

interface Token {
  text: string;
  line: number;
  quoted: boolean;
}

/** Replaces {$VAR} and {%VAR%} with environment values (empty when unset), as Caddy does. */
export function substituteEnv(text: string, env: NodeJS.ProcessEnv = process.env): string {
  return text.replace(/\{\$([A-Za-z_][A-Za-z0-9_]*)\}|\{%([A-Za-z_][A-Za-z0-9_]*)%\}/g, (_m, a: string, b: string) => env[a ?? b] ?? '');
}

export function tokenize(text: string, file = 'Corefile'): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i]!;
    if (ch === '\n') {
      line++;
      i++;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\f' || ch === '\v') {
      i++;
      continue;
    }
    if (ch === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (ch === '"' || ch === '`') {
      const startLine = line;
      let s = '';
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i]!;
        if (ch === '"' && c === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) {
          s += text[i + 1];
          i += 2;
          continue;
        }
        if (c === ch) {
          closed = true;
          i++;
          break;
        }
        if (c === '\n') line++;
        s += c;
        i++;
      }
      if (!closed) throw new CorefileError('Unterminated quoted string', file, startLine);
      out.push({ text: s, line: startLine, quoted: true });
      continue;
    }
    let s = '';
    while (i < n) {
      const c = text[i]!;
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') break;
      if (c === '"' && s === '') break;
      s += c;
      i++;
    }
    out.push({ text: s, line, quoted: false });
  }
  return out;
}

/** "example.org" -> "example.org."; CIDR "10.0.0.0/8" -> "10.in-addr.arpa." (octet boundaries only). */
export function normalizeZone(z: string): string | undefined {
  const cidr = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(z);
  if (cidr) {
    const bits = Number(cidr[5]);
    if (bits % 8 !== 0 || bits > 32) return undefined;
    const octets = cidr.slice(1, 1 + bits / 8).reverse();
    return [...octets, 'in-addr', 'arpa'].join('.') + '.';
  }
  if (z.includes('/')) return undefined;
  const n = z.toLowerCase();
  if (n === '' || n === '.') return '.';
  return n.endsWith('.') ? n : n + '.';
}

function parseKey(key: string, file: string, line: number): { zone: string; port: number } {
  let k = key;
  const scheme = /^([a-z0-9+]+):\/\//i.exec(k);
  if (scheme) {
    if (scheme[1]!.toLowerCase() !== 'dns') throw new CorefileError(`unsupported transport '${scheme[1]}' in server block key '${key}' (only dns:// is served)`, file, line);
    k = k.slice(scheme[0].length);
  }
  let port = 53;
  // zone:port (zones never contain ':', except a bracketed IPv6 which we don't accept as a zone)
  const idx = k.lastIndexOf(':');
  if (idx >= 0) {
    const p = k.slice(idx + 1);
    if (!/^\d+$/.test(p) || Number(p) > 65535) throw new CorefileError(`invalid port '${p}' in server block key '${key}'`, file, line);
    port = Number(p);
    k = k.slice(0, idx);
  }
  const zone = normalizeZone(k === '' ? '.' : k);
  if (!zone) throw new CorefileError(`invalid zone '${k}' in server block key '${key}'`, file, line);
  return { zone, port };
}

/**
 * Parses a Corefile into server blocks. One block with several keys on
 * different ports becomes one ServerBlock per port. Checks syntax only: whether
 * each directive names a known plugin is checked by the registry at setup.
 */
export function parseCorefile(text: string, opts: { file?: string; env?: NodeJS.ProcessEnv } = {}): ServerBlock[] {
  const file = opts.file ?? 'Corefile';
  const toks = tokenize(substituteEnv(text, opts.env ?? process.env), file);
  const blocks: ServerBlock[] = [];
  const seen = new Map<string, number>();
  let i = 0;
  const err = (msg: string, line: number): never => {
    throw new CorefileError(msg, file, line);
  };
  while (i < toks.length) {
    const startLine = toks[i]!.line;
    // Server block keys: tokens until '{' (comma separated or space separated).
    const keys: string[] = [];
    while (i < toks.length && !(toks[i]!.text === '{' && !toks[i]!.quoted)) {
      const t = toks[i]!;
      if (t.text === '}' && !t.quoted) err(`Unexpected '}' because no matching opening brace`, t.line);
      if (t.text.endsWith('{') && !t.quoted && t.text.length > 1) {
        keys.push(...t.text.slice(0, -1).split(',').filter(Boolean));
        toks.splice(i, 1, { text: '{', line: t.line, quoted: false });
        break;
      }
      keys.push(...t.text.split(',').filter(Boolean));
      i++;
    }
    if (i >= toks.length) err(`Expected '{' to open the server block for '${keys.join(' ')}'`, startLine);
    if (keys.length === 0) err(`Server block without a key`, toks[i]!.line);
    i++; // '{'
    const byPort = new Map<number, string[]>();
    const keyList: string[] = [];
    for (const k of keys) {
      const { zone, port } = parseKey(k, file, startLine);
      const id = `${zone}:${port}`;
      if (seen.has(id)) throw new CorefileError(`cannot serve dns://${zone}:${port} - it is already defined`, file, startLine, 'Error during setup');
      seen.set(id, startLine);
      if (!byPort.has(port)) byPort.set(port, []);
      byPort.get(port)!.push(zone);
      keyList.push(k);
    }
    // Directives until the matching '}'.
    const directives: Directive[] = [];
    let closed = false;
    while (i < toks.length) {
      const t = toks[i]!;
      if (t.text === '}' && !t.quoted) {
        closed = true;
        i++;
        break;
      }
      if (t.text === '{' && !t.quoted) err(`Unexpected '{' without a directive`, t.line);
      const line = t.line;
      const args: string[] = [];
      i++;
      let hasBlock = false;
      while (i < toks.length && toks[i]!.line === line) {
        const a = toks[i]!;
        if (!a.quoted && a.text === '{') {
          hasBlock = true;
          i++;
          break;
        }
        if (!a.quoted && a.text === '}') break;
        args.push(a.text);
        i++;
      }
      const block: string[][] = [];
      if (hasBlock) {
        let bclosed = false;
        while (i < toks.length) {
          const s = toks[i]!;
          if (!s.quoted && s.text === '}') {
            bclosed = true;
            i++;
            break;
          }
          if (!s.quoted && s.text === '{') err(`Unexpected '{' (nested blocks are not supported here)`, s.line);
          const row: string[] = [s.text];
          i++;
          while (i < toks.length && toks[i]!.line === s.line) {
            const a = toks[i]!;
            if (!a.quoted && a.text === '}') break;
            if (!a.quoted && a.text === '{') err(`Unexpected '{' (nested blocks are not supported here)`, a.line);
            row.push(a.text);
            i++;
          }
          block.push(row);
        }
        if (!bclosed) err(`Unexpected EOF: missing '}' for directive '${t.text}'`, line);
      }
      directives.push({ name: t.text, args, block, location: `${file}:${line}` });
    }
    if (!closed) err(`Unexpected EOF: missing '}' for the server block '${keys.join(' ')}'`, startLine);
    for (const [port, zones] of byPort) {
      blocks.push({ keys: keyList, zones, port, directives, location: `${file}:${startLine}` });
    }
  }
  return blocks;
}

/** Line number from a Directive's location ("Corefile:12" -> 12). */
export function directiveLine(d: Directive): number {
  const m = /:(\d+)$/.exec(d.location);
  return m ? Number(m[1]) : 0;
}

/** Throws a CorefileError for a directive ("Corefile:12 - Error during parsing: ..."). */
export function directiveError(d: Directive, message: string): CorefileError {
  const m = /^(.*):(\d+)$/.exec(d.location);
  return new CorefileError(message, m ? m[1]! : 'Corefile', m ? Number(m[2]) : 0);
}

/** Parses a Go-style duration ("5s", "500ms", "1m30s", "2h"); a bare number means seconds. */
export function parseDuration(s: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    const v = Number(m[1]);
    const unit = m[2]!;
    total += unit === 'h' ? v * 3600e3 : unit === 'm' ? v * 60e3 : unit === 's' ? v * 1e3 : unit === 'ms' ? v : unit === 'ns' ? v / 1e6 : v / 1e3;
    matched = re.lastIndex;
  }
  return matched === s.length && s.length > 0 ? total : undefined;
}
