// The busybox image of the process runtime: the host's busybox binary, seen
// through a directory of applet symlinks (sh -> /bin/busybox, ping ->
// /bin/busybox, ...) that the image's PATH puts first. The directory is built
// once per images root, atomically (a temp directory renamed into place), so
// concurrent or repeated preparation is harmless.

import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';

/** Applets the seeds and the docs rely on; always linked when the binary has them. */
export const REQUIRED_APPLETS = [
  'sh', 'nslookup', 'ping', 'wget', 'nc', 'httpd', 'sleep', 'hostname', 'ip', 'ifconfig', 'env', 'cat',
];

const MARKER = '.k8ts-applets';

/**
 * Applets left out when the host has a better tool: Debian's busybox nslookup
 * ignores the resolv.conf search list, which the seeds' `nslookup svc-a`
 * needs (as busybox 1.28, the image Kubernetes' docs use for DNS debugging,
 * honours it); BIND's nslookup (dnsutils) does.
 */
const HOST_TOOLS: Record<string, string> = { nslookup: '/usr/bin/nslookup' };
const hostReplaces = (applet: string): boolean => !!HOST_TOOLS[applet] && isExecutable(HOST_TOOLS[applet]);

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of the host's busybox binary (K8TS_BUSYBOX overrides), or undefined when there is none. */
export function findBusybox(): string | undefined {
  const override = process.env.K8TS_BUSYBOX;
  if (override) return isExecutable(override) ? override : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/bin', '/usr/bin', '/sbin', '/usr/sbin', '/usr/local/bin'];
  for (const d of dirs) {
    const p = join(d, 'busybox');
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/** The applets a busybox binary provides (`busybox --list`), falling back to REQUIRED_APPLETS. */
export function listApplets(binary: string): string[] {
  try {
    const out = execFileSync(binary, ['--list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    const names = out.split('\n').map((s) => s.trim()).filter((s) => /^[A-Za-z0-9_.[\]-]+$/.test(s) && !s.includes('/'));
    if (names.length > 0) return names;
  } catch {
    // old busybox without --list: link the applets we need.
  }
  return [...REQUIRED_APPLETS];
}

function markerText(binary: string, applets: string[]): string {
  return JSON.stringify({ binary, applets });
}

/**
 * Makes `dir` a directory of symlinks `<applet> -> <binary>`, one per applet.
 * Idempotent: an existing complete directory for the same binary and applets
 * is left alone; an incomplete or stale one is replaced.
 */
export async function ensureAppletDir(dir: string, binary = findBusybox()): Promise<{ dir: string; binary?: string; applets: string[] }> {
  if (!binary) {
    // No busybox on this host: an empty directory; commands then resolve from the host's PATH.
    await mkdir(dir, { recursive: true });
    return { dir, applets: [] };
  }
  const applets = listApplets(binary).filter((a) => a !== 'busybox' && !hostReplaces(a));
  if (!applets.includes('busybox')) applets.push('busybox');
  const want = markerText(binary, applets);
  const current = await readFile(join(dir, MARKER), 'utf8').catch(() => undefined);
  if (current === want) return { dir, binary, applets };

  await mkdir(dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    for (const a of applets) await symlink(binary, join(tmp, a));
    await writeFile(join(tmp, MARKER), want);
    try {
      await rename(tmp, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EISDIR') throw err;
      // Someone else won the race, or a stale directory is in the way.
      const now = await readFile(join(dir, MARKER), 'utf8').catch(() => undefined);
      if (now !== want) {
        const old = `${dir}.old-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
        await rename(dir, old).catch(() => undefined);
        await rename(tmp, dir).catch(async (e) => {
          const again = await readFile(join(dir, MARKER), 'utf8').catch(() => undefined);
          if (again !== want) throw e;
        });
        await rm(old, { recursive: true, force: true });
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { dir, binary, applets };
}

/** Synchronous check that `dir` holds a complete applet directory (for status/debugging). */
export function appletDirReady(dir: string): boolean {
  try {
    return existsSync(join(dir, 'sh')) && readFileSync(join(dir, MARKER), 'utf8').length > 0;
  } catch {
    return false;
  }
}
