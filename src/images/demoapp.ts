// k8ts/demoapp: the small HTTP server behind the catalog's web images, in the
// manner of ikubernetes/demoapp (the seeds' demoapp) and, with --flavor nginx,
// of the nginx images the seeds build (a page, a document root, proxy_pass).
// It depends on node's built-ins only, so that a pod of it stays small.
//
//   GET  /           demoapp: "iKubernetes demoapp v1.0 !! ClientIP: ..., ServerName: ..., ServerIP: ...!"
//   GET  /hostname   "ServerName: <hostname>"
//   GET  /livez      "OK" (200), or the status set by POST livez=<s> (506)
//   GET  /readyz     "OK" (200), or the status set by POST readyz=<s> (507)
//   POST /livez|/readyz with form body livez=err / readyz=OK flips them
//   GET  /configs, /user-agent, /headers, /echo
//
// Options (flags win over env): -p/--port (PORT, 80), -h/--host (HOST,
// 0.0.0.0), --version (VERSION, v1.0), --flavor demoapp|nginx (FLAVOR),
// --page TEXT (PAGE; $VAR expanded from the environment, HOSTNAME defaulting
// to the host name), --root DIR (ROOT; nginx flavor's document root),
// --proxy PREFIX=URL (repeatable; nginx's `location PREFIX { proxy_pass URL; }`),
// --server-header TEXT (SERVER_HEADER).

import { readFile, realpath, stat } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Flavor = 'demoapp' | 'nginx';

export interface ProxyRule {
  prefix: string;
  target: URL;
  /** proxy_pass with a URI (http://h/ or http://h/x/): the prefix is replaced by it; without: the request URI passes unchanged. */
  withUri: boolean;
}

export interface DemoappOptions {
  port: number;
  host: string;
  version: string;
  flavor: Flavor;
  page?: string;
  root?: string;
  proxies: ProxyRule[];
  serverHeader: string;
}

export class UsageError extends Error {}

/** `$VAR` and `${VAR}` from env (HOSTNAME defaults to the host name), as a shell `echo "..."` would. */
export function expandTemplate(text: string, env: NodeJS.ProcessEnv, hostname = os.hostname()): string {
  const lookup = (name: string): string => env[name] ?? (name === 'HOSTNAME' ? hostname : '');
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a, b) => lookup(a ?? b));
}

