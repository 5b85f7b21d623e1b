// The built-in image catalog of the process runtime. Pods run as host
// processes, so an "image" here is a recipe: which program to start
// (entrypoint + cmd), with which environment, plus the metadata kubelet
// reports (image ID, size). References resolve by repository, from any
// registry, so that manifests written for real registries (the seeds')
// run unchanged: .../busybox:1.28 is busybox, oldxu3957/demoapp:v1.0 is
// demoapp, .../superopsmsb/nginx_web:v0.1 is demoapp serving that image's page.

import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureAppletDir } from './busybox.js';
import { parseImageRef, type ImageRef } from './ref.js';

export interface ImageInfo {
  /** The reference as the runtime reports it, fully qualified (docker.io/k8ts/demoapp:v1.0). */
  ref: string;
  /** The catalog image it resolved to (k8ts/demoapp, busybox, host, ...). */
  name: string;
  /** sha256:<hex>, stable per repository + tag. */
  imageId: string;
  entrypoint: string[];
  cmd: string[];
  /** The image's environment (PATH first); the container's env overrides it. */
  env: Array<{ name: string; value: string }>;
  workingDir?: string;
  sizeBytes: number;
  exposedPorts?: number[];
  /** Busybox-based images: the applet-symlink directory that prepareImage() must create. */
  applets?: { dir: string };
}

export interface ResolveOptions {
  /** Root of the catalog's on-disk state (applet directories); default $K8TS_IMAGES_DIR or /var/lib/k8ts/images. */
  imagesDir?: string;
}

export const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function defaultImagesDir(): string {
  return process.env.K8TS_IMAGES_DIR || '/var/lib/k8ts/images';
}

export function appletDirFor(imagesDir: string): string {
  return join(imagesDir, 'busybox', 'bin');
}

// ---------------------------------------------------------------------------
const programArgv = new Map<string, string[]>();

/**
 * How to run one of k8ts's own programs as an image's entrypoint: node on its
 * compiled file under dist/src (or, from the TypeScript sources, the .ts file
 * through tsx when dist is missing or older). `rel` is relative to src/, e.g.
 * "images/demoapp".
 */
export function programEntrypoint(rel: string, maxOldSpaceMb: number): string[] {
  const cached = programArgv.get(rel);
  if (cached) return cached;
  const node = [process.execPath, `--max-old-space-size=${maxOldSpaceMb}`];
  const srcDir = fileURLToPath(new URL('..', import.meta.url)); // src/ (or dist/src/)
  const siblingJs = join(srcDir, `${rel}.js`);
  const ts = join(srcDir, `${rel}.ts`);
  const distJs = join(srcDir, '..', 'dist', 'src', `${rel}.js`);
  const mtime = (p: string): number => {
    try {
      return statSync(p).mtimeMs;
    } catch {
      return -1;
    }
  };
  let argv: string[];
  if (existsSync(siblingJs)) argv = [...node, siblingJs];
  else if (existsSync(distJs) && mtime(distJs) >= mtime(ts)) argv = [...node, distJs];
  else {
    let loader = 'tsx';
    try {
      loader = import.meta.resolve('tsx');
    } catch {
      // leave the bare name; node resolves it from the working directory
    }
    argv = [...node, '--import', loader, ts];
  }
  programArgv.set(rel, argv);
  return argv;
}

export const demoappEntrypoint = (): string[] => programEntrypoint('images/demoapp', 64);

// ---------------------------------------------------------------------------

interface Built {
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  workingDir?: string;
  exposedPorts?: number[];
  applets?: boolean;
}

interface Entry {
  /** The familiar name errors and docs use. */
  name: string;
  /** Named in "available: ..." of pull errors. */
  listed: boolean;
  /** Fully qualified repositories that are this image exactly. */
  repositories: string[];
  /** Repository path suffixes (whole components) matched at any registry: "busybox" matches .../busybox. */
  suffixes: string[];
  /** Names reported in node.status.images. */
  statusNames: string[];
  sizeBytes: number;
  build(ref: ImageRef): Built;
}

const LOOP = 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done';

const isVersion = (tag: string | undefined): tag is string => !!tag && /^\d+(\.\d+)+$/.test(tag);

