// The API server's PKI: one cluster CA and the certificates it signs.
//
// Layout under <dataDir>/tls/ (names as kubeadm's /etc/kubernetes/pki, with
// k3s's client-* prefix for client certificates):
//   ca.crt, ca.key                   cluster CA (10 years), also the client CA
//   apiserver.crt, apiserver.key     serving certificate (1 year, serverAuth)
//   client-admin.crt, .key           CN=kubernetes-admin, O=system:masters (1 year, clientAuth)
//
// First start generates everything; later starts load the files. A valid CA
// is never regenerated (every kubeconfig and agent trusts it); a leaf
// certificate is re-issued, with a log line saying why, when it is missing,
// unreadable, not signed by the CA, does not match its key, expires within
// 30 days, or (serving certificate) no longer covers the requested names.
//
// Keys are ECDSA P-256, as k3s uses (generation takes well under a
// millisecond, where RSA 2048 takes 50-600 ms each). node-forge cannot sign
// with EC keys, so it is used only as the DER encoder: the certificate is
// assembled with forge.asn1 and the to-be-signed bytes are signed by
// node:crypto. An existing RSA CA (e.g. one put in place by hand) can still
// sign: the signature algorithm follows the CA's key.

import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';
import { logger } from '../util/log.js';

const log = logger('apiserver/pki');

const DAY_MS = 24 * 60 * 60 * 1000;
/** Backdating of notBefore, to tolerate small clock skew (kubeadm: 5 minutes). */
const BACKDATE_MS = 5 * 60 * 1000;
export const CA_VALIDITY_DAYS = 3650;
export const LEAF_VALIDITY_DAYS = 365;
/** A leaf certificate expiring within this many days is re-issued at start. */
export const RENEW_BEFORE_DAYS = 30;

export const ADMIN_USER = 'kubernetes-admin';
export const SYSTEM_MASTERS = 'system:masters';
const APISERVER_CN = 'kube-apiserver';

const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export interface PkiOptions {
  dataDir: string;
  /** The node's hostname; added to the serving certificate as a DNS name (or an IP if it is one). */
  hostname: string;
  /** Addresses the API server is reached at. */
  nodeIPs: string[];
  /** The first IP of the service CIDR (the `kubernetes` Service's ClusterIP), e.g. 10.96.0.1. */
  serviceIP: string;
  /** e.g. cluster.local */
  clusterDomain: string;
  /** Extra names for the serving certificate (like k3s --tls-san): DNS names or IPs. */
  extraSANs?: string[];
}

export interface PkiPaths {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
}

/** The CA as needed to sign: PEM certificate and PEM private key. */
export interface CertAuthority {
  cert: string;
  key: string;
}

export interface CertKeyPair {
  /** PEM certificate. */
  cert: string;
  /** PEM private key (SEC 1 "EC PRIVATE KEY"). */
  key: string;
}

export interface ClientCertOptions {
  /** Becomes the user name. */
  cn: string;
  /** Become the user's groups (O= values). */
  groups?: string[];
  /** Validity in days (default 365). */
  days?: number;
}

export interface ServingCertOptions {
  cn: string;
  dnsNames: string[];
  ips: string[];
  days?: number;
}

export interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  paths: PkiPaths;
  /** Issues a client certificate signed by the cluster CA (not written anywhere). */
  issueClientCert(opts: ClientCertOptions): CertKeyPair;
  /** Issues a serving certificate signed by the cluster CA (e.g. for the node agent's server). */
  issueServingCert(opts: ServingCertOptions): CertKeyPair;
}

// ---------------------------------------------------------------- signing --

/** A new private key, PEM: ECDSA P-256 in SEC 1 form ("EC PRIVATE KEY"), as k3s writes. */
export function newPrivateKey(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return privateKey.export({ type: 'sec1', format: 'pem' }) as string;
}

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;
const U = asn1.Class.UNIVERSAL;
const CTX = asn1.Class.CONTEXT_SPECIFIC;
const bin = (b: Buffer): string => b.toString('binary');
const buf = (s: string): Buffer => Buffer.from(s, 'binary');

