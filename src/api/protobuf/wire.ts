// Protocol buffers wire format: a bounds-checked reader and a small writer.
// Only what Kubernetes' proto2 messages use: varints (int32/int64/bool),
// fixed64/fixed32 (double/float), and length-delimited fields (strings,
// bytes, embedded messages, map entries, packed repeated scalars). Groups
// (wire types 3 and 4) are rejected.

export class ProtobufError extends Error {
  override name = 'ProtobufError';
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;


/** Reads one message: the bytes buf[pos, end). Every read is checked against end. */
export class Reader {
  readonly buf: Buffer;

  constructor(
    buf: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {
    this.buf = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  static of(buf: Uint8Array): Reader {
    return new Reader(buf, 0, buf.length);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  get length(): number {
    return this.end - this.pos;
  }

  private fail(what: string): never {
    throw new ProtobufError(`${what} at byte ${this.pos}`);
  }

  varint(): bigint {
    let x = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++]!;
      x |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, x);
      shift += 7n;
    }
    this.fail('varint longer than 10 bytes');
  }

  /** A varint that must fit a JS number exactly (lengths, small counts). */
  smallVarint(): number {
    let x = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++]!;
      x += (b & 0x7f) * mul;
      if (b < 0x80) return x;
      mul *= 128;
    }
    this.fail('length varint too large');
  }

  /** Returns [field number, wire type]. */
  tag(): [number, number] {
    const at = this.pos;
    let v = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      if (this.pos >= this.end) this.fail('truncated tag');
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) break;
      if (i === 4) throw new ProtobufError(`illegal field number (tag longer than 5 bytes) at byte ${at}`);
      mul *= 128;
    }
    const field = Math.floor(v / 8);
    const wire = v % 8;
    if (field < 1 || field > 0x1fffffff) throw new ProtobufError(`illegal field number ${field} at byte ${at}`);
    if (wire === 3 || wire === 4) throw new ProtobufError(`groups (wire type ${wire}) are not supported, at byte ${at}`);
    if (wire > 5) throw new ProtobufError(`illegal wire type ${wire} at byte ${at}`);
    return [field, wire];
  }

  /** A varint read as a signed 64-bit integer, as a JS number (exact up to 2^53). */
  int64(): number {
    const start = this.pos;
    let x = 0;
    let mul = 1;
    // Up to 7 bytes (< 2^49) the value is non-negative and exact as a number.
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++]!;
      x += (b & 0x7f) * mul;
      if (b < 0x80) return x;
      mul *= 128;
    }
    this.pos = start;
    return varintToNumber(this.varint());
  }

  /** The next length-delimited payload as a sub-reader; this reader moves past it. */
  sub(): Reader {
    const at = this.pos;
    const n = this.smallVarint();
    if (n > this.end - this.pos) throw new ProtobufError(`length ${n} at byte ${at} exceeds the ${this.end - this.pos} bytes left`);
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  bytes(): Uint8Array {
    const r = this.sub();
    return r.buf.subarray(r.pos, r.end);
  }

  /** UTF-8; invalid sequences become U+FFFD, as Go's JSON encoder does. */
  string(): string {
    const r = this.sub();
    return this.buf.toString('utf8', r.pos, r.end);
  }

  fixed64(): DataView {
    if (this.end - this.pos < 8) this.fail('truncated fixed64');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    this.pos += 8;
    return v;
  }

  fixed32(): DataView {
    if (this.end - this.pos < 4) this.fail('truncated fixed32');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4);
    this.pos += 4;
    return v;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.fixed64();
        return;
      case WIRE_BYTES:
        this.sub();
        return;
      case WIRE_FIXED32:
        this.fixed32();
        return;
      default:
        this.fail(`cannot skip wire type ${wire}`);
    }
  }
}

/** Signed 64-bit interpretation of a varint, as a JS number (exact up to 2^53). */
export function varintToNumber(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

// ---------------------------------------------------------------------------

const enc = new TextEncoder();

/** Builds one message. */
export class Writer {
  private parts: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.length;
  }

  rawVarint(v: bigint | number): void {
    let x = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
    this.push(Uint8Array.from(out));
  }

  tag(field: number, wire: number): void {
    this.rawVarint((field << 3) | wire);
  }

  varint(field: number, v: bigint | number): void {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(v);
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, WIRE_BYTES);
    this.rawVarint(b.length);
    this.push(b);
  }

  string(field: number, s: string): void {
    this.bytes(field, enc.encode(s));
  }

  double(field: number, d: number): void {
    this.tag(field, WIRE_FIXED64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, d, true);
    this.push(b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}
