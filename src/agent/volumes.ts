// Pod volumes for the process runtime: each volume becomes a directory (or,
// for hostPath, a path) on the node that containers get bind-mounted at their
// volumeMounts. Supported: emptyDir, configMap, secret, downwardAPI,
// projected (configMap, secret, downwardAPI sources), hostPath (with its type
// checks). Files are written atomically (temp file + rename) with the
// volume's defaultMode or the item's mode.
import fs from 'node:fs';
import path from 'node:path';
import type { Mount } from './runtime/types.js';

export type Obj = Record<string, any>;

export class VolumeError extends Error {
  constructor(
    message: string,
    readonly reason = 'FailedMount',
  ) {
    super(message);
  }
}

export interface VolumeSources {
  configMap(namespace: string, name: string): Obj | undefined;
  secret(namespace: string, name: string): Obj | undefined;
}

/** Files of a volume: relative path -> [content, mode]. */
type Files = Map<string, [Buffer, number]>;

function keyed(obj: Obj, isSecret: boolean): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries<string>(obj.data ?? {})) out.set(k, isSecret ? Buffer.from(v, 'base64') : Buffer.from(v));
  if (!isSecret) for (const [k, v] of Object.entries<string>(obj.binaryData ?? {})) out.set(k, Buffer.from(v, 'base64'));
  return out;
}

function fromKeyed(src: Obj, kind: 'ConfigMap' | 'Secret', ns: string, sources: VolumeSources, defaultMode: number, files: Files): void {
  const name = kind === 'ConfigMap' ? src.name : (src.secretName ?? src.name);
  const obj = kind === 'ConfigMap' ? sources.configMap(ns, name) : sources.secret(ns, name);
  if (!obj) {
    if (src.optional) return;
    throw new VolumeError(`MountVolume.SetUp failed for volume: ${kind.toLowerCase()} "${name}" not found`);
  }
  const data = keyed(obj, kind === 'Secret');
  if (src.items?.length) {
    for (const it of src.items) {
      const v = data.get(it.key);
      if (!v) {
        if (src.optional) continue;
        throw new VolumeError(`MountVolume.SetUp failed for volume: configuration key "${it.key}" not found in ${kind} ${ns}/${name}`);
      }
      files.set(it.path, [v, it.mode ?? defaultMode]);
    }
  } else for (const [k, v] of data) files.set(k, [v, defaultMode]);
}

function downward(items: Obj[], pod: Obj, defaultMode: number, files: Files): void {
  for (const it of items ?? []) {
    const fp: string | undefined = it.fieldRef?.fieldPath;
    let v = '';
    if (fp === 'metadata.labels' || fp === 'metadata.annotations') {
      const m: Record<string, string> = pod.metadata?.[fp.split('.')[1]] ?? {};
      v = Object.keys(m)
        .sort()
        .map((k) => `${k}=${JSON.stringify(m[k])}`)
        .join('\n');
    } else if (fp) {
      const lm = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fp);
      if (lm) v = pod.metadata?.[lm[1]]?.[lm[2]] ?? '';
      else if (fp === 'metadata.name') v = pod.metadata?.name ?? '';
      else if (fp === 'metadata.namespace') v = pod.metadata?.namespace ?? '';
      else if (fp === 'metadata.uid') v = pod.metadata?.uid ?? '';
      else throw new VolumeError(`downwardAPI: unsupported fieldPath ${fp}`);
    } else if (it.resourceFieldRef) {
      const c = (pod.spec?.containers ?? []).find((x: Obj) => x.name === it.resourceFieldRef.containerName) ?? pod.spec?.containers?.[0];
      const [kind, res] = String(it.resourceFieldRef.resource).split('.');
      v = String(c?.resources?.[kind]?.[res] ?? '0');
    }
    files.set(it.path, [Buffer.from(v), it.mode ?? defaultMode]);
  }
}

/** The files a configMap/secret/downwardAPI/projected volume holds. */
export function volumeFiles(vol: Obj, pod: Obj, sources: VolumeSources): Files | undefined {
  const ns = pod.metadata?.namespace ?? 'default';
  const files: Files = new Map();
  if (vol.configMap) fromKeyed(vol.configMap, 'ConfigMap', ns, sources, vol.configMap.defaultMode ?? 0o644, files);
  else if (vol.secret) fromKeyed(vol.secret, 'Secret', ns, sources, vol.secret.defaultMode ?? 0o644, files);
  else if (vol.downwardAPI) downward(vol.downwardAPI.items, pod, vol.downwardAPI.defaultMode ?? 0o644, files);
  else if (vol.projected) {
    const mode = vol.projected.defaultMode ?? 0o644;
    for (const s of vol.projected.sources ?? []) {
      if (s.configMap) fromKeyed(s.configMap, 'ConfigMap', ns, sources, mode, files);
      else if (s.secret) fromKeyed(s.secret, 'Secret', ns, sources, mode, files);
      else if (s.downwardAPI) downward(s.downwardAPI.items, pod, mode, files);
      else if (s.serviceAccountToken) throw new VolumeError('projected serviceAccountToken volumes are not supported by this agent yet');
    }
  } else return undefined;
  for (const p of files.keys()) {
    if (path.isAbsolute(p) || p.split('/').includes('..')) throw new VolumeError(`invalid volume item path ${JSON.stringify(p)}`);
  }
  return files;
}

