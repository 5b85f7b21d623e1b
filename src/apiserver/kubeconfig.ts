// kubeconfig files (clientcmd's v1 Config), with credentials embedded as
// base64 *-data fields, as kubeadm's admin.conf and k3s's k3s.yaml are.

import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'yaml';
import { writeSecretFile } from './pki.js';

export interface KubeconfigOptions {
  /** e.g. https://127.0.0.1:6443 */
  server: string;
  /** PEM of the CA that signed the server's certificate. */
  caCert: string;
  /** PEM client certificate and key (mutual TLS). */
  clientCert?: string;
  clientKey?: string;
  /** A bearer token, instead of (or besides) a client certificate. */
  token?: string;
  /** Names in the file; each defaults to "default" (as k3s). */
  clusterName?: string;
  user?: string;
  context?: string;
  /** Default namespace of the context. */
  namespace?: string;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** The kubeconfig as YAML text. */
export function buildKubeconfig(opts: KubeconfigOptions): string {
  if (!/^https?:\/\//.test(opts.server)) throw new Error(`kubeconfig server must be an http(s) URL: ${JSON.stringify(opts.server)}`);
  if (!opts.caCert.includes('-----BEGIN CERTIFICATE-----')) throw new Error('kubeconfig caCert must be a PEM certificate');
  if (!!opts.clientCert !== !!opts.clientKey) throw new Error('kubeconfig needs both clientCert and clientKey, or neither');
  const clusterName = opts.clusterName ?? 'default';
  const user = opts.user ?? 'default';
  const context = opts.context ?? 'default';
  const userEntry: Record<string, string> = {};
  if (opts.clientCert && opts.clientKey) {
    userEntry['client-certificate-data'] = b64(opts.clientCert);
    userEntry['client-key-data'] = b64(opts.clientKey);
  }
  if (opts.token) userEntry.token = opts.token;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: { 'certificate-authority-data': b64(opts.caCert), server: opts.server } }],
    contexts: [
      { name: context, context: { cluster: clusterName, user, ...(opts.namespace ? { namespace: opts.namespace } : {}) } },
    ],
    'current-context': context,
    preferences: {},
    users: [{ name: user, user: userEntry }],
  };
  // lineWidth 0: never fold the long base64 strings.
  return stringify(config, { lineWidth: 0 });
}

/** Writes a kubeconfig (mode 0600, atomically), creating parent directories (0700). */
export async function writeKubeconfig(path: string, opts: KubeconfigOptions): Promise<void> {
  const text = buildKubeconfig(opts);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeSecretFile(path, text);
}
