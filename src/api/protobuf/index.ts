// Kubernetes protobuf request bodies, turned into the JSON objects the API
// server works with.
//
// kubectl's typed clients (create namespace/configmap/secret/deployment/
// service, run, drain's evictions, ...) send `application/vnd.kubernetes.protobuf`
// and do not fall back to JSON on 415. Upstream's encoding
// (k8s.io/apimachinery/pkg/runtime/serializer/protobuf) is the 4-byte magic
// `k8s\x00` followed by a runtime.Unknown message:
//   1 typeMeta {1 apiVersion, 2 kind}   2 raw (the object's own message)
//   3 contentEncoding                    4 contentType
// `raw` is decoded as the message for (apiVersion, kind), walking the field
// table in schema.json (made by scripts/gen-proto-schema.ts from upstream's
// generated.proto files), and mapped to upstream's JSON:
//   - field names are the JSON names; Go embedded structs (Probe's handler,
//     Volume's volumeSource, the LocalObjectReference in key selectors, ...)
//     are inlined as in JSON;
//   - integers become numbers, bytes base64 strings, map<string,bytes> an
//     object of base64 strings;
//   - resource.Quantity becomes its string, intstr.IntOrString a number or a
//     string, meta/v1 Time an RFC 3339 string (null when zero), MicroTime one
//     with 6 fractional digits, Duration a Go duration string,
//     runtime.RawExtension and FieldsV1 the JSON they carry;
//   - absent fields are omitted, present empty messages are {};
//   - Go writes every non-pointer scalar, zero or not, while upstream's JSON
//     leaves out zero `omitempty` ones; so zero scalars ("" / 0 / false) are
//     dropped unless the Go field is a pointer (an explicitly set zero, e.g.
//     `replicas: 0`) -- pass {omitEmpty: false} to keep everything.
// Unknown field numbers are skipped (newer clients), and listed in
// `unknownFields` when the caller asks. Malformed input throws ProtobufError,
// never anything else; depth and lengths are bounded by the input.

import { existsSync, readFileSync } from 'node:fs';
import { ProtobufError, Reader, WIRE_BYTES, WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT, Writer, varintToNumber } from './wire.js';

export { ProtobufError } from './wire.js';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
export const PROTOBUF_MAGIC = Uint8Array.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

type Kind = 'string' | 'int' | 'bool' | 'bytes' | 'double' | 'message' | 'map';
interface FieldDef {
  name: string;
  kind: Kind;
  repeated?: true;
  type?: string;
  value?: Kind;
  inline?: true;
  ptr?: true;
}
interface SchemaFile {
  kinds: Record<string, string>;
  messages: Record<string, Record<string, FieldDef>>;
}
interface MessageInfo {
  name: string;
  byNumber: Map<number, FieldDef & { number: number }>;
  /** Fields in number order, for the encoder. */
  fields: Array<FieldDef & { number: number }>;
}

type Json = unknown;
type Obj = Record<string, Json>;

/** `application/vnd.kubernetes.protobuf`, with or without parameters (`;stream=watch`, charset). */
export function isProtobufContentType(type: string | undefined | null): boolean {
  if (!type) return false;
  const media = type.split(';', 1)[0]!.trim().toLowerCase();
  return media === PROTOBUF_CONTENT_TYPE;
}

// ---------------------------------------------------------------------------
// Schema

let schema: { kinds: Record<string, string>; messages: Map<string, MessageInfo> } | undefined;

function loadSchema() {
  if (schema) return schema;
  let file: SchemaFile | undefined;
  // Next to this module under tsx; from dist/src/api/protobuf back to the source tree after tsc.
  for (const rel of ['./schema.json', '../../../../src/api/protobuf/schema.json']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(url)) {
      file = JSON.parse(readFileSync(url, 'utf8')) as SchemaFile;
      break;
    }
  }
  if (!file) throw new Error('protobuf: schema.json not found (regenerate with npx tsx scripts/gen-proto-schema.ts)');
  const messages = new Map<string, MessageInfo>();
  for (const [name, fields] of Object.entries(file.messages)) {
    const list = Object.entries(fields)
      .map(([n, f]) => ({ ...f, number: Number(n) }))
      .sort((a, b) => a.number - b.number);
    messages.set(name, { name, byNumber: new Map(list.map((f) => [f.number, f])), fields: list });
  }
  schema = { kinds: file.kinds, messages };
  return schema;
}