function writeAtomic(file: string, data: Buffer, mode: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

function hostPathDir(vol: Obj): string {
  const p: string = vol.hostPath.path;
  const type: string = vol.hostPath.type ?? '';
  const st = fs.statSync(p, { throwIfNoEntry: false });
  const fail = (what: string) => {
    throw new VolumeError(`MountVolume.SetUp failed for volume: hostPath type check failed: ${p} is not a ${what}`);
  };
  switch (type) {
    case 'DirectoryOrCreate':
      if (!st) fs.mkdirSync(p, { recursive: true, mode: 0o755 });
      else if (!st.isDirectory()) fail('directory');
      break;
    case 'FileOrCreate':
      if (!st) {
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, '', { mode: 0o644 });
      } else if (!st.isFile()) fail('file');
      break;
    case 'Directory':
      if (!st?.isDirectory()) fail('directory');
      break;
    case 'File':
      if (!st?.isFile()) fail('file');
      break;
    case 'Socket':
      if (!st?.isSocket()) fail('socket');
      break;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) fail('character device');
      break;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) fail('block device');
      break;
    default:
      if (!st) fs.mkdirSync(p, { recursive: true, mode: 0o755 }); // unset type: kubelet creates nothing, but a bind mount needs a source
  }
  return p;
}

/**
 * Materialises every volume of the pod under `podDir/volumes/<name>` (hostPath
 * volumes stay where they are); returns the node path of each volume.
 */
export function prepareVolumes(pod: Obj, podDir: string, sources: VolumeSources): Map<string, string> {
  const out = new Map<string, string>();
  for (const vol of pod.spec?.volumes ?? []) {
    if (!vol?.name) continue;
    if (vol.hostPath) {
      out.set(vol.name, hostPathDir(vol));
      continue;
    }
    const dir = path.join(podDir, 'volumes', vol.name);
    if (vol.emptyDir || (!vol.configMap && !vol.secret && !vol.downwardAPI && !vol.projected)) {
      if (!vol.emptyDir) throw new VolumeError(`volume "${vol.name}": this agent supports emptyDir, configMap, secret, downwardAPI, projected and hostPath volumes`, 'FailedMount');
      fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
      fs.chmodSync(dir, 0o777);
      out.set(vol.name, dir);
      continue;
    }
    const files = volumeFiles(vol, pod, sources)!;
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const [rel, [data, mode]] of files) writeAtomic(path.join(dir, rel), data, mode);
    out.set(vol.name, dir);
  }
  return out;
}

/** The container's mounts from its volumeMounts (subPath honoured; the subPath is created in emptyDirs). */
export function containerMounts(container: Obj, volumes: Map<string, string>): Mount[] {
  const mounts: Mount[] = [];
  for (const vm of container.volumeMounts ?? []) {
    const base = volumes.get(vm.name);
    if (!base) throw new VolumeError(`unable to find volume "${vm.name}" for container "${container.name}"`, 'CreateContainerConfigError');
    let hostPath = base;
    if (vm.subPath) {
      if (path.isAbsolute(vm.subPath) || vm.subPath.split('/').includes('..')) throw new VolumeError(`invalid subPath ${JSON.stringify(vm.subPath)}`, 'CreateContainerConfigError');
      hostPath = path.join(base, vm.subPath);
      if (!fs.existsSync(hostPath)) fs.mkdirSync(hostPath, { recursive: true });
    }
    mounts.push({ hostPath, containerPath: vm.mountPath, readOnly: !!vm.readOnly });
  }
  return mounts;
}

/**
 * Whether the pod mounts the ConfigMap/Secret `name` as a volume (directly or
 * through a projected volume): such pods are synced again when it changes, so
 * that their volume files follow it, as kubelet's periodic volume refresh does.
 */
export function podUsesVolumeSource(pod: Obj, kind: 'ConfigMap' | 'Secret', name: string): boolean {
  const hit = (src: Obj | undefined, field: 'name' | 'secretName') => !!src && src[field] === name;
  for (const vol of pod.spec?.volumes ?? []) {
    if (kind === 'ConfigMap' && hit(vol?.configMap, 'name')) return true;
    if (kind === 'Secret' && hit(vol?.secret, 'secretName')) return true;
    for (const s of vol?.projected?.sources ?? []) {
      if (kind === 'ConfigMap' && hit(s?.configMap, 'name')) return true;
      if (kind === 'Secret' && hit(s?.secret, 'name')) return true;
    }
  }
  return false;
}
