// Authentication (who is calling) and the authorization seam (may they).
//
// As upstream kube-apiserver, a request is tried against each authenticator
// in turn and the first that recognises it wins:
//   1. x509 client certificates: the TLS layer verifies the chain against the
//      cluster CA (the server runs with requestCert, rejectUnauthorized:false);
//      the user is the subject CN, the groups its O values.
//   2. static bearer tokens (--token-auth-file): CSV `token,user,uid,"g1,g2"`.
// Every authenticated user also gets the group system:authenticated. A
// request without credentials is anonymous; one whose credentials are
// presented but invalid is rejected (401) even where anonymous access is
// allowed, as upstream does.

import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { logger } from '../util/log.js';

const log = logger('apiserver/authn');

export const SYSTEM_AUTHENTICATED = 'system:authenticated';
export const SYSTEM_UNAUTHENTICATED = 'system:unauthenticated';
export const ANONYMOUS_USER = 'system:anonymous';
export const SYSTEM_MASTERS = 'system:masters';

const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const OID_ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

/** user.Info: who made a request. */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** The user of a request without credentials. */
export function anonymousUser(): UserInfo {
  return { name: ANONYMOUS_USER, groups: [SYSTEM_UNAUTHENTICATED] };
}

/** Adds system:authenticated (upstream's AuthenticatedGroupAdder). */
function withAuthenticatedGroup(u: UserInfo): UserInfo {
  if (u.name === ANONYMOUS_USER || u.groups.includes(SYSTEM_AUTHENTICATED)) return u;
  return { ...u, groups: [...u.groups, SYSTEM_AUTHENTICATED] };
}

// ------------------------------------------------------ client certificate --

/**
 * The user a verified client certificate names: CN is the user, O values
 * the groups (plus system:authenticated). Undefined unless the TLS layer
 * verified the certificate against the CA (`socket.authorized`), the
 * certificate allows client authentication, and it has a CN.
 */
export function userFromPeerCertificate(socket: Socket | TLSSocket | undefined): UserInfo | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  // OpenSSL already checks the purpose (ssl_client) when it verifies a
  // client's chain; checked again here so this never depends on it.
  const eku = cert.ext_key_usage;
  if (eku && eku.length && !eku.includes(OID_CLIENT_AUTH) && !eku.includes(OID_ANY_EXTENDED_KEY_USAGE)) return undefined;
  const values = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const name = values(cert.subject.CN)[0];
  if (!name) return undefined;
  return withAuthenticatedGroup({ name, groups: values(cert.subject.O) });
}

// ------------------------------------------------------------ token file --

export interface TokenAuthenticator {
  /** The user a bearer token belongs to, or undefined. */
  authenticate(token: string): UserInfo | undefined;
  /** How many tokens are known. */
  readonly size: number;
}

interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * RFC 4180 CSV as Go's encoding/csv reads it with TrimLeadingSpace: quoted
 * fields may hold commas, doubled quotes and newlines; a bare quote in an
 * unquoted field is an error. Blank lines and lines starting with # are skipped.
 */
function parseCsv(text: string, source: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  const isSpace = (c: string | undefined) => c === ' ' || c === '\t';
  const atEol = () => i >= n || text[i] === '\n' || (text[i] === '\r' && (i + 1 >= n || text[i + 1] === '\n'));
  const skipEol = () => {
    if (text[i] === '\r') i++;
    if (text[i] === '\n') {
      i++;
      line++;
    }
  };
  while (i < n) {
    const start = line;
    // Blank (or whitespace-only) line, or comment.
    let j = i;
    while (isSpace(text[j])) j++;
    if (j >= n || text[j] === '\n' || text[j] === '\r' || text[j] === '#') {
      i = j;
      while (!atEol()) i++;
      skipEol();
      continue;
    }
    const fields: string[] = [];
    for (;;) {
      while (isSpace(text[i])) i++;
      if (text[i] === '"') {
        i++;
        let v = '';
        for (;;) {
          if (i >= n) throw new Error(`${source}:${start}: unterminated quoted field ${fields.length + 1}`);
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              v += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          v += c;
          i++;
        }
        while (isSpace(text[i])) i++;
        if (!atEol() && text[i] !== ',') {
          throw new Error(`${source}:${line}: unexpected text after the closing quote of field ${fields.length + 1}`);
        }
        fields.push(v);
      } else {
        let v = '';
        while (!atEol() && text[i] !== ',') v += text[i++];
        if (v.includes('"')) throw new Error(`${source}:${line}: bare " in unquoted field ${fields.length + 1} (quote the whole field)`);
        fields.push(v.trim());
      }
      if (text[i] === ',') {
        i++;
        continue;
      }
      skipEol();
      break;
    }
    records.push({ line: start, fields });
  }
  return records;
}

/**
 * Parses a static token file (upstream --token-auth-file):
 *   token,user,uid[,"group1,group2"]
 * Errors name the line. As upstream, a record with an empty token is skipped
 * with a warning, and a repeated token replaces the earlier one (warned).
 */