function webApp(port: number, flags: string[], env: Record<string, string>): Built {
  return {
    entrypoint: demoappEntrypoint(),
    cmd: ['--flavor', 'nginx', '--port', String(port), ...flags],
    env: { PATH: HOST_PATH, ...env },
    exposedPorts: [port],
  };
}

const SUPEROPSMSB = ['kubernetes-register.superopsmsb.com', 'register.superopsmsb.com', 'docker.io'];

const ENTRIES: Entry[] = [
  {
    name: 'k8ts/demoapp',
    listed: true,
    repositories: ['docker.io/k8ts/demoapp'],
    // ikubernetes/demoapp (and copies such as oldxu3957/demoapp) at any registry.
    suffixes: ['demoapp'],
    statusNames: ['docker.io/k8ts/demoapp:v1.0', 'docker.io/ikubernetes/demoapp:v1.0', 'docker.io/oldxu3957/demoapp:v1.0'],
    sizeBytes: 92_665_704,
    build: (ref) => ({
      entrypoint: demoappEntrypoint(),
      cmd: [],
      env: { PATH: HOST_PATH, VERSION: ref.tag && /^v\d/.test(ref.tag) ? ref.tag : 'v1.0' },
      exposedPorts: [80],
    }),
  },
  {
    name: 'k8ts/coredns',
    listed: true,
    repositories: ['docker.io/k8ts/coredns'],
    // kubeadm's CoreDNS image names, so its manifests run unchanged.
    suffixes: ['coredns/coredns', 'coredns'],
    statusNames: ['docker.io/k8ts/coredns:v1.11.3', 'registry.k8s.io/coredns/coredns:v1.11.3'],
    sizeBytes: 61_245_718,
    build: () => ({ entrypoint: programEntrypoint('dns/main', 128), cmd: ['-conf', '/etc/coredns/Corefile'], env: { PATH: HOST_PATH } }),
  },
  {
    name: 'busybox',
    listed: true,
    repositories: ['docker.io/library/busybox', 'docker.io/k8ts/busybox'],
    suffixes: ['busybox'],
    statusNames: ['docker.io/library/busybox:latest', 'docker.io/library/busybox:1.36', 'docker.io/library/busybox:1.28'],
    sizeBytes: 4_261_550,
    build: () => ({ entrypoint: [], cmd: ['sh'], env: { PATH: HOST_PATH }, applets: true }),
  },
  {
    name: 'host',
    listed: true,
    repositories: ['docker.io/library/host', 'docker.io/k8ts/host'],
    suffixes: [],
    statusNames: ['docker.io/library/host:latest'],
    sizeBytes: 0,
    build: () => ({ entrypoint: [], cmd: ['sh'], env: { PATH: HOST_PATH } }),
  },
  {
    name: 'nginx',
    listed: true,
    repositories: ['docker.io/library/nginx'],
    suffixes: ['nginx'],
    statusNames: ['docker.io/library/nginx:latest', 'docker.io/library/nginx:1.23.0'],
    sizeBytes: 142_145_851,
    build: (ref) =>
      webApp(80, ['--root', '/usr/share/nginx/html'], { NGINX_VERSION: isVersion(ref.tag) ? ref.tag : '1.23.0' }),
  },
  {
    name: 'pause',
    listed: true,
    repositories: ['registry.k8s.io/pause', 'k8s.gcr.io/pause', 'docker.io/k8ts/pause'],
    suffixes: ['pause'],
    statusNames: ['registry.k8s.io/pause:3.9'],
    sizeBytes: 321_520,
    build: () => ({ entrypoint: ['/bin/sh', '-c', LOOP], cmd: [], env: { PATH: HOST_PATH } }),
  },
  // --- seed 002 (superopsmsb): the images its walkthrough builds ---------------
  {
    name: 'superopsmsb/nginx_web',
    listed: false,
    repositories: SUPEROPSMSB.map((d) => `${d}/superopsmsb/nginx_web`),
    suffixes: ['superopsmsb/nginx_web'],
    statusNames: ['kubernetes-register.superopsmsb.com/superopsmsb/nginx_web:v0.1'],
    sizeBytes: 142_145_851,
    // startup.sh: echo "Hello Nginx, $HOSTNAME-$NGINX_VERSION" > index.html; nginx
    build: () => webApp(80, ['--page', 'Hello Nginx, $HOSTNAME-$NGINX_VERSION'], { NGINX_VERSION: '1.23.0' }),
  },
  {
    name: 'superopsmsb/django_web',
    listed: false,
    repositories: SUPEROPSMSB.map((d) => `${d}/superopsmsb/django_web`),
    suffixes: ['superopsmsb/django_web'],
    statusNames: ['kubernetes-register.superopsmsb.com/superopsmsb/django_web:v0.1'],
    sizeBytes: 933_914_110,
    build: () =>
      webApp(8000, ['--page', 'Hello Django, $HOSTNAME-$DJANGO_VERSION', '--server-header', 'WSGIServer/0.2 CPython/3.10.4'], {
        DJANGO_VERSION: '1.10.4',
      }),
  },
  {
    name: 'superopsmsb/tomcat_web',
    listed: false,
    repositories: SUPEROPSMSB.map((d) => `${d}/superopsmsb/tomcat_web`),
    suffixes: ['superopsmsb/tomcat_web'],
    statusNames: ['kubernetes-register.superopsmsb.com/superopsmsb/tomcat_web:v0.1'],
    sizeBytes: 479_555_904,
    build: () =>
      webApp(8080, ['--page', 'Hello Tomcat, $HOSTNAME-$TOMCAT_VERSION', '--server-header', 'Apache-Coyote/1.1'], {
        TOMCAT_VERSION: '10.0.22',
      }),
  },
  {
    name: 'superopsmsb/nginx_proxy',
    listed: false,
    repositories: SUPEROPSMSB.map((d) => `${d}/superopsmsb/nginx_proxy`),
    suffixes: ['superopsmsb/nginx_proxy'],
    statusNames: ['kubernetes-register.superopsmsb.com/superopsmsb/nginx_proxy:v0.1'],
    sizeBytes: 142_145_851,
    // conf/default.conf: location / -> nginx-web, /django/ -> django-web:8000, /tomcat/ -> tomcat-web:8080
    build: () =>
      webApp(
        80,
        [
          '--root', '/usr/share/nginx/html',
          '--proxy', '/=http://superopsmsb-nginx-web/',
          '--proxy', '/django/=http://superopsmsb-django-web:8000/',
          '--proxy', '/tomcat/=http://superopsmsb-tomcat-web:8080/',
        ],
        { NGINX_VERSION: '1.23.0' },
      ),
  },
  // --- seed 003: the "tools" image (bash, ping, nslookup/dig, curl) ------------
  {
    name: 'mokeyking/k8s-oldxu',
    listed: false,
    repositories: ['registry.cn-hangzhou.aliyuncs.com/mokeyking/k8s-oldxu'],
    suffixes: ['mokeyking/k8s-oldxu'],
    statusNames: ['registry.cn-hangzhou.aliyuncs.com/mokeyking/k8s-oldxu:tools-latest'],
    sizeBytes: 215_347_200,
    // The host's tools first (bash, curl, dig where installed), busybox applets for the rest;
    // stays up so that `kubectl exec -it tools -- /bin/bash` has something to enter.
    build: () => ({ entrypoint: [], cmd: ['sh', '-c', LOOP], env: { PATH: HOST_PATH }, applets: true, exposedPorts: [] }),
  },
];