function messageFor(apiVersion: string, kind: string): string | undefined {
  const s = loadSchema();
  return s.kinds[`${apiVersion}/${kind}`] ?? s.kinds[`*/${kind}`];
}

/** Whether a protobuf body of this apiVersion and kind can be decoded. */
export function hasProtobufSchema(apiVersion: string, kind: string): boolean {
  return messageFor(apiVersion, kind) !== undefined;
}

/** The "apiVersion/kind" pairs the decoder knows ("*\/DeleteOptions" matches any group version). */
export function protobufKinds(): string[] {
  return Object.keys(loadSchema().kinds);
}

// ---------------------------------------------------------------------------
// Decoding

export interface DecodeOptions {
  /** Drop zero-valued non-pointer scalars, as upstream's `omitempty` JSON does (default true). */
  omitEmpty?: boolean;
  /** Nesting bound (default 100; Kubernetes objects nest about 15 deep). */
  maxDepth?: number;
  /** Receives the paths of field numbers the schema does not know (skipped). */
  unknownFields?: string[];
}

interface Ctx {
  omitEmpty: boolean;
  maxDepth: number;
  unknown?: string[];
}

const ctxOf = (o: DecodeOptions): Ctx => ({ omitEmpty: o.omitEmpty ?? true, maxDepth: o.maxDepth ?? 100, unknown: o.unknownFields });

function startsWithMagic(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x6b && b[1] === 0x38 && b[2] === 0x73 && b[3] === 0x00;
}

/**
 * Decodes a Kubernetes protobuf-encoded object (magic + runtime.Unknown) into
 * the JSON object upstream's JSON encoding gives for it.
 */
export function decodeK8sProtobuf(body: Uint8Array, options: DecodeOptions = {}): Record<string, unknown> {
  return decodeEnvelope(body, ctxOf(options), 0);
}

function decodeEnvelope(body: Uint8Array, ctx: Ctx, depth: number): Obj {
  if (!(body instanceof Uint8Array)) throw new ProtobufError('protobuf: body is not a byte buffer');
  if (!startsWithMagic(body)) throw new ProtobufError('protobuf: not a Kubernetes protobuf object (missing the "k8s\\x00" prefix)');
  const r = new Reader(body, 4, body.length);
  let apiVersion = '';
  let kind = '';
  let raw: Uint8Array | undefined;
  let contentEncoding = '';
  let contentType = '';
  try {
    while (!r.done) {
      const [field, wire] = r.tag();
      if (field >= 1 && field <= 4 && wire !== WIRE_BYTES)
        throw new ProtobufError(`runtime.Unknown field ${field} has wire type ${wire}, want ${WIRE_BYTES}`);
      switch (field) {
        case 1: {
          const tm = r.sub();
          while (!tm.done) {
            const [f, w] = tm.tag();
            if ((f === 1 || f === 2) && w !== WIRE_BYTES) throw new ProtobufError(`runtime.TypeMeta field ${f} has wire type ${w}, want ${WIRE_BYTES}`);
            if (f === 1) apiVersion = tm.string();
            else if (f === 2) kind = tm.string();
            else tm.skip(w);
          }
          break;
        }
        case 2:
          raw = r.bytes();
          break;
        case 3:
          contentEncoding = r.string();
          break;
        case 4:
          contentType = r.string();
          break;
        default:
          r.skip(wire);
      }
    }
  } catch (e) {
    if (e instanceof ProtobufError) throw new ProtobufError(`protobuf: runtime.Unknown: ${e.message}`);
    throw e;
  }
  if (contentEncoding) throw new ProtobufError(`protobuf: unsupported contentEncoding ${JSON.stringify(contentEncoding)}`);
  if (contentType && !isProtobufContentType(contentType))
    throw new ProtobufError(`protobuf: unsupported contentType ${JSON.stringify(contentType)} of the embedded object`);
  if (!kind) throw new ProtobufError('protobuf: the object has no kind in its typeMeta');
  const msg = messageFor(apiVersion, kind);
  if (!msg) throw new ProtobufError(`protobuf: no protobuf schema for ${apiVersion || '(no apiVersion)'}, Kind=${kind}`);
  const out: Obj = { kind, apiVersion };
  if (raw) {
    const rr = Reader.of(raw);
    try {
      decodeInto(rr, msg, out, kind, depth + 1, ctx);
    } catch (e) {
      if (e instanceof RangeError) throw new ProtobufError(`protobuf: ${kind}: ${e.message}`);
      throw e;
    }
  }
  out.kind = kind;
  out.apiVersion = apiVersion;
  return out;
}