const der = {
  seq: (v: Asn1[]): Asn1 => asn1.create(U, asn1.Type.SEQUENCE, true, v),
  set: (v: Asn1[]): Asn1 => asn1.create(U, asn1.Type.SET, true, v),
  oid: (o: string): Asn1 => asn1.create(U, asn1.Type.OID, false, asn1.oidToDer(o).getBytes()),
  null: (): Asn1 => asn1.create(U, asn1.Type.NULL, false, ''),
  bool: (b: boolean): Asn1 => asn1.create(U, asn1.Type.BOOLEAN, false, b ? '\xff' : '\x00'),
  int: (bytes: Buffer): Asn1 => asn1.create(U, asn1.Type.INTEGER, false, bin(bytes)),
  octets: (bytes: Buffer): Asn1 => asn1.create(U, asn1.Type.OCTETSTRING, false, bin(bytes)),
  /** A BIT STRING of whole bytes. */
  bits: (bytes: Buffer): Asn1 => asn1.create(U, asn1.Type.BITSTRING, false, '\x00' + bin(bytes)),
  utf8: (s: string): Asn1 => asn1.create(U, asn1.Type.UTF8, false, forge.util.encodeUtf8(s)),
  /** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
  time: (d: Date): Asn1 =>
    d.getUTCFullYear() < 2050
      ? asn1.create(U, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(d))
      : asn1.create(U, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d)),
  explicit: (tag: number, inner: Asn1): Asn1 => asn1.create(CTX, tag, true, [inner]),
  implicit: (tag: number, bytes: Buffer): Asn1 => asn1.create(CTX, tag, false, bin(bytes)),
  encode: (a: Asn1): Buffer => buf(asn1.toDer(a).getBytes()),
  /** Parses DER; BIT STRING contents are kept as they are (not decoded), so re-encoding is exact. */
  decode: (b: Buffer): Asn1 =>
    (asn1.fromDer as unknown as (b: string, o: { decodeBitStrings: boolean }) => Asn1)(bin(b), { decodeBitStrings: false }),
};

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: OID_SERVER_AUTH,
  clientAuth: OID_CLIENT_AUTH,
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
};

/** The signature algorithm for a signing key: its AlgorithmIdentifier and digest. */
function signatureAlgorithm(key: KeyObject): { algId: Asn1; digest: string } {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      // RFC 5758: ECDSA AlgorithmIdentifiers have no parameters.
      if (curve === 'prime256v1') return { algId: der.seq([der.oid(OID.ecdsaWithSHA256)]), digest: 'sha256' };
      if (curve === 'secp384r1') return { algId: der.seq([der.oid(OID.ecdsaWithSHA384)]), digest: 'sha384' };
      throw new Error(`unsupported EC curve for signing: ${curve}`);
    }
    case 'rsa':
      return { algId: der.seq([der.oid(OID.sha256WithRSAEncryption), der.null()]), digest: 'sha256' };
    default:
      throw new Error(`unsupported key type for signing: ${key.asymmetricKeyType}`);
  }
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = der.decode(publicKey.export({ type: 'spki', format: 'der' }));
  const bitString = (spki.value as Asn1[])[1]!.value as string;
  return createHash('sha1').update(buf(bitString).subarray(1)).digest();
}

function name(cn: string, orgs: string[] = []): Asn1 {
  const rdn = (oid: string, v: string) => der.set([der.seq([der.oid(oid), der.utf8(v)])]);
  // As Go's pkix.Name: O before CN.
  return der.seq([...orgs.map((o) => rdn(OID.organization, o)), rdn(OID.commonName, cn)]);
}

function extension(oid: string, critical: boolean, value: Asn1): Asn1 {
  return der.seq([der.oid(oid), ...(critical ? [der.bool(true)] : []), der.octets(der.encode(value))]);
}

