import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import forge from 'node-forge';
import { parse } from 'yaml';
import { buildKubeconfig, writeKubeconfig } from '../../../src/apiserver/kubeconfig.js';
import {
  createCA,
  ensurePki,
  issueClientCert,
  issueServingCert,
  servingNames,
  type PkiOptions,
} from '../../../src/apiserver/pki.js';
import { setLogSink } from '../../../src/util/log.js';

const DAY = 24 * 60 * 60 * 1000;

let root = '';
let restoreSink: ((line: string) => void) | undefined;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'k8ts-pki-'));
  restoreSink = setLogSink(() => {}); // quiet; captureLogs() looks where it matters
});
after(() => {
  if (restoreSink) setLogSink(restoreSink);
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function opts(over: Partial<PkiOptions> = {}): PkiOptions {
  return {
    dataDir: join(root, `data-${++n}`),
    hostname: 'Node-1',
    nodeIPs: ['10.0.0.5', 'fd00::5'],
    serviceIP: '10.96.0.1',
    clusterDomain: 'cluster.local',
    ...over,
  };
}

/** Runs fn with log lines captured. */
async function captureLogs<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const prev = setLogSink((l) => lines.push(l));
  try {
    return { value: await fn(), lines };
  } finally {
    setLogSink(prev);
  }
}

const mode = (p: string) => statSync(p).mode & 0o777;
const subjectOf = (pem: string) => new X509Certificate(pem).subject.split('\n').sort();

describe('ensurePki', () => {
  test('first start creates a CA, a serving certificate and an admin client certificate', async () => {
    const o = opts();
    const t0 = Date.now();
    const { value: pki } = await captureLogs(() => ensurePki(o));
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 1000, `first start took ${elapsed} ms`);

    const ca = new X509Certificate(pki.caCert);
    assert.ok(ca.ca, 'CA certificate is a CA');
    assert.ok(ca.checkIssued(ca) && ca.verify(ca.publicKey), 'CA is self-signed');
    assert.match(ca.subject, /^CN=k8ts-server-ca@\d+$/);
    const caYears = (Date.parse(ca.validTo) - Date.now()) / (365 * DAY);
    assert.ok(caYears > 9.9 && caYears < 10.1, `CA valid for ~10 years (${caYears})`);
    assert.ok(ca.checkPrivateKey(createPrivateKey(pki.caKey)), 'CA key matches');

    const srv = new X509Certificate(pki.serverCert);
    assert.ok(srv.checkIssued(ca), 'serving cert issued by the CA');
    assert.ok(srv.verify(ca.publicKey), 'serving cert signature verifies');
    assert.equal(srv.ca, false);
    assert.deepEqual(srv.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'serverAuth');
    const san = srv.subjectAltName ?? '';
    for (const dns of [
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
      'localhost',
      'node-1',
    ]) {
      assert.ok(san.split(', ').includes(`DNS:${dns}`), `SAN has DNS:${dns} (${san})`);
    }
    for (const ip of ['127.0.0.1', '::1', '10.0.0.5', 'fd00::5', '10.96.0.1']) {
      assert.equal(srv.checkIP(ip), ip, `SAN covers IP ${ip}`);
    }
    assert.match(san, /IP Address:10\.96\.0\.1/);
    const srvDays = (Date.parse(srv.validTo) - Date.now()) / DAY;
    assert.ok(srvDays > 364 && srvDays < 366, `serving cert valid ~1 year (${srvDays})`);
    assert.ok(Date.parse(srv.validFrom) <= Date.now(), 'already valid');

    const admin = new X509Certificate(pki.adminCert);
    assert.ok(admin.checkIssued(ca) && admin.verify(ca.publicKey));
    assert.deepEqual(subjectOf(pki.adminCert), ['CN=kubernetes-admin', 'O=system:masters']);
    assert.deepEqual(admin.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'clientAuth');

    // Files: 0600 in a 0700 directory, contents equal to what was returned.
    assert.equal(mode(pki.paths.dir), 0o700);
    for (const [k, p] of Object.entries(pki.paths)) {
      if (k === 'dir') continue;
      assert.equal(mode(p), 0o600, `${p} mode`);
    }
    assert.equal(readFileSync(pki.paths.caCert, 'utf8'), pki.caCert);
    assert.equal(readFileSync(pki.paths.serverKey, 'utf8'), pki.serverKey);
    assert.equal(readFileSync(pki.paths.adminKey, 'utf8'), pki.adminKey);
    assert.equal(pki.paths.dir, join(o.dataDir, 'tls'));
  });

  test('a restart loads the files and regenerates nothing', async () => {
    const o = opts();
    const first = await captureLogs(() => ensurePki(o));
    const second = await captureLogs(() => ensurePki(o));
    assert.equal(second.value.caCert, first.value.caCert);
    assert.equal(second.value.caKey, first.value.caKey);
    assert.equal(second.value.serverCert, first.value.serverCert);
    assert.equal(second.value.adminCert, first.value.adminCert);
    assert.deepEqual(second.lines, [], 'nothing logged on a clean restart');
  });

  test('a change of names re-issues the serving certificate, keeping the CA and the admin certificate', async () => {
    const o = opts();
    const { value: first } = await captureLogs(() => ensurePki(o));
    const { value: second, lines } = await captureLogs(() =>
      ensurePki({ ...o, nodeIPs: [...o.nodeIPs, '192.168.7.9'], hostname: 'renamed' }),
    );
    assert.equal(second.caCert, first.caCert, 'CA kept');
    assert.equal(second.adminCert, first.adminCert, 'admin cert kept');
    assert.notEqual(second.serverCert, first.serverCert, 'serving cert re-issued');
    assert.notEqual(second.serverKey, first.serverKey);
    const srv = new X509Certificate(second.serverCert);
    assert.equal(srv.checkIP('192.168.7.9'), '192.168.7.9');
    assert.equal(srv.checkHost('renamed', { subject: 'never' }), 'renamed');
    assert.ok(srv.checkIssued(new X509Certificate(first.caCert)));
    const why = lines.find((l) => l.includes('re-issuing the serving certificate'));
    assert.ok(why, `logged why: ${lines.join('\n')}`);
    assert.match(why, /do not cover .*192\.168\.7\.9/);
    assert.match(why, /renamed/);

    // A subset of the names already covered needs nothing new.
    const third = await captureLogs(() => ensurePki({ ...o, nodeIPs: ['192.168.7.9'], hostname: 'renamed' }));
    assert.equal(third.value.serverCert, second.serverCert);
  });

  test('a serving certificate expiring within 30 days, or from another CA, is re-issued', async () => {
    const o = opts();
    const first = await ensurePki(o);
    const names = servingNames(o);

    const expiring = issueServingCert({ cert: first.caCert, key: first.caKey }, { cn: 'kube-apiserver', ...names, days: 10 });
    writeFileSync(first.paths.serverCert, expiring.cert);
    writeFileSync(first.paths.serverKey, expiring.key);
    const r1 = await captureLogs(() => ensurePki(o));
    assert.notEqual(r1.value.serverCert, expiring.cert);
    assert.ok(Date.parse(new X509Certificate(r1.value.serverCert).validTo) - Date.now() > 300 * DAY);
    assert.match(r1.lines.join('\n'), /re-issuing the serving certificate.*reason="expires .*within 30 days/);

    const otherCA = createCA({ cn: 'someone-else' });
    const foreign = issueServingCert(otherCA, { cn: 'kube-apiserver', ...names });
    writeFileSync(first.paths.serverCert, foreign.cert);
    writeFileSync(first.paths.serverKey, foreign.key);
    const r2 = await captureLogs(() => ensurePki(o));
    assert.ok(new X509Certificate(r2.value.serverCert).checkIssued(new X509Certificate(first.caCert)));
    assert.match(r2.lines.join('\n'), /not signed by the cluster CA/);

    // A key that does not match the certificate.
    writeFileSync(first.paths.serverKey, foreign.key);
    const r3 = await captureLogs(() => ensurePki(o));
    assert.match(r3.lines.join('\n'), /does not match its key/);
    assert.equal(r3.value.caCert, first.caCert, 'CA never regenerated');

    // Missing admin certificate: re-issued too.
    unlinkSync(first.paths.adminCert);
    const r4 = await ensurePki(o);
    assert.deepEqual(subjectOf(r4.adminCert), ['CN=kubernetes-admin', 'O=system:masters']);
    assert.equal(r4.caCert, first.caCert);
  });

  test('a damaged CA is an error, never silently replaced', async () => {
    const o = opts();
    const first = await ensurePki(o);
    unlinkSync(first.paths.caKey);
    await assert.rejects(ensurePki(o), /CA certificate .* exists but its key .* is missing/);
    writeFileSync(first.paths.caKey, createCA().key);
    await assert.rejects(ensurePki(o), /does not match certificate/);
    assert.equal(readFileSync(first.paths.caCert, 'utf8'), first.caCert, 'CA certificate untouched');
  });

  test('an RSA CA put in place by hand (here made by forge) is kept and signs the leaf certificates', async () => {
    const o = opts();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const c = forge.pki.createCertificate();
    c.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string);
    c.serialNumber = '01';
    c.validity.notBefore = new Date(Date.now() - DAY);
    c.validity.notAfter = new Date(Date.now() + 3650 * DAY);
    c.setSubject([{ shortName: 'CN', value: 'hand-made-ca' }]);
    c.setIssuer([{ shortName: 'CN', value: 'hand-made-ca' }]);
    c.setExtensions([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, digitalSignature: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    c.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
    const caPem = forge.pki.certificateToPem(c);
    mkdirSync(join(o.dataDir, 'tls'), { recursive: true });
    writeFileSync(join(o.dataDir, 'tls', 'ca.crt'), caPem);
    writeFileSync(join(o.dataDir, 'tls', 'ca.key'), keyPem);

    const pki = await ensurePki(o);
    assert.equal(pki.caCert, caPem);
    const ca = new X509Certificate(caPem);
    for (const pem of [pki.serverCert, pki.adminCert]) {
      const x = new X509Certificate(pem);
      assert.ok(x.checkIssued(ca) && x.verify(ca.publicKey));
    }
  });

  test('bad inputs are rejected with a clear message', async () => {
    await assert.rejects(ensurePki(opts({ nodeIPs: ['10.0.0.300'] })), /invalid node IP: "10\.0\.0\.300"/);
    await assert.rejects(ensurePki(opts({ serviceIP: 'kubernetes' })), /invalid service IP/);
    await assert.rejects(ensurePki(opts({ extraSANs: ['bad name'] })), /invalid extra SAN/);
    // An odd hostname is left out (with a warning) rather than stopping the server.
    const { value: pki, lines } = await captureLogs(() => ensurePki(opts({ hostname: 'my_host' })));
    assert.ok(!(new X509Certificate(pki.serverCert).subjectAltName ?? '').includes('my_host'));
    assert.match(lines.join('\n'), /hostname is not a valid DNS name/);
  });

  test('issueClientCert signs certificates for other users and groups', async () => {
    const pki = await ensurePki(opts());
    const ca = new X509Certificate(pki.caCert);
    const node = pki.issueClientCert({ cn: 'system:node:node-1', groups: ['system:nodes', 'extra'], days: 30 });
    const x = new X509Certificate(node.cert);
    assert.ok(x.checkIssued(ca) && x.verify(ca.publicKey));
    assert.deepEqual(subjectOf(node.cert), ['CN=system:node:node-1', 'O=extra', 'O=system:nodes']);
    assert.ok(Math.abs(Date.parse(x.validTo) - Date.now() - 30 * DAY) < DAY);
    const standalone = issueClientCert({ cert: pki.caCert, key: pki.caKey }, { cn: 'kube-proxy' });
    assert.ok(new X509Certificate(standalone.cert).checkIssued(ca));
    assert.throws(() => issueClientCert({ cert: pki.caCert, key: pki.caKey }, { cn: '' }), /cn is required/);
  });
});

describe('kubeconfig', () => {
  test('embeds the CA, client certificate and key as base64 data', async () => {
    const pki = await ensurePki(opts());
    const path = join(root, 'kc', 'nested', 'config.yaml');
    await writeKubeconfig(path, {
      server: 'https://127.0.0.1:6443',
      caCert: pki.caCert,
      clientCert: pki.adminCert,
      clientKey: pki.adminKey,
    });
    assert.equal(mode(path), 0o600);
    const kc = parse(readFileSync(path, 'utf8'));
    assert.equal(kc.apiVersion, 'v1');
    assert.equal(kc.kind, 'Config');
    assert.equal(kc['current-context'], 'default');
    assert.deepEqual(kc.contexts, [{ name: 'default', context: { cluster: 'default', user: 'default' } }]);
    const cluster = kc.clusters[0];
    assert.equal(cluster.name, 'default');
    assert.equal(cluster.cluster.server, 'https://127.0.0.1:6443');
    const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
    assert.equal(unb64(cluster.cluster['certificate-authority-data']), pki.caCert);
    assert.equal(unb64(kc.users[0].user['client-certificate-data']), pki.adminCert);
    assert.equal(unb64(kc.users[0].user['client-key-data']), pki.adminKey);

    // Rewriting replaces the file, still 0600.
    await writeKubeconfig(path, { server: 'https://10.0.0.5:6443', caCert: pki.caCert, token: 'abc', clusterName: 'c', user: 'u', context: 'x' });
    const kc2 = parse(readFileSync(path, 'utf8'));
    assert.equal(mode(path), 0o600);
    assert.deepEqual(kc2.users, [{ name: 'u', user: { token: 'abc' } }]);
    assert.equal(kc2['current-context'], 'x');
  });

  test('rejects incomplete input', () => {
    assert.throws(() => buildKubeconfig({ server: '127.0.0.1:6443', caCert: '-----BEGIN CERTIFICATE-----' }), /http\(s\) URL/);
    assert.throws(
      () => buildKubeconfig({ server: 'https://x', caCert: '-----BEGIN CERTIFICATE-----', clientCert: 'c' }),
      /both clientCert and clientKey/,
    );
  });
});