function fail(path: string, what: string): never {
  throw new ProtobufError(`protobuf: ${path}: ${what}`);
}

function isZero(v: Json): boolean {
  return v === '' || v === 0 || v === false;
}

function wireOk(kind: Kind, wire: number): boolean {
  switch (kind) {
    case 'int':
    case 'bool':
      return wire === WIRE_VARINT;
    case 'double':
      return wire === WIRE_FIXED64 || wire === WIRE_FIXED32;
    default:
      return wire === WIRE_BYTES;
  }
}

function readScalar(r: Reader, kind: Kind, wire: number): Json {
  switch (kind) {
    case 'int':
      return r.int64();
    case 'bool':
      return r.int64() !== 0;
    case 'double':
      return wire === WIRE_FIXED64 ? r.fixed64().getFloat64(0, true) : r.fixed32().getFloat32(0, true);
    case 'string':
      return r.string();
    case 'bytes':
      return Buffer.from(r.bytes()).toString('base64');
    default:
      throw new ProtobufError(`not a scalar kind: ${kind}`);
  }
}

/** Decodes the fields in r as message `msgName` into target (so inlined and repeated-singular fields merge). */
function decodeInto(r: Reader, msgName: string, target: Obj, path: string, depth: number, ctx: Ctx): void {
  if (depth > ctx.maxDepth) fail(path, `nested deeper than ${ctx.maxDepth}`);
  const info = loadSchema().messages.get(msgName);
  while (!r.done) {
    let field: number;
    let wire: number;
    try {
      [field, wire] = r.tag();
    } catch (e) {
      if (e instanceof ProtobufError && !e.message.startsWith('protobuf:')) fail(path, e.message);
      throw e;
    }
    const f = info?.byNumber.get(field);
    try {
      if (!f) {
        r.skip(wire);
        ctx.unknown?.push(`${path}#${field}`);
        continue;
      }
      decodeField(r, f, wire, target, `${path}.${f.name}`, depth, ctx);
    } catch (e) {
      if (e instanceof ProtobufError && !e.message.startsWith('protobuf:')) fail(`${path}.${f?.name ?? `#${field}`}`, e.message);
      throw e;
    }
  }
}

function decodeField(r: Reader, f: FieldDef, wire: number, target: Obj, path: string, depth: number, ctx: Ctx): void {
  const name = f.name;
  if (f.kind === 'map') {
    if (wire !== WIRE_BYTES) fail(path, `map entry has wire type ${wire}, want ${WIRE_BYTES}`);
    const entry = r.sub();
    let key = '';
    let value: Json = undefined;
    while (!entry.done) {
      const [ef, ew] = entry.tag();
      if (ef === 1) {
        if (ew !== WIRE_BYTES) fail(path, `map key has wire type ${ew}, want ${WIRE_BYTES}`);
        key = entry.string();
      } else if (ef === 2) {
        if (f.value === 'message') {
          if (ew !== WIRE_BYTES) fail(path, `map value has wire type ${ew}, want ${WIRE_BYTES}`);
          value = decodeMessageValue(entry.sub(), f.type!, `${path}[${JSON.stringify(key)}]`, depth + 1, ctx, undefined);
        } else {
          if (!wireOk(f.value!, ew)) fail(path, `map value has wire type ${ew}`);
          value = readScalar(entry, f.value!, ew);
        }
      } else entry.skip(ew);
    }
    if (value === undefined) value = f.value === 'message' ? decodeMessageValue(new Reader(new Uint8Array(0), 0, 0), f.type!, path, depth + 1, ctx, undefined) : zeroOf(f.value!);
    const map = (target[name] ??= {}) as Obj;
    if (!isPlainObject(map)) fail(path, 'is not an object');
    // defineProperty for "__proto__", so that it stays an ordinary key.
    if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
    else map[key] = value;
    return;
  }
  if (f.kind === 'message') {
    if (wire !== WIRE_BYTES) fail(path, `has wire type ${wire}, want ${WIRE_BYTES}`);
    const sub = r.sub();
    if (f.inline) {
      decodeInto(sub, f.type!, target, path, depth + 1, ctx);
      return;
    }
    if (f.repeated) {
      const list = listAt(target, name, path);
      list.push(decodeMessageValue(sub, f.type!, `${path}[${list.length}]`, depth + 1, ctx, undefined));
    } else {
      const prev = target[name];
      target[name] = decodeMessageValue(sub, f.type!, path, depth + 1, ctx, isPlainObject(prev) ? prev : undefined);
    }
    return;
  }
  // Scalars.
  if (f.repeated) {
    const list = listAt(target, name, path);
    if (wire === WIRE_BYTES && (f.kind === 'int' || f.kind === 'bool' || f.kind === 'double')) {
      // Packed encoding.
      const p = r.sub();
      const w = f.kind === 'double' ? WIRE_FIXED64 : WIRE_VARINT;
      while (!p.done) list.push(readScalar(p, f.kind, w));
      return;
    }
    if (!wireOk(f.kind, wire)) fail(path, `has wire type ${wire}`);
    list.push(readScalar(r, f.kind, wire));
    return;
  }
  if (!wireOk(f.kind, wire)) fail(path, `has wire type ${wire}`);
  const v = readScalar(r, f.kind, wire);
  if (ctx.omitEmpty && !f.ptr && isZero(v)) {
    if (name in target) delete target[name]; // a later zero overrides an earlier value
  } else target[name] = v;
}

function listAt(target: Obj, name: string, path: string): Json[] {
  const list = (target[name] ??= []) as Json[];
  if (!Array.isArray(list)) fail(path, 'is not a list');
  return list;
}

function isPlainObject(v: Json): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function zeroOf(kind: Kind): Json {
  switch (kind) {
    case 'int':
    case 'double':
      return 0;
    case 'bool':
      return false;
    default:
      return '';
  }
}

/** A message value: the special apimachinery types become their JSON forms; the rest objects. */
function decodeMessageValue(r: Reader, type: string, path: string, depth: number, ctx: Ctx, into: Obj | undefined): Json {
  if (depth > ctx.maxDepth) fail(path, `nested deeper than ${ctx.maxDepth}`);
  switch (type) {
    case 'meta.v1.Time':
      return decodeTime(r, path, false);
    case 'meta.v1.MicroTime':
      return decodeTime(r, path, true);
    case 'meta.v1.Duration': {
      let ns = 0n;
      eachField(r, path, (f, w, rr) => {
        if (f === 1) ns = BigInt.asIntN(64, expectVarint(rr, w, path));
        else rr.skip(w);
      });
      return formatDuration(ns);
    }
    case 'resource.Quantity': {
      let s = '0';
      eachField(r, path, (f, w, rr) => {
        if (f === 1) s = expectString(rr, w, path);
        else rr.skip(w);
      });
      return s;
    }
    case 'intstr.IntOrString': {
      let t = 0;
      let i = 0;
      let s = '';
      eachField(r, path, (f, w, rr) => {
        if (f === 1) t = varintToNumber(expectVarint(rr, w, path));
        else if (f === 2) i = Number(BigInt.asIntN(32, expectVarint(rr, w, path)));
        else if (f === 3) s = expectString(rr, w, path);
        else rr.skip(w);
      });
      if (t === 0) return i;
      if (t === 1) return s;
      return fail(path, `IntOrString has impossible type ${t}`);
    }
    case 'runtime.RawExtension':
    case 'meta.v1.FieldsV1': {
      let raw: Uint8Array | undefined;
      eachField(r, path, (f, w, rr) => {
        if (f === 1) {
          if (w !== WIRE_BYTES) fail(path, `raw has wire type ${w}`);
          raw = rr.bytes();
        } else rr.skip(w);
      });
      if (!raw || raw.length === 0) return null;
      if (startsWithMagic(raw)) return decodeEnvelope(raw, ctx, depth);
      try {
        return JSON.parse(Buffer.from(raw).toString('utf8')) as Json;
      } catch (e) {
        return fail(path, `embedded raw object is neither JSON nor Kubernetes protobuf (${(e as Error).message})`);
      }
    }
    case 'meta.v1.Verbs': {
      const items: string[] = [];
      eachField(r, path, (f, w, rr) => {
        if (f === 1) items.push(expectString(rr, w, path));
        else rr.skip(w);
      });
      return items;
    }
  }
  const obj: Obj = into ?? {};
  decodeInto(r, type, obj, path, depth, ctx);
  return obj;
}

function eachField(r: Reader, path: string, fn: (field: number, wire: number, r: Reader) => void): void {
  try {
    while (!r.done) {
      const [f, w] = r.tag();
      fn(f, w, r);
    }
  } catch (e) {
    if (e instanceof ProtobufError && !e.message.startsWith('protobuf:')) fail(path, e.message);
    throw e;
  }
}

function expectVarint(r: Reader, wire: number, path: string): bigint {
  if (wire !== WIRE_VARINT) fail(path, `has wire type ${wire}, want ${WIRE_VARINT}`);
  return r.varint();
}

function expectString(r: Reader, wire: number, path: string): string {
  if (wire !== WIRE_BYTES) fail(path, `has wire type ${wire}, want ${WIRE_BYTES}`);
  return r.string();
}

// Go's zero time.Time (0001-01-01T00:00:00Z) in Unix seconds: metav1.Time marshals it as null.
const GO_ZERO_TIME = -62135596800n;

function decodeTime(r: Reader, path: string, micro: boolean): string | null {
  if (r.done) return null; // an empty Timestamp is the zero time
  let sec = 0n;
  let nanos = 0n;
  eachField(r, path, (f, w, rr) => {
    if (f === 1) sec = BigInt.asIntN(64, expectVarint(rr, w, path));
    else if (f === 2) nanos = BigInt.asIntN(32, expectVarint(rr, w, path));
    else rr.skip(w);
  });
  // Normalise as time.Unix does.
  if (nanos < 0n || nanos >= 1_000_000_000n) {
    let q = nanos / 1_000_000_000n;
    if (nanos < 0n && nanos % 1_000_000_000n !== 0n) q -= 1n;
    sec += q;
    nanos -= q * 1_000_000_000n;
  }
  if (sec === GO_ZERO_TIME && nanos === 0n) return null;
  return formatTime(sec, Number(nanos), micro, path);
}

function formatTime(sec: bigint, nanos: number, micro: boolean, path: string): string {
  const ms = Number(sec) * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) fail(path, `time ${sec}s is out of range`);
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (year < 0 || year > 9999) fail(path, `time ${sec}s is outside years 0000-9999`);
  const base = d.toISOString().slice(0, 19);
  return micro ? `${base}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${base}Z`;
}

