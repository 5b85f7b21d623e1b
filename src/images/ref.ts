// Image references as container runtimes read them (distribution/reference):
// `busybox` is docker.io/library/busybox:latest, `k8ts/demoapp:v1.0` is
// docker.io/k8ts/demoapp:v1.0, a first component with a dot, a colon or
// `localhost` is a registry host. Pure functions, no I/O.

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';

export interface ImageRef {
  /** Registry host (docker.io for Docker Hub). */
  domain: string;
  /** Repository path in the registry (library/busybox, k8ts/demoapp). */
  path: string;
  /** Tag; 'latest' when neither a tag nor a digest is given. */
  tag?: string;
  /** sha256:<hex> when the reference is pinned by digest. */
  digest?: string;
  /** domain/path (the "repository" of upstream's status.images names). */
  repository: string;
  /** The fully qualified reference: domain/path:tag, domain/path@digest or both. */
  normalized: string;
  /** The short familiar form: busybox:1.36, k8ts/demoapp:v1.0. */
  familiar: string;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

function validDomain(domain: string): boolean {
  const m = /^([^:]+)(?::(\d+))?$/.exec(domain);
  if (!m) return false;
  return m[1]!.split('.').every((c) => DOMAIN_COMPONENT.test(c));
}

/** Parses a reference; undefined when it is not a valid image reference (kubelet's InvalidImageName). */
export function parseImageRef(ref: string): ImageRef | undefined {
  if (typeof ref !== 'string' || ref === '' || ref !== ref.trim()) return undefined;
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return undefined;
  }
  if (rest === '' || rest.length > 255) return undefined;

  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (!validDomain(domain)) return undefined;
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (!path.split('/').every((c) => PATH_COMPONENT.test(c))) return undefined;
  if (!tag && !digest) tag = DEFAULT_TAG;

  const repository = `${domain}/${path}`;
  const suffix = (tag ? `:${tag}` : '') + (digest ? `@${digest}` : '');
  let familiarName = repository;
  if (domain === DEFAULT_DOMAIN) familiarName = path.startsWith('library/') ? path.slice(8) : path;
  return {
    domain,
    path,
    tag,
    digest,
    repository,
    normalized: repository + suffix,
    familiar: familiarName + suffix,
  };
}

/** The fully qualified form of a reference, or undefined when it is invalid. */
export function normalizeImageRef(ref: string): string | undefined {
  return parseImageRef(ref)?.normalized;
}
