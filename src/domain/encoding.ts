/**
 * The consensus encoding (DESIGN.md, "Consensus encoding"): the bytes every guardian hashes and signs.
 *
 * A `Codec<T>` writes a value to a `Writer` and reads it back from a `Reader`. Decoding accepts only the
 * unique canonical encoding: anything else is a typed `DecodeError`, so two guardians can never
 * disagree about what a byte string means, and a peer cannot crash us with crafted bytes.
 *
 * Inside a decode, a failure is thrown as a `DecodeFailure` (not an `Error`, so no stack trace is
 * built) and caught by `decode`, the only public entry point that reads bytes. `decode` never throws.
 */

export type DecodeErrorKind =
  | 'truncated'
  | 'nonMinimalBigSize'
  | 'trailingBytes'
  | 'unsortedMapKeys'
  | 'duplicateMapKey'
  | 'unknownModule'
  | 'unknownVariant'
  | 'invalidBool'
  | 'invalidUtf8'
  | 'outOfRange';

export interface DecodeError {
  kind: DecodeErrorKind;
  /** Byte offset in the outermost input where the problem was found. */
  offset: number;
  message: string;
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: DecodeError };

/** Thrown only inside a decode and always caught by `decode`. Not an Error: cheap to throw. */
export class DecodeFailure {
  constructor(readonly error: DecodeError) {}
}

export class Writer {
  private buffer: Uint8Array;
  private length = 0;

  constructor(initialCapacity = 256) {
    this.buffer = new Uint8Array(initialCapacity);
  }

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  u8(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  raw(bytes: Uint8Array): void {
    const count = bytes.length;
    this.reserve(count);
    // TypedArray#set has a fixed cost that outweighs copying a nonce, a key or a signature by hand.
    if (count <= 64) {
      const buffer = this.buffer;
      let at = this.length;
      for (let i = 0; i < count; i++) buffer[at++] = bytes[i]!;
    } else this.buffer.set(bytes, this.length);
    this.length += count;
  }

  /** BigSize of a non-negative integer below 2^53 (the fast path for lengths, counts and u16/u32). */
  bigSizeNumber(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`BigSize needs a non-negative safe integer, got ${value}`);
    if (value < 0xfd) return this.u8(value);
    if (value <= 0xffff) {
      this.reserve(3);
      this.buffer[this.length++] = 0xfd;
      this.buffer[this.length++] = value >>> 8;
      this.buffer[this.length++] = value & 0xff;
      return;
    }
    if (value <= 0xffffffff) {
      this.reserve(5);
      this.buffer[this.length++] = 0xfe;
      this.buffer[this.length++] = value >>> 24;
      this.buffer[this.length++] = (value >>> 16) & 0xff;
      this.buffer[this.length++] = (value >>> 8) & 0xff;
      this.buffer[this.length++] = value & 0xff;
      return;
    }
    this.bigSize(BigInt(value));
  }

  bigSize(value: bigint): void {
    if (value < 0n || value > U64_MAX) throw new RangeError(`BigSize out of u64 range: ${value}`);
    if (value <= 0xffffffffn) return this.bigSizeNumber(Number(value));
    this.reserve(9);
    this.buffer[this.length++] = 0xff;
    for (let shift = 56n; shift >= 0n; shift -= 8n) this.buffer[this.length++] = Number((value >> shift) & 0xffn);
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

export class Reader {
  private position: number;
  private readonly end: number;

  /** Reads `bytes[start, end)`; offsets in errors stay relative to `bytes`. */
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    end = bytes.length,
  ) {
    this.position = start;
    this.end = end;
  }

  get offset(): number {
    return this.position;
  }

  get remaining(): number {
    return this.end - this.position;
  }

  fail(kind: DecodeErrorKind, message: string, offset = this.position): never {
    throw new DecodeFailure({ kind, offset, message });
  }

  private need(count: number): void {
    if (count > this.end - this.position) this.fail('truncated', `needs ${count} bytes, ${this.end - this.position} left`);
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.position++]!;
  }