/** Go's time.Duration.String(). */
export function formatDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  const frac = (v: bigint, unit: bigint, digits: number): string => {
    const whole = v / unit;
    let rest = (v % unit).toString().padStart(digits, '0').replace(/0+$/, '');
    return rest ? `${whole}.${rest}` : `${whole}`;
  };
  if (u < 1_000_000_000n) {
    if (u < 1000n) out = `${u}ns`;
    else if (u < 1_000_000n) out = `${frac(u, 1000n, 3)}µs`;
    else out = `${frac(u, 1_000_000n, 6)}ms`;
  } else {
    const h = u / 3_600_000_000_000n;
    u -= h * 3_600_000_000_000n;
    const m = u / 60_000_000_000n;
    u -= m * 60_000_000_000n;
    const s = `${frac(u, 1_000_000_000n, 9)}s`;
    out = h > 0n ? `${h}h${m}m${s}` : m > 0n ? `${m}m${s}` : s;
  }
  return neg ? `-${out}` : out;
}

/** Parses a Go duration string ("1h2m3.5s", "300ms") into nanoseconds. */
export function parseDuration(s: string): bigint {
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let rest = s.trim();
  let sign = 1n;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1n;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  const re = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  let total = 0;
  if (!rest) throw new ProtobufError(`invalid duration ${JSON.stringify(s)}`);
  while (rest) {
    const m = re.exec(rest);
    if (!m) throw new ProtobufError(`invalid duration ${JSON.stringify(s)}`);
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return sign * BigInt(Math.round(total));
}

// ---------------------------------------------------------------------------
// Encoding (the same table, the other way): used by tests as a round-trip
// check and available to any component that wants to speak protobuf.

/** Encodes a JSON object (with apiVersion and kind) the way upstream's protobuf serializer does. */
export function encodeK8sProtobuf(obj: Record<string, unknown>): Uint8Array {
  const apiVersion = obj.apiVersion;
  const kind = obj.kind;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !kind) throw new ProtobufError('protobuf: encode needs string apiVersion and kind');
  const msg = messageFor(apiVersion, kind);
  if (!msg) throw new ProtobufError(`protobuf: no protobuf schema for ${apiVersion}, Kind=${kind}`);
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  const raw = encodeMessage(rest, msg, kind, 0);
  const tm = new Writer();
  tm.string(1, apiVersion);
  tm.string(2, kind);
  const u = new Writer();
  u.bytes(1, tm.finish());
  u.bytes(2, raw);
  u.string(3, '');
  u.string(4, '');
  const body = u.finish();
  const out = new Uint8Array(4 + body.length);
  out.set(PROTOBUF_MAGIC, 0);
  out.set(body, 4);
  return out;
}