export function parseProxyRule(spec: string): ProxyRule {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new UsageError(`--proxy wants PREFIX=URL, got "${spec}"`);
  const prefix = spec.slice(0, eq);
  let target: URL;
  try {
    target = new URL(spec.slice(eq + 1));
  } catch {
    throw new UsageError(`--proxy ${spec}: not a URL`);
  }
  if (target.protocol !== 'http:') throw new UsageError(`--proxy ${spec}: only http:// upstreams are supported`);
  if (!prefix.startsWith('/')) throw new UsageError(`--proxy ${spec}: the prefix must start with /`);
  const withUri = /^http:\/\/[^/?#]+[/?]/i.test(spec.slice(eq + 1));
  return { prefix, target, withUri };
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): DemoappOptions {
  const flavorOf = (s: string): Flavor => {
    if (s === 'demoapp' || s === 'nginx') return s;
    throw new UsageError(`unknown flavor "${s}" (demoapp, nginx)`);
  };
  const o: DemoappOptions = {
    port: env.PORT ? Number(env.PORT) : 80,
    host: env.HOST || '0.0.0.0',
    version: env.VERSION || 'v1.0',
    flavor: flavorOf(env.FLAVOR || 'demoapp'),
    page: env.PAGE || undefined,
    root: env.ROOT || undefined,
    proxies: [],
    serverHeader: env.SERVER_HEADER || '',
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let value: string | undefined;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    if (eq > 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const next = (): string => {
      if (value !== undefined) return value;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '-p': case '--port': o.port = Number(next()); break;
      case '-h': case '--host': o.host = next(); break;
      case '--version': o.version = next(); break;
      case '--flavor': o.flavor = flavorOf(next()); break;
      case '--page': o.page = next(); break;
      case '--root': o.root = next(); break;
      case '--proxy': o.proxies.push(parseProxyRule(next())); break;
      case '--server-header': o.serverHeader = next(); break;
      case '-v': case '--verbose': break;
      default: throw new UsageError(`unknown argument "${argv[i]}"`);
    }
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new UsageError(`invalid port "${o.port}"`);
  if (!o.serverHeader) {
    o.serverHeader = o.flavor === 'nginx' ? `nginx/${env.NGINX_VERSION || '1.23.0'}` : 'Werkzeug/1.0.1 Python/3.8.5';
  }
  // Longest prefix first, as nginx picks the most specific location.
  o.proxies.sort((a, b) => b.prefix.length - a.prefix.length);
  return o;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number): string => String(n).padStart(2, '0');

/** werkzeug's access log line: `10.244.0.1 - - [15/Jul/2022 12:45:57] "GET / HTTP/1.1" 200 -`. */
export function werkzeugLogLine(client: string, d: Date, requestLine: string, status: number): string {
  const ts = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${client} - - [${ts}] "${requestLine}" ${status} -`;
}

/** nginx's combined log line (+ X-Forwarded-For), as the nginx images print it. */
export function nginxLogLine(client: string, d: Date, requestLine: string, status: number, bytes: number, referer: string, ua: string, xff: string): string {
  const ts = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
  return `${client} - - [${ts}] "${requestLine}" ${status} ${bytes} "${referer || '-'}" "${ua || '-'}" "${xff || '-'}"`;
}

function bareIp(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** The address the server is known by: the first non-loopback IPv4 (the pod IP in a pod), else the socket's. */
export function serverIp(localAddress: string | undefined): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return bareIp(localAddress) || '127.0.0.1';
}

const NGINX_WELCOME = `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
`;

function nginxErrorPage(status: number, text: string, server: string): string {
  return `<html>\r\n<head><title>${status} ${text}</title></head>\r\n<body>\r\n<center><h1>${status} ${text}</h1></center>\r\n<hr><center>${server}</center>\r\n</body>\r\n</html>\r\n`;
}

const MIME: Record<string, string> = {
  '.html': 'text/html', '.htm': 'text/html', '.txt': 'text/plain', '.css': 'text/css', '.js': 'application/javascript',
  '.json': 'application/json', '.png': 'image/png', '.jpg': 'image/jpeg', '.gif': 'image/gif', '.svg': 'image/svg+xml',
};

export interface Demoapp {
  server: http.Server;
  health: { livez: string; readyz: string };
}

/** Builds the server (not yet listening). `log` receives one access-log line per request. */
export function createDemoapp(o: DemoappOptions, log: (line: string) => void = (l) => process.stdout.write(l + '\n'), env: NodeJS.ProcessEnv = process.env): Demoapp {
  const health = { livez: 'OK', readyz: 'OK' };
  const hostname = os.hostname();
  const page = o.page !== undefined ? expandTemplate(o.page, env, hostname).replace(/\n?$/, '\n') : undefined;

  const server = http.createServer((req, res) => {
    const started = new Date();
    const client = bareIp(req.socket.remoteAddress);
    const requestLine = `${req.method} ${req.url} HTTP/${req.httpVersion}`;
    let bytes = 0;
    res.setHeader('Server', o.serverHeader);
    res.on('finish', () => {
      if (o.flavor === 'nginx') {
        const h = req.headers;
        log(nginxLogLine(client, started, requestLine, res.statusCode, bytes, String(h.referer ?? ''), String(h['user-agent'] ?? ''), String(h['x-forwarded-for'] ?? '')));
      } else {
        log(werkzeugLogLine(client, started, requestLine, res.statusCode));
      }
    });
    const send = (status: number, body: string | Buffer, type = 'text/html; charset=utf-8'): void => {
      const buf = typeof body === 'string' ? Buffer.from(body) : body;
      res.statusCode = status;
      res.setHeader('Content-Type', type);
      res.setHeader('Content-Length', buf.length);
      if (req.method === 'HEAD') {
        res.end();
      } else {
        bytes = buf.length;
        res.end(buf);
      }
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;

    const rule = o.proxies.find((p) => path.startsWith(p.prefix));
    if (rule) {
      proxy(req, res, rule, url, o, (n) => (bytes = n));
      return;
    }

    if (path === '/livez' || path === '/readyz') {
      const key = path.slice(1) as 'livez' | 'readyz';
      if (req.method === 'POST') {
        readBody(req).then((body) => {
          const form = new URLSearchParams(body);
          const v = form.get(key);
          if (v === null) return send(400, `missing form field "${key}"\n`, 'text/plain; charset=utf-8');
          health[key] = v;
          send(200, '');
        }, () => send(400, ''));
        return;
      }
      const ok = health[key] === 'OK';
      return send(ok ? 200 : key === 'livez' ? 506 : 507, health[key]);
    }
    if (path === '/hostname') return send(200, `ServerName: ${hostname}\n`);

    if (o.flavor === 'demoapp') {
      switch (path) {
        case '/':
          if (page !== undefined) return send(200, page);
          return send(200, `iKubernetes demoapp ${o.version} !! ClientIP: ${client}, ServerName: ${hostname}, ServerIP: ${serverIp(req.socket.localAddress)}!\n`);
        case '/configs':
          return send(200, `DEPLOYENV: ${env.DEPLOYENV ?? 'None'}\nRELEASE: ${env.RELEASE ?? 'None'}\n`);
        case '/user-agent':
          return send(200, `User-Agent: ${req.headers['user-agent'] ?? 'None'}\n`);
        case '/headers':
          return send(200, JSON.stringify(req.headers, null, 2) + '\n', 'application/json');
        case '/echo':
          readBody(req).then((b) => send(200, b || '\n', 'text/plain; charset=utf-8'), () => send(400, ''));
          return;
        default:
          return send(404, '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n');
      }
    }

    // nginx flavor: static files from the root, the page or the welcome page at /.
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, nginxErrorPage(405, 'Not Allowed', o.serverHeader));
    serveStatic(o, path, page).then(
      (r) => (r ? send(200, r.body, r.type) : send(404, nginxErrorPage(404, 'Not Found', o.serverHeader))),
      () => send(500, nginxErrorPage(500, 'Internal Server Error', o.serverHeader)),
    );
  });
  return { server, health };
}

async function serveStatic(o: DemoappOptions, path: string, page: string | undefined): Promise<{ body: Buffer | string; type: string } | undefined> {
  let rel = path.endsWith('/') ? path + 'index.html' : path;
  try {
    rel = decodeURIComponent(rel);
  } catch {
    return undefined;
  }
  const isIndex = rel === '/index.html';
  if (isIndex && page !== undefined) return { body: page, type: 'text/html' };
  if (o.root) {
    const file = join(o.root, normalize(rel));
    if (file.startsWith(o.root)) {
      try {
        const real = await realpath(file);
        if ((await stat(real)).isFile()) {
          const ext = /\.[^./]+$/.exec(real)?.[0] ?? '';
          return { body: await readFile(real), type: MIME[ext] ?? 'application/octet-stream' };
        }
      } catch {
        // fall through
      }
    }
  }
  if (isIndex) return { body: NGINX_WELCOME, type: 'text/html' };
  return undefined;
}

function readBody(req: http.IncomingMessage, limit = 1 << 20): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** nginx's proxy_pass with a URI: the matched prefix is replaced by the target's path. */
export function proxyPath(rule: ProxyRule, path: string, search: string): string {
  if (!rule.withUri) return path + search;
  const base = rule.target.pathname || '/';
  return base + path.slice(rule.prefix.length).replace(/^\/+/, base.endsWith('/') ? '' : '/') + search;
}

function proxy(req: http.IncomingMessage, res: http.ServerResponse, rule: ProxyRule, url: URL, o: DemoappOptions, counted: (n: number) => void): void {
  const headers: http.OutgoingHttpHeaders = { ...req.headers, host: rule.target.host, connection: 'close' };
  const upstream = http.request(
    {
      host: rule.target.hostname,
      port: rule.target.port || 80,
      method: req.method,
      path: proxyPath(rule, url.pathname, url.search),
      headers,
      timeout: 60_000,
    },
    (up) => {
      res.statusCode = up.statusCode ?? 502;
      for (const [k, v] of Object.entries(up.headers)) {
        if (v === undefined || k === 'connection' || k === 'keep-alive' || k === 'transfer-encoding' || k === 'server') continue;
        res.setHeader(k, v);
      }
      let n = 0;
      up.on('data', (c: Buffer) => (n += c.length));
      up.on('end', () => counted(n));
      up.pipe(res);
    },
  );
  const fail = (status: number, text: string): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = nginxErrorPage(status, text, o.serverHeader);
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/html');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    counted(Buffer.byteLength(body));
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  upstream.on('timeout', () => {
    upstream.destroy();
    fail(504, 'Gateway Time-out');
  });
  upstream.on('error', () => fail(502, 'Bad Gateway'));
  req.pipe(upstream);
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  let o: DemoappOptions;
  try {
    o = parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`demoapp: ${err.message}\nusage: demoapp [-p PORT] [-h HOST] [--version V] [--flavor demoapp|nginx] [--page TEXT] [--root DIR] [--proxy PREFIX=URL]...\n`);
      process.exit(2);
    }
    throw err;
  }
  const { server } = createDemoapp(o);
  server.keepAliveTimeout = 65_000;
  // As PID 1 of a pod's PID namespace, signals without a handler are ignored: handle them.
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  server.on('error', (err) => {
    process.stderr.write(`demoapp: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(o.port, o.host, () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : o.port;
    const what = o.flavor === 'nginx' ? `nginx-compatible server (${o.serverHeader})` : `iKubernetes demoapp ${o.version}`;
    process.stdout.write(`${what} listening on http://${o.host}:${port}/\n`);
  });
}

async function isMain(): Promise<boolean> {
  if (!process.argv[1]) return false;
  try {
    return (await realpath(process.argv[1])) === (await realpath(fileURLToPath(import.meta.url)));
  } catch {
    return false;
  }
}

if (await isMain()) await main();