/** KeyUsage bits (RFC 5280 4.2.1.3), DER: trailing zero bits dropped. */
function keyUsage(bits: { digitalSignature?: boolean; keyEncipherment?: boolean; keyCertSign?: boolean }): Asn1 {
  let byte = 0;
  if (bits.digitalSignature) byte |= 0x80; // bit 0
  if (bits.keyEncipherment) byte |= 0x20; // bit 2
  if (bits.keyCertSign) byte |= 0x04; // bit 5
  let unused = 0;
  while (unused < 7 && !(byte & (1 << unused))) unused++;
  return asn1.create(U, asn1.Type.BITSTRING, false, String.fromCharCode(unused, byte));
}

/** A positive 128-bit serial number. */
function newSerial(): Buffer {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01; // positive and minimal (no leading zero byte)
  return b;
}

function ipBytes(ip: string): Buffer {
  const c = canonicalIP(ip);
  if (!c) throw new Error(`not an IP address: ${ip}`);
  if (isIP(c) === 4) return Buffer.from(c.split('.').map(Number));
  // Expand "::" and write 8 groups of 16 bits.
  const [head, tail] = c.includes('::') ? c.split('::') : [c, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function pem(type: string, body: Buffer): string {
  const b64 = body.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${type}-----\n${b64}\n-----END ${type}-----\n`;
}

/** What of the CA a signer needs: its subject Name (exact bytes), key identifier and key. */
interface Issuer {
  subject: Asn1;
  keyId: Buffer;
  key: KeyObject;
}

function issuerFrom(ca: CertAuthority): Issuer {
  const x = new X509Certificate(ca.cert);
  const cert = der.decode(x.raw);
  const tbs = (cert.value as Asn1[])[0]!.value as Asn1[];
  const off = tbs[0]!.tagClass === CTX && tbs[0]!.type === 0 ? 1 : 0; // explicit version present
  const subject = tbs[off + 4]!;
  // Prefer the CA's own subjectKeyIdentifier, so authorityKeyIdentifier matches it exactly.
  let keyId: Buffer | undefined;
  const exts = tbs.find((n) => n.tagClass === CTX && n.type === 3);
  for (const ext of exts ? (((exts.value as Asn1[])[0]!.value as Asn1[])) : []) {
    const parts = ext.value as Asn1[];
    if (asn1.derToOid(parts[0]!.value as string) !== OID.subjectKeyIdentifier) continue;
    keyId = buf(der.decode(buf(parts[parts.length - 1]!.value as string)).value as string);
  }
  return { subject, keyId: keyId ?? keyIdentifier(x.publicKey), key: createPrivateKey(ca.key) };
}

interface CertSpec {
  subject: Asn1;
  days: number;
  isCA?: boolean;
  extKeyUsage?: string[];
  dnsNames?: string[];
  ips?: string[];
}

/**
 * Builds and signs an X.509 v3 certificate for `keyPem`'s public key; without
 * an issuer it is self-signed (a CA). node-forge encodes the DER, node:crypto signs.
 */
function buildCert(spec: CertSpec, keyPem: string, issuer?: Issuer): string {
  const ownKey = createPrivateKey(keyPem);
  const publicKey = createPublicKey(ownKey);
  const signer = issuer ?? { subject: spec.subject, keyId: keyIdentifier(publicKey), key: ownKey };
  const { algId, digest } = signatureAlgorithm(signer.key);
  const now = Date.now();

  const rsa = publicKey.asymmetricKeyType === 'rsa';
  const exts: Asn1[] = [
    extension(OID.basicConstraints, true, der.seq(spec.isCA ? [der.bool(true)] : [])),
    extension(
      OID.keyUsage,
      true,
      keyUsage({ digitalSignature: true, keyEncipherment: rsa, keyCertSign: !!spec.isCA }),
    ),
  ];
  if (spec.extKeyUsage?.length) exts.push(extension(OID.extKeyUsage, false, der.seq(spec.extKeyUsage.map(der.oid))));
  exts.push(extension(OID.subjectKeyIdentifier, false, der.octets(keyIdentifier(publicKey))));
  if (issuer) exts.push(extension(OID.authorityKeyIdentifier, false, der.seq([der.implicit(0, issuer.keyId)])));
  const altNames = [
    ...(spec.dnsNames ?? []).map((n) => der.implicit(2, Buffer.from(n, 'ascii'))),
    ...(spec.ips ?? []).map((ip) => der.implicit(7, ipBytes(ip))),
  ];
  if (altNames.length) exts.push(extension(OID.subjectAltName, false, der.seq(altNames)));

  const tbs = der.seq([
    der.explicit(0, der.int(Buffer.from([2]))), // v3
    der.int(newSerial()),
    algId,
    signer.subject,
    der.seq([der.time(new Date(now - BACKDATE_MS)), der.time(new Date(now + spec.days * DAY_MS))]),
    spec.subject,
    der.decode(publicKey.export({ type: 'spki', format: 'der' })),
    der.explicit(3, der.seq(exts)),
  ]);
  const tbsDer = der.encode(tbs);
  const signature = sign(digest, tbsDer, signer.key);
  return pem('CERTIFICATE', der.encode(der.seq([tbs, algId, der.bits(signature)])));
}

/** Issues a client certificate (clientAuth): CN is the user name, O values its groups. */
export function issueClientCert(ca: CertAuthority, opts: ClientCertOptions): CertKeyPair {
  if (!opts.cn) throw new Error('issueClientCert: cn is required');
  const key = newPrivateKey();
  const cert = buildCert(
    { subject: name(opts.cn, opts.groups), days: opts.days ?? LEAF_VALIDITY_DAYS, extKeyUsage: [OID.clientAuth] },
    key,
    issuerFrom(ca),
  );
  return { cert, key };
}

/** Issues a serving certificate (serverAuth) for the given DNS names and IPs. */
export function issueServingCert(ca: CertAuthority, opts: ServingCertOptions): CertKeyPair {
  const key = newPrivateKey();
  const cert = buildCert(
    {
      subject: name(opts.cn),
      days: opts.days ?? LEAF_VALIDITY_DAYS,
      extKeyUsage: [OID.serverAuth],
      dnsNames: opts.dnsNames,
      ips: opts.ips,
    },
    key,
    issuerFrom(ca),
  );
  return { cert, key };
}

/** Creates a self-signed CA (CN "k8ts-server-ca@<unix seconds>", as k3s names its CAs). */
export function createCA(opts: { cn?: string; days?: number } = {}): CertAuthority {
  const key = newPrivateKey();
  const cn = opts.cn ?? `k8ts-server-ca@${Math.floor(Date.now() / 1000)}`;
  const cert = buildCert({ subject: name(cn), days: opts.days ?? CA_VALIDITY_DAYS, isCA: true }, key);
  return { cert, key };
}

// ------------------------------------------------------------------ names --

/** Canonical text of an IP address (IPv6 compressed, lower case), or undefined if not an IP. */
export function canonicalIP(s: string): string | undefined {
  const v = isIP(s);
  if (v === 4) return new URL(`http://${s}/`).hostname;
  if (v === 6) return new URL(`http://[${s}]/`).hostname.slice(1, -1);
  return undefined;
}

/** The DNS names and IPs the API server's serving certificate must cover. */
export function servingNames(opts: Omit<PkiOptions, 'dataDir'>): { dnsNames: string[]; ips: string[] } {
  const dns = new Set<string>();
  const ips = new Set<string>();
  const add = (name: string, from: string) => {
    const n = name.trim();
    if (!n) return;
    const ip = canonicalIP(n);
    if (ip) ips.add(ip);
    else if (/^[A-Za-z0-9*]([A-Za-z0-9.*-]*[A-Za-z0-9])?$/.test(n)) dns.add(n.toLowerCase());
    else throw new Error(`invalid ${from} for the serving certificate: ${JSON.stringify(name)}`);
  };
  const domain = opts.clusterDomain.replace(/^\.+|\.+$/g, '');
  for (const n of ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc']) add(n, 'name');
  if (domain) add(`kubernetes.default.svc.${domain}`, 'cluster domain');
  add('localhost', 'name');
  try {
    add(opts.hostname, 'hostname');
  } catch {
    // Hostnames are not always valid DNS names (e.g. with "_"); the server must start anyway.
    log.warn('hostname is not a valid DNS name; left out of the serving certificate', { hostname: opts.hostname });
  }
  add('127.0.0.1', 'IP');
  add('::1', 'IP');
  for (const ip of opts.nodeIPs) {
    if (!canonicalIP(ip.trim())) throw new Error(`invalid node IP: ${JSON.stringify(ip)}`);
    add(ip, 'node IP');
  }
  if (!canonicalIP(opts.serviceIP.trim())) throw new Error(`invalid service IP: ${JSON.stringify(opts.serviceIP)}`);
  add(opts.serviceIP, 'service IP');
  for (const n of opts.extraSANs ?? []) add(n, 'extra SAN');
  return { dnsNames: [...dns], ips: [...ips] };
}

// ------------------------------------------------------------- validation --

function notAfter(x: X509Certificate): number {
  return Date.parse(x.validTo);
}

function parseDN(dn: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of dn.split('\n')) {
    const i = line.indexOf('=');
    if (i <= 0) continue;
    const k = line.slice(0, i);
    out.set(k, [...(out.get(k) ?? []), line.slice(i + 1)]);
  }
  return out;
}

/**
 * Why a leaf certificate must be re-issued, or undefined if it is fine.
 * `want` says what it must be: usage, subject, names.
 */
function leafProblem(
  certPem: string | undefined,
  keyPem: string | undefined,
  ca: X509Certificate,
  want: { usage: string; cn?: string; orgs?: string[]; dnsNames?: string[]; ips?: string[] },
): string | undefined {
  if (certPem === undefined || keyPem === undefined) return 'missing';
  let x: X509Certificate;
  try {
    x = new X509Certificate(certPem);
    if (!x.checkPrivateKey(createPrivateKey(keyPem))) return 'certificate does not match its key';
  } catch (err) {
    return `unreadable: ${(err as Error).message}`;
  }
  if (!x.checkIssued(ca) || !x.verify(ca.publicKey)) return 'not signed by the cluster CA';
  const left = notAfter(x) - Date.now();
  if (!(left > RENEW_BEFORE_DAYS * DAY_MS)) return `expires ${new Date(notAfter(x)).toISOString()} (within ${RENEW_BEFORE_DAYS} days)`;
  if (!(x.keyUsage ?? []).includes(want.usage)) return `lacks extended key usage ${want.usage}`;
  if (want.cn !== undefined || want.orgs) {
    const dn = parseDN(x.subject);
    if (want.cn !== undefined && dn.get('CN')?.[0] !== want.cn) return `subject CN is not ${want.cn}`;
    for (const o of want.orgs ?? []) if (!(dn.get('O') ?? []).includes(o)) return `subject lacks O=${o}`;
  }
  const missing = [
    ...(want.dnsNames ?? []).filter((n) => x.checkHost(n, { subject: 'never' }) === undefined),
    ...(want.ips ?? []).filter((ip) => x.checkIP(ip) === undefined),
  ];
  if (missing.length) return `subject alternative names do not cover ${missing.join(', ')}`;
  return undefined;
}

// ------------------------------------------------------------------ files --

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes a file atomically (temp file + rename) with mode 0600. */
export async function writeSecretFile(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, data, { mode: 0o600 });
    await chmod(tmp, 0o600); // in case a umask or an existing file interfered
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

export function pkiPaths(dataDir: string): PkiPaths {
  const dir = join(dataDir, 'tls');
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'client-admin.crt'),
    adminKey: join(dir, 'client-admin.key'),
  };
}