  /** A view (not a copy) of the next `count` bytes. */
  raw(count: number): Uint8Array {
    this.need(count);
    const view = this.bytes.subarray(this.position, this.position + count);
    this.position += count;
    return view;
  }

  /** A BigSize that must fit `max` (at most 2^32 - 1), as a number. */
  bigSizeNumber(max = 0xffffffff): number {
    const start = this.position;
    const first = this.u8();
    let value: number;
    if (first < 0xfd) value = first;
    else if (first === 0xfd) {
      this.need(2);
      value = (this.bytes[this.position]! << 8) | this.bytes[this.position + 1]!;
      this.position += 2;
      if (value < 0xfd) this.fail('nonMinimalBigSize', `${value} must be encoded in 1 byte`, start);
    } else if (first === 0xfe) {
      this.need(4);
      const b = this.bytes;
      const p = this.position;
      value = ((b[p]! << 24) >>> 0) + (b[p + 1]! << 16) + (b[p + 2]! << 8) + b[p + 3]!;
      this.position += 4;
      if (value <= 0xffff) this.fail('nonMinimalBigSize', `${value} must be encoded in at most 3 bytes`, start);
    } else {
      this.position = start;
      const big = this.bigSize();
      this.fail('outOfRange', `${big} exceeds ${max}`, start);
    }
    if (value > max) this.fail('outOfRange', `${value} exceeds ${max}`, start);
    return value;
  }

  bigSize(): bigint {
    const start = this.position;
    const first = this.u8();
    if (first !== 0xff) {
      this.position = start;
      return BigInt(this.bigSizeNumber());
    }
    this.need(8);
    let value = 0n;
    for (let i = 0; i < 8; i++) value = (value << 8n) | BigInt(this.bytes[this.position++]!);
    if (value <= 0xffffffffn) this.fail('nonMinimalBigSize', `${value} must be encoded in at most 5 bytes`, start);
    return value;
  }

  /** A length or count prefix, bounded by the bytes left so a crafted prefix cannot make us allocate. */
  lengthPrefix(): number {
    const start = this.position;
    const length = this.bigSizeNumber();
    if (length > this.remaining) this.fail('truncated', `length ${length} exceeds the ${this.remaining} bytes left`, start);
    return length;
  }

  /** A reader over the next `length` bytes, which this reader skips. */
  sub(length: number): Reader {
    this.need(length);
    const reader = new Reader(this.bytes, this.position, this.position + length);
    this.position += length;
    return reader;
  }

  expectEnd(): void {
    if (this.position !== this.end) this.fail('trailingBytes', `${this.end - this.position} unexpected trailing bytes`);
  }
}

export interface Codec<T> {
  encode(writer: Writer, value: T): void;
  decode(reader: Reader): T;
}

export type CodecType<C> = C extends Codec<infer T> ? T : never;

export const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** Encodes a whole value. Throws RangeError only for values outside their type (a caller bug). */
export function encode<T>(codec: Codec<T>, value: T): Uint8Array {
  const writer = new Writer();
  codec.encode(writer, value);
  return writer.finish();
}

/** Decodes exactly `bytes` (trailing bytes are an error). Never throws, whatever the bytes. */
export function decode<T>(codec: Codec<T>, bytes: Uint8Array): DecodeResult<T> {
  try {
    const reader = new Reader(bytes);
    const value = codec.decode(reader);
    reader.expectEnd();
    return { ok: true, value };
  } catch (thrown) {
    if (thrown instanceof DecodeFailure) return { ok: false, error: thrown.error };
    throw thrown;
  }
}

// ---------------------------------------------------------------------------------------------
// Primitives

export const u8: Codec<number> = {
  encode(writer, value) {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`u8 out of range: ${value}`);
    writer.u8(value);
  },
  decode: (reader) => reader.u8(),
};

export const bool: Codec<boolean> = {
  encode: (writer, value) => writer.u8(value ? 1 : 0),
  decode(reader) {
    const start = reader.offset;
    const byte = reader.u8();
    if (byte > 1) reader.fail('invalidBool', `bool must be 0 or 1, got ${byte}`, start);
    return byte === 1;
  },
};