function matches(entry: Entry, ref: ImageRef): boolean {
  if (entry.repositories.includes(ref.repository)) return true;
  const path = ref.path.startsWith('library/') ? ref.path.slice(8) : ref.path;
  return entry.suffixes.some((s) => path === s || path.endsWith('/' + s));
}

function findEntry(ref: ImageRef): Entry | undefined {
  return ENTRIES.find((e) => e.repositories.includes(ref.repository)) ?? ENTRIES.find((e) => matches(e, ref));
}

export function imageIdFor(normalizedRef: string): string {
  return 'sha256:' + createHash('sha256').update(`k8ts-image\0${normalizedRef}`).digest('hex');
}

/** The catalog image a reference names, or undefined (an invalid reference, or one not in the catalog). */
export function resolveImage(ref: string, opts: ResolveOptions = {}): ImageInfo | undefined {
  const parsed = parseImageRef(ref);
  if (!parsed) return undefined;
  const entry = findEntry(parsed);
  if (!entry) return undefined;
  const built = entry.build(parsed);
  const env = { ...built.env };
  let applets: ImageInfo['applets'];
  if (built.applets) {
    const dir = appletDirFor(opts.imagesDir ?? defaultImagesDir());
    applets = { dir };
    // busybox: the applets first; the tools image: the host's programs first, applets to fill gaps.
    env.PATH = entry.name === 'busybox' ? `${dir}:${env.PATH}` : `${env.PATH}:${dir}`;
  }
  const info: ImageInfo = {
    ref: parsed.normalized,
    name: entry.name,
    imageId: imageIdFor(parsed.digest && !parsed.tag ? parsed.normalized : `${parsed.repository}:${parsed.tag}`),
    entrypoint: [...built.entrypoint],
    cmd: [...built.cmd],
    env: Object.entries(env).map(([name, value]) => ({ name, value })),
    sizeBytes: entry.sizeBytes,
  };
  if (built.workingDir) info.workingDir = built.workingDir;
  if (built.exposedPorts && built.exposedPorts.length > 0) info.exposedPorts = [...built.exposedPorts];
  if (applets) info.applets = applets;
  return info;
}

