// A pod's /etc/hosts, as kubelet writes it: the localhost boilerplate, the
// pod's own IPs with its hostname (and FQDN `<hostname>.<subdomain>.<ns>.svc.<domain>`
// first when spec.subdomain is set), then spec.hostAliases.
// hostNetwork pods get the node's /etc/hosts instead (the caller's job).

export type Obj = Record<string, any>;

const BOILERPLATE = [
  '# Kubernetes-managed hosts file.',
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'fe00::0\tip6-mcastprefix',
  'fe00::1\tip6-allnodes',
  'fe00::2\tip6-allrouters',
];

/** The pod's hostname: spec.hostname, else its name (truncated to 63 characters, as kubelet). */
export function podHostname(pod: Obj): string {
  const h: string = pod.spec?.hostname || pod.metadata?.name || '';
  return h.length > 63 ? h.slice(0, 63).replace(/[-.]+$/, '') : h;
}

/** The pod's FQDN when it has a subdomain, else undefined. */
export function podFqdn(pod: Obj, clusterDomain: string): string | undefined {
  const sub = pod.spec?.subdomain;
  if (!sub) return undefined;
  return `${podHostname(pod)}.${sub}.${pod.metadata?.namespace ?? 'default'}.svc.${clusterDomain}`;
}

export function hostsFile(pod: Obj, podIPs: string[], clusterDomain: string): string {
  const lines = [...BOILERPLATE];
  const hostname = podHostname(pod);
  const fqdn = podFqdn(pod, clusterDomain);
  for (const ip of podIPs) lines.push(fqdn ? `${ip}\t${fqdn}\t${hostname}` : `${ip}\t${hostname}`);
  const aliases: Obj[] = pod.spec?.hostAliases ?? [];
  if (aliases.length) {
    lines.push('', '# Entries added by HostAliases.');
    for (const a of aliases) if (a?.ip && a.hostnames?.length) lines.push(`${a.ip}\t${a.hostnames.join('\t')}`);
  }
  return lines.join('\n') + '\n';
}