function bigSizeNumberCodec(max: number, name: string): Codec<number> {
  return {
    encode(writer, value) {
      if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${name} out of range: ${value}`);
      writer.bigSizeNumber(value);
    },
    decode: (reader) => reader.bigSizeNumber(max),
  };
}

export const u16 = bigSizeNumberCodec(0xffff, 'u16');
export const u32 = bigSizeNumberCodec(0xffffffff, 'u32');

/** u64 as a bigint (amounts in msat may exceed 2^53). */
export const u64: Codec<bigint> = {
  encode: (writer, value) => writer.bigSize(value),
  decode: (reader) => reader.bigSize(),
};

/** `[u8; N]`: N raw bytes, no prefix. Decoding copies, so values never alias the input buffer. */
export function fixedBytes(length: number): Codec<Uint8Array> {
  return {
    encode(writer, value) {
      if (value.length !== length) throw new RangeError(`expected ${length} bytes, got ${value.length}`);
      writer.raw(value);
    },
    decode: (reader) => reader.raw(length).slice(),
  };
}

export const bytes32 = fixedBytes(32);
export const bytes64 = fixedBytes(64);
export const bytes8 = fixedBytes(8);

/** Variable-length bytes: BigSize(length) + raw bytes. */
export const bytes: Codec<Uint8Array> = {
  encode(writer, value) {
    writer.bigSizeNumber(value.length);
    writer.raw(value);
  },
  decode: (reader) => reader.raw(reader.lengthPrefix()).slice(),
};

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export const string: Codec<string> = {
  encode: (writer, value) => bytes.encode(writer, utf8Encoder.encode(value)),
  decode(reader) {
    const start = reader.offset;
    const raw = reader.raw(reader.lengthPrefix());
    try {
      return utf8Decoder.decode(raw);
    } catch {
      return reader.fail('invalidUtf8', 'string is not valid UTF-8', start);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Combinators

export function vec<T>(item: Codec<T>): Codec<readonly T[]> {
  return {
    encode(writer, values) {
      writer.bigSizeNumber(values.length);
      for (const value of values) item.encode(writer, value);
    },
    decode(reader) {
      // Every element takes at least one byte, so the count is bounded by the bytes left.
      const count = reader.lengthPrefix();
      const values: T[] = [];
      for (let i = 0; i < count; i++) values.push(item.decode(reader));
      return values;
    },
  };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Map<K, V>: pairs in ascending order of the keys' encodings, no duplicates. For BigSize and
 * fixed-size keys (the only keys we use) byte order of the minimal encoding equals numeric order.
 */
export function map<K, V>(key: Codec<K>, value: Codec<V>): Codec<ReadonlyMap<K, V>> {
  return {
    encode(writer, entries) {
      const encoded = [...entries].map(([k, v]) => ({ key: encode(key, k), value: v }));
      encoded.sort((a, b) => compareBytes(a.key, b.key));
      for (let i = 1; i < encoded.length; i++) {
        if (compareBytes(encoded[i - 1]!.key, encoded[i]!.key) === 0) throw new RangeError('map has two keys with the same encoding');
      }
      writer.bigSizeNumber(encoded.length);
      for (const entry of encoded) {
        writer.raw(entry.key);
        value.encode(writer, entry.value);
      }
    },
    decode(reader) {
      const count = reader.lengthPrefix();
      const result = new Map<K, V>();
      let previous: Uint8Array | undefined;
      for (let i = 0; i < count; i++) {
        const start = reader.offset;
        const k = key.decode(reader);
        const keyBytes = reader.bytes.subarray(start, reader.offset);
        if (previous !== undefined) {
          const order = compareBytes(previous, keyBytes);
          if (order === 0) reader.fail('duplicateMapKey', 'map key repeated', start);
          if (order > 0) reader.fail('unsortedMapKeys', 'map keys not in ascending order', start);
        }
        previous = keyBytes;
        result.set(k, value.decode(reader));
      }
      return result;
    },
  };
}

type Fields = Record<string, Codec<any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type StructType<F extends Fields> = { [K in keyof F]: CodecType<F[K]> };

/**
 * A struct: fields in declared order, which is the object's key order. Field names must not look
 * like integers (JavaScript would reorder them).
 */
export function struct<F extends Fields>(fields: F): Codec<StructType<F>> {
  const entries = Object.entries(fields);
  return {
    encode(writer, value) {
      for (const [name, codec] of entries) codec.encode(writer, value[name]);
    },
    decode(reader) {
      const value: Record<string, unknown> = {};
      for (const [name, codec] of entries) value[name] = codec.decode(reader);
      return value as StructType<F>;
    },
  };
}

/** Writes an enum: BigSize(variant) + bytes(body). The body is length-prefixed (DESIGN.md). */
export function writeVariant<T>(writer: Writer, variant: number, body: Codec<T>, value: T): void {
  const inner = new Writer(64);
  body.encode(inner, value);
  const encoded = inner.finish();
  writer.bigSizeNumber(variant);
  writer.bigSizeNumber(encoded.length);
  writer.raw(encoded);
}

/** Reads an enum header; returns the variant index and a reader over exactly its body. */
export function readVariant(reader: Reader): { variant: number; variantOffset: number; body: Reader } {
  const variantOffset = reader.offset;
  const variant = reader.bigSizeNumber();
  const body = reader.sub(reader.lengthPrefix());
  return { variant, variantOffset, body };
}

/** Decodes a variant body that must be consumed exactly. */
export function readBody<T>(body: Reader, codec: Codec<T>): T {
  const value = codec.decode(body);
  body.expectEnd();
  return value;
}

type Variants = Record<string, readonly [number, Codec<any>]>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type EnumType<V extends Variants> = { [K in keyof V]: { kind: K; value: CodecType<V[K][1]> } }[keyof V];

/** A closed enum: unknown variant indexes are rejected ('unknownVariant'). */
export function enumeration<V extends Variants>(variants: V): Codec<EnumType<V>> {
  const byIndex = new Map<number, [string, Codec<unknown>]>();
  for (const [name, [index, codec]] of Object.entries(variants)) byIndex.set(index, [name, codec]);
  return {
    encode(writer, value) {
      const variant = variants[value.kind as string];
      if (variant === undefined) throw new RangeError(`unknown variant ${String(value.kind)}`);
      writeVariant(writer, variant[0], variant[1], value.value);
    },
    decode(reader) {
      const { variant, variantOffset, body } = readVariant(reader);
      const entry = byIndex.get(variant);
      if (entry === undefined) return reader.fail('unknownVariant', `unknown variant ${variant}`, variantOffset);
      return { kind: entry[0], value: readBody(body, entry[1]) } as EnumType<V>;
    },
  };
}

/** Option<T> is the enum { 0: None (empty body), 1: Some(T) }; `undefined` is None. */
export function option<T>(inner: Codec<T>): Codec<T | undefined> {
  const none: Codec<undefined> = { encode: () => undefined, decode: () => undefined };
  return {
    encode(writer, value) {
      if (value === undefined) writeVariant(writer, 0, none, undefined);
      else writeVariant(writer, 1, inner, value);
    },
    decode(reader) {
      const { variant, variantOffset, body } = readVariant(reader);
      if (variant === 0) return readBody(body, none);
      if (variant === 1) return readBody(body, inner);
      return reader.fail('unknownVariant', `Option variant must be 0 or 1, got ${variant}`, variantOffset);
    },
  };
}

/** A versioned module body: `enum { 0: V0(T) }` (DESIGN.md "Modules"). Unknown versions are rejected. */
export function versioned<T>(v0: Codec<T>): Codec<T> {
  return {
    encode: (writer, value) => writeVariant(writer, 0, v0, value),
    decode(reader) {
      const { variant, variantOffset, body } = readVariant(reader);
      if (variant !== 0) return reader.fail('unknownVariant', `unknown version ${variant}`, variantOffset);
      return readBody(body, v0);
    },
  };
}
