// `--proxy-mode ipvs`: k8ts does not implement IPVS; it only tells whether the
// kernel could have it and points to the userspace mode, which gives the same
// schedulers (rr, lc, sh) and the same `ipvsadm -Ln`-like view in userspace.
import { existsSync, readFileSync } from 'node:fs';
import { exec } from '../../util/exec.js';

export interface IpvsCheck {
  ok: boolean;
  reason: string;
}

const ADVICE =
  'k8ts has no ipvs proxy mode; use --proxy-mode userspace (same schedulers via --proxy-scheduler rr|lc|sh, `k8ts proxy rules` prints an ipvsadm-like table), or nftables/iptables where netfilter is available';

/**
 * Whether this kernel has IPVS (ok), with the explanation either way: k8ts
 * has no ipvs mode in any case, and the reason says what to use instead.
 */
export async function ipvsAvailable(opts: { procDir?: string; sysDir?: string } = {}): Promise<IpvsCheck> {
  const proc = opts.procDir ?? '/proc';
  const sys = opts.sysDir ?? '/sys';
  const loaded = existsSync(`${proc}/net/ip_vs`) || existsSync(`${sys}/module/ip_vs`);
  let builtin = false;
  try {
    const release = readFileSync(`${proc}/sys/kernel/osrelease`, 'utf8').trim();
    builtin = readFileSync(`/lib/modules/${release}/modules.builtin`, 'utf8').includes('/ip_vs.ko');
  } catch {
    /* no module tree */
  }
  const ipvsadm = (await exec('ipvsadm', ['--version'], { allowFailure: true, timeoutMs: 5000 }).catch(() => undefined))?.code === 0;
  if (loaded || builtin) {
    return {
      ok: true,
      reason: `the kernel has IPVS${ipvsadm ? ' and ipvsadm is installed' : ''}, but ${ADVICE}`,
    };
  }
  const modprobe = existsSync('/sbin/modprobe') || existsSync('/usr/sbin/modprobe');
  const why = [
    `IPVS is not available on this kernel (no ${proc}/net/ip_vs, no ip_vs module loaded${modprobe ? '' : ', no modprobe to load one'})`,
    ipvsadm ? '' : 'ipvsadm is not installed',
  ]
    .filter(Boolean)
    .join('; ');
  return { ok: false, reason: `${why}; ${ADVICE}` };
}
