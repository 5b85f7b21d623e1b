// The swagger 2.0 document in protocol buffers, as gnostic's openapi_v2
// messages (package openapi.v2, OpenAPIv2.proto). client-go's
// DiscoveryClient.OpenAPISchema() asks /openapi/v2 for
// `application/com.github.proto-openapi.spec.v2@v1.0+protobuf` and passes the
// body straight to proto.Unmarshal: it has no JSON fallback, so kubectl's
// client-side validation and its v2 lookups need this encoding.
//
// Only the parts of the document k8ts emits are encoded: info, paths with
// operations (parameters, responses, vendor extensions), definitions,
// security. Vendor extensions and other free-form values (`default`, `enum`,
// `example`) travel as gnostic's Any { yaml }, and JSON is valid YAML.

type Json = unknown;
type Obj = Record<string, Json>;

const enc = new TextEncoder();

/** A protobuf message under construction: its encoded fields, in order. */
class Msg {
  private parts: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array) {
    this.parts.push(b);
    this.size += b.length;
  }

  private varint(n: number) {
    const out: number[] = [];
    // Field values here stay well under 2^53.
    while (n > 0x7f) {
      out.push((n % 128) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number) {
    this.varint(field * 8 + wire);
  }

  string(field: number, v: Json): this {
    if (typeof v === 'string' && v !== '') {
      const b = enc.encode(v);
      this.tag(field, 2);
      this.varint(b.length);
      this.push(b);
    }
    return this;
  }

  strings(field: number, v: Json): this {
    if (Array.isArray(v)) for (const s of v) if (typeof s === 'string') {
      // Repeated strings keep empty elements.
      const b = enc.encode(s);
      this.tag(field, 2);
      this.varint(b.length);
      this.push(b);
    }
    return this;
  }

  bool(field: number, v: Json): this {
    if (v === true) {
      this.tag(field, 0);
      this.varint(1);
    }
    return this;
  }

  int64(field: number, v: Json): this {
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) {
      this.tag(field, 0);
      this.varint(v);
    }
    return this;
  }

  /** A bool member of a oneof: written even when false, so the choice survives. */
  oneofBool(field: number, v: boolean): this {
    this.tag(field, 0);
    this.varint(v ? 1 : 0);
    return this;
  }

  double(field: number, v: Json): this {
    if (typeof v === 'number' && v !== 0) {
      this.tag(field, 1);
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, v, true);
      this.push(b);
    }
    return this;
  }

  /** A sub-message; written even when empty, so that oneof choices survive. */
  message(field: number, m: Msg | undefined): this {
    if (m) {
      const b = m.bytes();
      this.tag(field, 2);
      this.varint(b.length);
      this.push(b);
    }
    return this;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

const isObj = (v: Json): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** openapi.v2.Any: the value as YAML text (JSON is a YAML subset). */
function any(v: Json): Msg | undefined {
  return v === undefined ? undefined : new Msg().string(2, JSON.stringify(v));
}

/** repeated NamedAny vendor_extension: the object's `x-` keys. */
function vendorExtensions(m: Msg, field: number, o: Obj): Msg {
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith('x-')) m.message(field, new Msg().string(1, k).message(2, any(v)));
  }
  return m;
}

function schema(s: Obj): Msg {
  const m = new Msg()
    .string(1, s.$ref)
    .string(2, s.format)
    .string(3, s.title)
    .string(4, s.description)
    .message(5, any(s.default))
    .double(6, s.multipleOf)
    .double(7, s.maximum)
    .bool(8, s.exclusiveMaximum)
    .double(9, s.minimum)
    .bool(10, s.exclusiveMinimum)
    .int64(11, s.maxLength)
    .int64(12, s.minLength)
    .string(13, s.pattern)
    .int64(14, s.maxItems)
    .int64(15, s.minItems)
    .bool(16, s.uniqueItems)
    .int64(17, s.maxProperties)
    .int64(18, s.minProperties)
    .strings(19, s.required);
  if (Array.isArray(s.enum)) for (const e of s.enum) m.message(20, any(e));
  if (isObj(s.additionalProperties)) m.message(21, new Msg().message(1, schema(s.additionalProperties)));
  else if (typeof s.additionalProperties === 'boolean') m.message(21, new Msg().oneofBool(2, s.additionalProperties));
  if (s.type !== undefined) m.message(22, new Msg().strings(1, Array.isArray(s.type) ? s.type : [s.type]));
  if (isObj(s.items)) m.message(23, new Msg().message(1, schema(s.items)));
  else if (Array.isArray(s.items)) {
    const items = new Msg();
    for (const i of s.items) if (isObj(i)) items.message(1, schema(i));
    m.message(23, items);
  }
  if (Array.isArray(s.allOf)) for (const a of s.allOf) if (isObj(a)) m.message(24, schema(a));
  if (isObj(s.properties)) {
    const props = new Msg();
    for (const [k, v] of Object.entries(s.properties)) if (isObj(v)) props.message(1, new Msg().string(1, k).message(2, schema(v)));
    m.message(25, props);
  }
  m.string(26, s.discriminator).bool(27, s.readOnly).message(30, any(s.example));
  return vendorExtensions(m, 31, s);
}

