// Request and response plumbing: bounded bodies, content types, JSON/YAML decoding.
import type { IncomingMessage, ServerResponse } from 'node:http';
import YAML from 'yaml';
import { decodeK8sProtobuf, isProtobufContentType } from '../api/protobuf/index.js';
import { type ApiError, badRequest, tooLarge, unsupportedMediaType } from './status.js';

/** Upstream's limit on request bodies (3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume(); // drain without keeping it
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => failed || resolve(Buffer.concat(chunks)));
    req.on('error', (e) => failed || reject(badRequest(`error reading the request body: ${e.message}`)));
  });
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

const JSON_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];

/** Decodes a create/update body (JSON or YAML). */
export function decodeObject(body: Buffer, type: string): Record<string, unknown> {
  if (isProtobufContentType(type)) {
    // kubectl's typed clients (1.33) send Kubernetes protobuf.
    try {
      return decodeK8sProtobuf(body);
    } catch (e) {
      throw badRequest(`error decoding protobuf: ${(e as Error).message}`);
    }
  }
  if (type !== '' && type !== 'application/json' && type !== 'application/yaml' && type !== '*/*') {
    throw unsupportedMediaType(type, JSON_TYPES);
  }
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty; an object was expected');
  const v = parseDocument(text, type === 'application/yaml' ? 'yaml' : 'json');
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw badRequest('the body of the request must be a JSON object');
  }
  return v as Record<string, unknown>;
}

/** Parses JSON (or YAML), turning syntax errors into 400s with upstream-like messages. */
export function parseDocument(text: string, format: 'json' | 'yaml'): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
    }
  }
  try {
    const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: false });
    if (doc.errors.length) throw doc.errors[0];
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw badRequest(`error converting YAML to JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}

export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.code, err.toStatus());
}

export function sendText(res: ServerResponse, code: number, text: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The version `v` of the first Accept clause that names group `g` and `as` kind
 * (e.g. `application/json;as=Table;v=v1;g=meta.k8s.io`) among `versions`.
 */
export function acceptedVersion(accept: string | undefined, g: string, as: string, versions: string[]): string | undefined {
  for (const part of (accept ?? '').split(',')) {
    const params = new Map(
      part
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    const v = params.get('v');
    if (params.get('g') === g && params.get('as') === as && v && versions.includes(v)) return v;
  }
  return undefined;
}