/** JSON names a message accepts, including those of its inlined members. */
function jsonNames(type: string, seen = new Set<string>()): Set<string> {
  const info = loadSchema().messages.get(type);
  const names = new Set<string>();
  if (!info || seen.has(type)) return names;
  seen.add(type);
  for (const f of info.fields) {
    if (f.inline) for (const n of jsonNames(f.type!, seen)) names.add(n);
    else names.add(f.name);
  }
  return names;
}

function encodeMessage(obj: Obj, type: string, path: string, depth: number): Uint8Array {
  if (depth > 100) throw new ProtobufError(`protobuf: ${path}: nested too deep to encode`);
  const info = loadSchema().messages.get(type);
  if (!info) throw new ProtobufError(`protobuf: ${path}: no schema for message ${type}`);
  const used = new Set<string>();
  const w = new Writer();
  for (const f of info.fields) {
    if (f.inline) {
      const names = jsonNames(f.type!);
      const part: Obj = {};
      for (const k of Object.keys(obj)) if (names.has(k)) part[k] = obj[k];
      for (const k of Object.keys(part)) used.add(k);
      // Go always writes a non-pointer embedded struct, empty or not.
      w.bytes(f.number, encodeMessage(part, f.type!, path, depth + 1));
      continue;
    }
    const v = obj[f.name];
    if (v === undefined) continue;
    used.add(f.name);
    const p = `${path}.${f.name}`;
    if (f.kind === 'map') {
      if (!isPlainObject(v)) throw new ProtobufError(`protobuf: ${p}: want an object`);
      for (const [k, val] of Object.entries(v)) {
        const e = new Writer();
        e.string(1, k);
        if (f.value === 'message') e.bytes(2, encodeMessageValue(val, f.type!, `${p}[${JSON.stringify(k)}]`, depth + 1));
        else writeScalar(e, 2, f.value!, val, p);
        w.bytes(f.number, e.finish());
      }
    } else if (f.repeated) {
      if (!Array.isArray(v)) throw new ProtobufError(`protobuf: ${p}: want an array`);
      v.forEach((item, i) => {
        if (f.kind === 'message') w.bytes(f.number, encodeMessageValue(item, f.type!, `${p}[${i}]`, depth + 1));
        else writeScalar(w, f.number, f.kind, item, p);
      });
    } else if (f.kind === 'message') {
      w.bytes(f.number, encodeMessageValue(v, f.type!, p, depth + 1));
    } else {
      writeScalar(w, f.number, f.kind, v, p);
    }
  }
  for (const k of Object.keys(obj)) if (!used.has(k) && obj[k] !== undefined) throw new ProtobufError(`protobuf: ${path}: ${type} has no field ${JSON.stringify(k)}`);
  return w.finish();
}

