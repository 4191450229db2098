// Writes a safetensors file (tiny models, exported adapters): an 8-byte little-endian header length, a JSON header
// of name -> {dtype, shape, data_offsets}, padded with spaces to 8 bytes, then the raw tensors back to back.
import { DTYPE_BYTES, type DType } from './dtype';

export interface TensorToWrite {
  dtype: DType;
  shape: number[];
  /** Little-endian bytes, exactly product(shape) x dtype size. */
  data: Uint8Array;
}

export function writeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    const t = tensors[name];
    const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== expected) {
      throw new Error(`writeSafetensors: ${name} has ${t.data.byteLength} bytes, shape ${t.shape} needs ${expected}`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + expected] };
    offset += expected;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded !== json.byteLength) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let pos = 8 + json.byteLength;
  for (const name of names) {
    out.set(tensors[name].data, pos);
    pos += tensors[name].data.byteLength;
  }
  return out;
}