/** QueryParameterSubSchema / PathParameterSubSchema / HeaderParameterSubSchema. */
function nonBodyParameter(p: Obj): Msg {
  const sub = new Msg().bool(1, p.required).string(2, p.in).string(3, p.description).string(4, p.name);
  let which: number;
  switch (p.in) {
    case 'path':
      which = 4;
      sub.string(5, p.type).string(6, p.format).string(8, p.collectionFormat).message(9, any(p.default)).bool(19, p.uniqueItems);
      vendorExtensions(sub, 22, p);
      break;
    case 'header':
      which = 1;
      sub.string(5, p.type).string(6, p.format).string(8, p.collectionFormat).message(9, any(p.default)).bool(19, p.uniqueItems);
      vendorExtensions(sub, 22, p);
      break;
    default: // query, formData
      which = p.in === 'formData' ? 2 : 3;
      sub.bool(5, p.allowEmptyValue).string(6, p.type).string(7, p.format).string(9, p.collectionFormat).message(10, any(p.default)).bool(20, p.uniqueItems);
      vendorExtensions(sub, 23, p);
  }
  return new Msg().message(which, sub);
}

function parametersItem(p: Obj): Msg {
  if (typeof p.$ref === 'string') return new Msg().message(2, new Msg().string(1, p.$ref).string(2, p.description));
  const param =
    p.in === 'body'
      ? new Msg().message(
          1,
          vendorExtensions(
            new Msg()
              .string(1, p.description)
              .string(2, p.name)
              .string(3, p.in)
              .bool(4, p.required)
              .message(5, isObj(p.schema) ? schema(p.schema) : undefined),
            6,
            p,
          ),
        )
      : new Msg().message(2, nonBodyParameter(p));
  return new Msg().message(1, param);
}

function response(r: Obj): Msg {
  const m = new Msg().string(1, r.description);
  if (isObj(r.schema)) m.message(2, new Msg().message(1, schema(r.schema)));
  return vendorExtensions(m, 5, r);
}

function operation(op: Obj): Msg {
  const m = new Msg()
    .strings(1, op.tags)
    .string(2, op.summary)
    .string(3, op.description)
    .string(5, op.operationId)
    .strings(6, op.produces)
    .strings(7, op.consumes);
  if (Array.isArray(op.parameters)) for (const p of op.parameters) if (isObj(p)) m.message(8, parametersItem(p));
  if (isObj(op.responses)) {
    const rs = new Msg();
    for (const [code, r] of Object.entries(op.responses)) {
      if (!isObj(r)) continue;
      const value = typeof r.$ref === 'string' ? new Msg().message(2, new Msg().string(1, r.$ref)) : new Msg().message(1, response(r));
      rs.message(1, new Msg().string(1, code).message(2, value));
    }
    m.message(9, rs);
  }
  m.strings(10, op.schemes).bool(11, op.deprecated);
  if (Array.isArray(op.security)) for (const s of op.security) if (isObj(s)) m.message(12, securityRequirement(s));
  return vendorExtensions(m, 13, op);
}

function securityRequirement(s: Obj): Msg {
  const m = new Msg();
  for (const [k, v] of Object.entries(s)) m.message(1, new Msg().string(1, k).message(2, new Msg().strings(1, v)));
  return m;
}

const METHOD_FIELDS: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

function pathItem(item: Obj): Msg {
  const m = new Msg().string(1, item.$ref);
  for (const [method, field] of Object.entries(METHOD_FIELDS)) if (isObj(item[method])) m.message(field, operation(item[method] as Obj));
  if (Array.isArray(item.parameters)) for (const p of item.parameters) if (isObj(p)) m.message(9, parametersItem(p));
  return vendorExtensions(m, 10, item);
}

/** Encodes a swagger 2.0 document (as JSON) as an openapi.v2.Document message. */
export function encodeSwaggerProtobuf(doc: Obj): Uint8Array {
  const m = new Msg().string(1, doc.swagger);
  if (isObj(doc.info)) {
    const i = doc.info;
    m.message(2, vendorExtensions(new Msg().string(1, i.title).string(2, i.version).string(3, i.description), 7, i));
  }
  m.string(3, doc.host).string(4, doc.basePath).strings(5, doc.schemes).strings(6, doc.consumes).strings(7, doc.produces);
  if (isObj(doc.paths)) {
    const paths = vendorExtensions(new Msg(), 1, doc.paths);
    for (const [p, item] of Object.entries(doc.paths)) if (!p.startsWith('x-') && isObj(item)) paths.message(2, new Msg().string(1, p).message(2, pathItem(item)));
    m.message(8, paths);
  }
  if (isObj(doc.definitions)) {
    const defs = new Msg();
    for (const [name, s] of Object.entries(doc.definitions)) if (isObj(s)) defs.message(1, new Msg().string(1, name).message(2, schema(s)));
    m.message(9, defs);
  }
  if (Array.isArray(doc.security)) for (const s of doc.security) if (isObj(s)) m.message(12, securityRequirement(s));
  if (isObj(doc.securityDefinitions)) {
    const sd = new Msg();
    for (const [name, d] of Object.entries(doc.securityDefinitions)) {
      if (!isObj(d) || d.type !== 'apiKey') continue; // k8ts publishes only the bearer token (an apiKey scheme)
      const apiKey = vendorExtensions(new Msg().string(1, d.type).string(2, d.name).string(3, d.in).string(4, d.description), 5, d);
      sd.message(1, new Msg().string(1, name).message(2, new Msg().message(2, apiKey)));
    }
    m.message(13, sd);
  }
  return vendorExtensions(m, 16, doc).bytes();
}