function writeScalar(w: Writer, field: number, kind: Kind, v: Json, path: string): void {
  switch (kind) {
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new ProtobufError(`protobuf: ${path}: want an integer, got ${JSON.stringify(v)}`);
      w.varint(field, BigInt(v));
      return;
    case 'bool':
      if (typeof v !== 'boolean') throw new ProtobufError(`protobuf: ${path}: want a boolean`);
      w.varint(field, v ? 1 : 0);
      return;
    case 'double':
      if (typeof v !== 'number') throw new ProtobufError(`protobuf: ${path}: want a number`);
      w.double(field, v);
      return;
    case 'string':
      if (typeof v !== 'string') throw new ProtobufError(`protobuf: ${path}: want a string`);
      w.string(field, v);
      return;
    case 'bytes':
      if (typeof v !== 'string') throw new ProtobufError(`protobuf: ${path}: want a base64 string`);
      w.bytes(field, Buffer.from(v, 'base64'));
      return;
    default:
      throw new ProtobufError(`protobuf: ${path}: not a scalar kind ${kind}`);
  }
}

function encodeMessageValue(v: Json, type: string, path: string, depth: number): Uint8Array {
  const w = new Writer();
  switch (type) {
    case 'meta.v1.Time':
    case 'meta.v1.MicroTime': {
      if (v === null) return w.finish();
      if (typeof v !== 'string') throw new ProtobufError(`protobuf: ${path}: want an RFC 3339 time string`);
      const [sec, nanos] = parseTime(v, path);
      w.varint(1, sec);
      w.varint(2, nanos);
      return w.finish();
    }
    case 'meta.v1.Duration':
      if (typeof v !== 'string') throw new ProtobufError(`protobuf: ${path}: want a duration string`);
      w.varint(1, parseDuration(v));
      return w.finish();
    case 'resource.Quantity':
      if (typeof v !== 'string' && typeof v !== 'number') throw new ProtobufError(`protobuf: ${path}: want a quantity`);
      w.string(1, String(v));
      return w.finish();
    case 'intstr.IntOrString':
      if (typeof v === 'number' && Number.isInteger(v)) {
        w.varint(1, 0);
        w.varint(2, v);
        w.string(3, '');
      } else if (typeof v === 'string') {
        w.varint(1, 1);
        w.varint(2, 0);
        w.string(3, v);
      } else throw new ProtobufError(`protobuf: ${path}: want an integer or a string`);
      return w.finish();
    case 'runtime.RawExtension':
    case 'meta.v1.FieldsV1':
      if (v !== null) w.string(1, JSON.stringify(v));
      return w.finish();
    case 'meta.v1.Verbs':
      if (!Array.isArray(v)) throw new ProtobufError(`protobuf: ${path}: want an array of strings`);
      for (const s of v) writeScalar(w, 1, 'string', s, path);
      return w.finish();
  }
  if (!isPlainObject(v)) throw new ProtobufError(`protobuf: ${path}: want an object`);
  return encodeMessage(v, type, path, depth);
}

function parseTime(s: string, path: string): [bigint, number] {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(s);
  if (!m) throw new ProtobufError(`protobuf: ${path}: ${JSON.stringify(s)} is not an RFC 3339 time`);
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8]!.toUpperCase()}`);
  if (Number.isNaN(ms)) throw new ProtobufError(`protobuf: ${path}: ${JSON.stringify(s)} is not a valid time`);
  const nanos = m[7] ? Number(m[7].padEnd(9, '0')) : 0;
  return [BigInt(Math.floor(ms / 1000)), nanos];
}