/**
 * Puts on disk what an image needs before its first container starts (the
 * busybox applet directory). Idempotent and safe to call concurrently.
 * With rootDir, the applet directory goes under it and the returned image's
 * PATH points there.
 */
export async function prepareImage(info: ImageInfo, rootDir?: string): Promise<ImageInfo> {
  if (!info.applets) return info;
  const dir = rootDir ? appletDirFor(rootDir) : info.applets.dir;
  await ensureAppletDir(dir);
  if (dir === info.applets.dir) return info;
  const old = info.applets.dir;
  return {
    ...info,
    env: info.env.map((e) =>
      e.name === 'PATH' ? { name: 'PATH', value: e.value.split(':').map((p) => (p === old ? dir : p)).join(':') } : { ...e },
    ),
    applets: { dir },
  };
}

/**
 * The argv of a container, by Kubernetes' rules: command replaces the image's
 * entrypoint and drops its cmd; args alone replace cmd; both replace both.
 * Empty lists count as unset, as in kubelet.
 */
export function containerArgv(image: Pick<ImageInfo, 'entrypoint' | 'cmd'>, command?: string[], args?: string[]): string[] {
  const hasCommand = !!command && command.length > 0;
  const hasArgs = !!args && args.length > 0;
  if (hasCommand) return [...command!, ...(hasArgs ? args! : [])];
  return [...image.entrypoint, ...(hasArgs ? args! : image.cmd)];
}

/** The familiar names listed in pull errors. */
export function availableImages(): string[] {
  return ENTRIES.filter((e) => e.listed).map((e) => e.name);
}

/** kubelet's ErrImagePull for a reference the catalog does not have. */
export function imagePullError(ref: string): { reason: 'ErrImagePull'; message: string } {
  return {
    reason: 'ErrImagePull',
    message: `Failed to pull image "${ref}": image not in the k8ts catalog (available: ${availableImages().join(', ')})`,
  };
}

/** kubelet's waiting reason while it backs off after failed pulls. */
export function imagePullBackOff(ref: string): { reason: 'ImagePullBackOff'; message: string } {
  return { reason: 'ImagePullBackOff', message: `Back-off pulling image "${ref}"` };
}

/** kubelet's InvalidImageName, for a reference that does not parse. */
export function invalidImageNameError(ref: string): { reason: 'InvalidImageName'; message: string } {
  return {
    reason: 'InvalidImageName',
    message: `Failed to apply default image tag "${ref}": couldn't parse image reference "${ref}": invalid reference format`,
  };
}

/** The error kubelet would report for a reference resolveImage() does not resolve. */
export function imageError(ref: string): { reason: 'ErrImagePull' | 'InvalidImageName'; message: string } {
  return parseImageRef(ref) ? imagePullError(ref) : invalidImageNameError(ref);
}

/** node.status.images: every catalog image with the names it is known by. */
export function catalogImages(): Array<{ names: string[]; sizeBytes: number }> {
  return ENTRIES.map((e) => ({ names: [...e.statusNames], sizeBytes: e.sizeBytes }));
}
