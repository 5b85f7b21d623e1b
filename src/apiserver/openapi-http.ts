// Serving the OpenAPI documents (/openapi/v2, /openapi/v3, /openapi/v3/<gv>):
// the openapi module negotiates JSON or protobuf, ETags and gzip.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { openapiResponse } from '../api/openapi/index.js';

export function serveOpenAPI(path: string, req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'https://local');
  const r = openapiResponse({
    path,
    query: url.searchParams,
    accept: req.headers.accept,
    acceptEncoding: req.headers['accept-encoding'] as string | undefined,
    ifNoneMatch: req.headers['if-none-match'],
    method: req.method,
  });
  if (!r) return false;
  res.writeHead(r.status, { ...r.headers, 'Content-Length': r.body.length });
  res.end(r.body);
  return true;
}