// ------------------------------------------------------------------- main --

async function loadOrCreateCA(paths: PkiPaths): Promise<CertAuthority> {
  const [cert, key] = await Promise.all([readOptional(paths.caCert), readOptional(paths.caKey)]);
  if (cert === undefined && key === undefined) {
    const ca = createCA();
    await writeSecretFile(paths.caKey, ca.key);
    await writeSecretFile(paths.caCert, ca.cert);
    log.info('generated cluster CA', { path: paths.caCert, subject: new X509Certificate(ca.cert).subject });
    return ca;
  }
  // Never replace an existing CA silently: everything that trusts it would break.
  if (cert === undefined) throw new Error(`CA key ${paths.caKey} exists but its certificate ${paths.caCert} is missing`);
  if (key === undefined) throw new Error(`CA certificate ${paths.caCert} exists but its key ${paths.caKey} is missing`);
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`CA certificate ${paths.caCert} is unreadable: ${(err as Error).message}`);
  }
  let matches: boolean;
  try {
    matches = x.checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new Error(`CA key ${paths.caKey} is unreadable: ${(err as Error).message}`);
  }
  if (!matches) throw new Error(`CA key ${paths.caKey} does not match certificate ${paths.caCert}`);
  if (!x.ca) throw new Error(`${paths.caCert} is not a CA certificate`);
  const left = notAfter(x) - Date.now();
  if (left <= 0) throw new Error(`cluster CA ${paths.caCert} expired at ${new Date(notAfter(x)).toISOString()}; replace it (and every certificate it signed)`);
  if (left < 365 * DAY_MS) log.warn('cluster CA expires within a year', { path: paths.caCert, notAfter: new Date(notAfter(x)).toISOString() });
  return { cert, key };
}