export function parseTokenFile(text: string, source = 'token file'): TokenAuthenticator {
  const tokens = new Map<string, UserInfo>();
  for (const { line, fields } of parseCsv(text, source)) {
    const where = `${source}:${line}`;
    if (fields.length < 3) {
      throw new Error(`${where}: expected at least 3 columns (token, user name, user uid), found ${fields.length}`);
    }
    const [token, name, uid, groupField] = fields as [string, string, string, string | undefined];
    if (!token) {
      log.warn('empty token in token file, record skipped', { source, line });
      continue;
    }
    if (/\s/.test(token)) throw new Error(`${where}: token contains whitespace (it could not be sent as a bearer token)`);
    if (!name) throw new Error(`${where}: user name is empty`);
    if (tokens.has(token)) log.warn('duplicate token in token file, the later record wins', { source, line });
    const groups = (groupField ?? '')
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean);
    tokens.set(token, { name, ...(uid ? { uid } : {}), groups });
  }
  return {
    size: tokens.size,
    authenticate(token: string): UserInfo | undefined {
      const u = tokens.get(token);
      // A fresh object each time: callers may not alter the table.
      return u ? withAuthenticatedGroup({ ...u, groups: [...u.groups] }) : undefined;
    },
  };
}

/** Reads and parses a static token file; throws with the path and line on a malformed record. */
export function loadTokenFile(path: string): TokenAuthenticator {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read token file ${path}: ${(err as Error).message}`);
  }
  const auth = parseTokenFile(text, path);
  log.info('loaded token file', { path, tokens: auth.size });
  return auth;
}

// --------------------------------------------------------------- requests --

const WEBSOCKET_TOKEN_PREFIX = 'base64url.bearer.authorization.k8s.io.';

/**
 * The bearer token a request presents: `Authorization: Bearer <token>`, or
 * for WebSocket upgrades (browsers cannot set headers) the subprotocol
 * `base64url.bearer.authorization.k8s.io.<base64url(token)>`.
 * Undefined when none is presented.
 */
export function bearerToken(req: IncomingMessage): { token: string; from: 'header' | 'websocket' } | undefined {
  const auth = req.headers.authorization?.trim();
  if (auth) {
    const parts = auth.split(' ');
    // As upstream: "Bearer" (any case), one space, then the token.
    if (parts.length >= 2 && parts[0]!.toLowerCase() === 'bearer' && parts[1]) return { token: parts[1], from: 'header' };
  }
  if ((req.headers.upgrade ?? '').toLowerCase() === 'websocket') {
    const protocols = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim());
    const p = protocols.find((x) => x.startsWith(WEBSOCKET_TOKEN_PREFIX));
    if (p) return { token: Buffer.from(p.slice(WEBSOCKET_TOKEN_PREFIX.length), 'base64url').toString('utf8'), from: 'websocket' };
  }
  return undefined;
}

export type AuthResult =
  /** Authenticated. */
  | { user: UserInfo; error?: undefined }
  /** No credentials: anonymous. */
  | { user?: undefined; error?: undefined }
  /** Credentials presented but not valid: answer 401 whatever the path. */
  | { user?: undefined; error: string };

export interface RequestAuthenticatorOptions {
  /** Static tokens (--token-auth-file). */
  tokens?: TokenAuthenticator;
}

/**
 * Authenticates a request: the client certificate first, then a bearer
 * token. On success with a token from the Authorization header, the header
 * is removed (as upstream), so it is never passed on to a proxied backend.
 */
export function authenticate(req: IncomingMessage, opts: RequestAuthenticatorOptions = {}): AuthResult {
  const fromCert = userFromPeerCertificate(req.socket);
  if (fromCert) return { user: fromCert };
  const bearer = bearerToken(req);
  if (bearer) {
    const user = opts.tokens?.authenticate(bearer.token);
    if (user) {
      if (bearer.from === 'header') delete req.headers.authorization;
      return { user };
    }
    return { error: 'invalid bearer token' };
  }
  // A certificate was presented that the CA did not sign (or that is expired).
  if (req.socket instanceof TLSSocket && !req.socket.authorized && req.socket.authorizationError) {
    const cert = req.socket.getPeerCertificate();
    if (cert && Object.keys(cert).length) return { error: `client certificate not trusted: ${String(req.socket.authorizationError)}` };
  }
  return {};
}

/** The user of a request, or undefined when anonymous or not authenticated. */
export function authenticateRequest(req: IncomingMessage, tokens?: TokenAuthenticator): UserInfo | undefined {
  return authenticate(req, { tokens }).user;
}

/** Paths an anonymous caller may read (upstream's system:public-info-viewer role). */
export function isAnonymousAllowedPath(path: string): boolean {
  const p = path.split('?')[0]!;
  return p === '/healthz' || p === '/livez' || p === '/readyz' || p === '/version' || p === '/version/';
}

// ----------------------------------------------------------- authorization --

/** authorizer.Attributes: what a request wants to do. */
export interface AuthorizationAttributes {
  user: UserInfo;
  /** get, list, watch, create, update, patch, delete, deletecollection, ... (or the HTTP verb, lower case, for non-resource paths) */
  verb: string;
  /** API group ('' for the core group and for non-resource requests). */
  group: string;
  /** Resource ('' for non-resource requests such as /healthz). */
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** The request path (what non-resource rules match). */
  path?: string;
  apiVersion?: string;
  /** True for /api and /apis resource requests. */
  resourceRequest?: boolean;
}

export interface AuthorizationDecision {
  allowed: boolean;
  /** Why (shown in the 403 message). */
  reason?: string;
}

export interface Authorizer {
  authorize(attrs: AuthorizationAttributes): AuthorizationDecision;
}

/** Allows every authenticated user everything (until RBAC); denies anonymous. */
export const alwaysAllowAuthenticated: Authorizer = {
  authorize({ user }) {
    if (user.name !== ANONYMOUS_USER && user.groups.includes(SYSTEM_AUTHENTICATED)) return { allowed: true };
    return { allowed: false, reason: `user "${user.name}" is not authenticated` };
  },
};
