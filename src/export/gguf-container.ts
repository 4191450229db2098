// The GGUF v3 container as llama.cpp reads it, written from the format's specification: a header (magic, version,
// tensor and key counts), typed key/value metadata, one info record per tensor (name, dims innermost first, ggml
// type, offset into the data section), padding to the alignment, then each tensor's bytes at an aligned offset.
// Everything little-endian. What the keys and tensors mean lives in gguf-arch.ts and gguf-tokenizer.ts.

/** GGUF's metadata value types (the spec's gguf_metadata_value_type). */
const VALUE_TYPE = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;
type Scalar = 'u32' | 'i32' | 'f32' | 'bool' | 'string' | 'u64';

/** One metadata value: a scalar, or an array of one scalar type. */
export type GgufValue =
  | { type: Scalar; value: number | boolean | string }
  | { type: 'array'; of: Scalar; values: readonly (number | boolean | string)[] };

export const gguf = {
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  str: (value: string): GgufValue => ({ type: 'string', value }),
  strs: (values: readonly string[]): GgufValue => ({ type: 'array', of: 'string', values }),
  i32s: (values: readonly number[]): GgufValue => ({ type: 'array', of: 'i32', values }),
};

/** The ggml tensor types this export writes (ggml's enum values), with their block size and bytes per block. */
export const GGML_TYPE = {
  f32: { id: 0, block: 1, bytes: 4 },
  f16: { id: 1, block: 1, bytes: 2 },
  q8_0: { id: 8, block: 32, bytes: 34 },
} as const;
export type GgmlType = keyof typeof GGML_TYPE;

export interface GgufTensor {
  name: string;
  /** Row-major shape, outermost first, as in safetensors ([N, K] for a linear layer); GGUF stores it reversed. */
  shape: number[];
  type: GgmlType;
  /** Already encoded in `type` (gguf-quant.ts). */
  bytes: Uint8Array;
}

const ALIGNMENT = 32;
const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32

/** A growable little-endian byte buffer for the header, metadata and tensor infos (small next to the data). */
class Bytes {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.room(1);
    this.view.setUint8(this.length++, v);
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number): void {
    this.room(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number): void {
    this.room(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  u64(v: number): void {
    this.room(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  /** gguf_string_t: a u64 byte length, then UTF-8 without a terminator. */
  str(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  pad(to: number): void {
    while (this.length % to !== 0) this.u8(0);
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function writeScalar(out: Bytes, type: Scalar, v: number | boolean | string): void {
  switch (type) {
    case 'u32':
      return out.u32(v as number);
    case 'i32':
      return out.i32(v as number);
    case 'f32':
      return out.f32(v as number);
    case 'u64':
      return out.u64(v as number);
    case 'bool':
      return out.u8(v ? 1 : 0);
    case 'string':
      return out.str(v as string);
  }
}

function writeValue(out: Bytes, v: GgufValue): void {
  if (v.type === 'array') {
    out.u32(VALUE_TYPE.array);
    out.u32(VALUE_TYPE[v.of]);
    out.u64(v.values.length);
    for (const x of v.values) writeScalar(out, v.of, x);
    return;
  }
  out.u32(VALUE_TYPE[v.type]);
  writeScalar(out, v.type, v.value);
}

/** Bytes a tensor of this shape and type takes; the innermost dimension must be a whole number of blocks. */
export function tensorBytes(name: string, shape: number[], type: GgmlType): number {
  const t = GGML_TYPE[type];
  const inner = shape[shape.length - 1];
  if (inner % t.block !== 0) throw new Error(`gguf: ${name}'s rows (${inner}) are not a multiple of ${type}'s block of ${t.block}`);
  return (shape.reduce((a, b) => a * b, 1) / t.block) * t.bytes;
}

/** What the header says of a tensor: its name, shape and type, without its bytes. */
export type GgufTensorInfo = Omit<GgufTensor, 'bytes'>;

/** The zeros after a tensor of `n` bytes, up to the next aligned offset. */
export const paddingAfter = (n: number) => (ALIGNMENT - (n % ALIGNMENT)) % ALIGNMENT;

/**
 * The header, metadata and tensor infos with their padding: all a file needs before its first tensor's bytes, so a
 * writer can stream the tensors after it one at a time (each followed by paddingAfter its length). Also its size.
 */
export function encodeGgufHeader(metadata: [string, GgufValue][], tensors: GgufTensorInfo[]): { head: Uint8Array; bytes: number } {
  const head = new Bytes();
  head.u32(MAGIC);
  head.u32(3);
  head.u64(tensors.length);
  head.u64(metadata.length);
  const keys = new Set<string>();
  for (const [key, value] of metadata) {
    if (keys.has(key)) throw new Error(`gguf: key ${key} given twice`);
    keys.add(key);
    head.str(key);
    writeValue(head, value);
  }
  let offset = 0;
  for (const t of tensors) {
    head.str(t.name);
    head.u32(t.shape.length);
    for (let i = t.shape.length - 1; i >= 0; i--) head.u64(t.shape[i]);
    head.u32(GGML_TYPE[t.type].id);
    head.u64(offset);
    const n = tensorBytes(t.name, t.shape, t.type);
    offset += n + paddingAfter(n);
  }
  head.pad(ALIGNMENT);
  return { head: head.bytes(), bytes: head.length + offset };
}

/** A tensor's bytes as the header promised them: its size checked, then the zeros to the next alignment. */
export function tensorParts(t: GgufTensor): Uint8Array[] {
  const want = tensorBytes(t.name, t.shape, t.type);
  if (t.bytes.length !== want) throw new Error(`gguf: ${t.name} has ${t.bytes.length} bytes, its shape and ${t.type} need ${want}`);
  const gap = paddingAfter(want);
  return gap ? [t.bytes, new Uint8Array(gap)] : [t.bytes];
}

/**
 * The whole file as parts in order (header and infos, then each tensor with its padding), so a caller can write
 * it without one buffer the size of the model. Keys keep the order given; tensors too.
 */
export function encodeGguf(metadata: [string, GgufValue][], tensors: GgufTensor[]): Uint8Array[] {
  for (const t of tensors) tensorParts(t);
  return [encodeGgufHeader(metadata, tensors).head, ...tensors.flatMap(tensorParts)];
}