/**
 * Loads the API server's PKI from `<dataDir>/tls/`, generating what is
 * missing and re-issuing leaf certificates that are no longer right.
 */
export async function ensurePki(opts: PkiOptions): Promise<Pki> {
  const paths = pkiPaths(opts.dataDir);
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await chmod(paths.dir, 0o700);
  const names = servingNames(opts);

  const ca = await loadOrCreateCA(paths);
  const caX509 = new X509Certificate(ca.cert);

  const [serverCert, serverKey, adminCert, adminKey] = await Promise.all(
    [paths.serverCert, paths.serverKey, paths.adminCert, paths.adminKey].map(readOptional),
  );
  const serverProblem = leafProblem(serverCert, serverKey, caX509, { usage: OID_SERVER_AUTH, ...names });
  const adminProblem = leafProblem(adminCert, adminKey, caX509, {
    usage: OID_CLIENT_AUTH,
    cn: ADMIN_USER,
    orgs: [SYSTEM_MASTERS],
  });

  const ensureLeaf = async (
    what: string,
    problem: string | undefined,
    existing: { cert?: string; key?: string },
    files: { cert: string; key: string },
    issue: () => CertKeyPair,
  ): Promise<CertKeyPair> => {
    if (!problem) return { cert: existing.cert!, key: existing.key! };
    if (problem !== 'missing') log.info(`re-issuing the ${what} certificate`, { reason: problem, path: files.cert });
    const pair = issue();
    // Key first: a crash in between leaves a mismatched pair, which the next start re-issues.
    await writeSecretFile(files.key, pair.key);
    await writeSecretFile(files.cert, pair.cert);
    log.info(`issued ${what} certificate`, { path: files.cert, subject: new X509Certificate(pair.cert).subject.replace(/\n/g, ',') });
    return pair;
  };
  const server = await ensureLeaf(
    'serving',
    serverProblem,
    { cert: serverCert, key: serverKey },
    { cert: paths.serverCert, key: paths.serverKey },
    () => issueServingCert(ca, { cn: APISERVER_CN, ...names }),
  );
  const admin = await ensureLeaf(
    'admin client',
    adminProblem,
    { cert: adminCert, key: adminKey },
    { cert: paths.adminCert, key: paths.adminKey },
    () => issueClientCert(ca, { cn: ADMIN_USER, groups: [SYSTEM_MASTERS] }),
  );

  // Keep key material private even if files were created or copied by hand.
  await Promise.all(Object.values(paths).filter((p) => p !== paths.dir).map((p) => chmod(p, 0o600)));

  return {
    caCert: ca.cert,
    caKey: ca.key,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    paths,
    issueClientCert: (o) => issueClientCert(ca, o),
    issueServingCert: (o) => issueServingCert(ca, o),
  };
}
