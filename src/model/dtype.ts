// The weight dtypes we read and write. BF16 has no WebGPU type, so it is widened to f32 on load; F16 stays F16
// where the GPU adapter has shader-f16.

export type DType = 'F32' | 'F16' | 'BF16';

export const DTYPE_BYTES: Record<DType, number> = { F32: 4, F16: 2, BF16: 2 };

export function isDType(s: string): s is DType {
  return s === 'F32' || s === 'F16' || s === 'BF16';
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half bits -> number. */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** number -> IEEE half bits, round to nearest even (as numpy and torch do). */
export function f32ToF16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

export function bf16ToF32(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

/** number -> bfloat16 bits, round to nearest even. */
export function f32ToBf16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) return (b >>> 16) | 0x40;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Raw little-endian bytes of one dtype -> f32 values (a copy). */
export function toFloat32(bytes: Uint8Array, dtype: DType): Float32Array {
  return toFloat32Into(bytes, dtype, new Float32Array(bytes.byteLength / DTYPE_BYTES[dtype]));
}

/** As toFloat32, into `out` (at least as long as the values), so a stream of chunks reuses one array. */
export function toFloat32Into(bytes: Uint8Array, dtype: DType, out: Float32Array): Float32Array {
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  if (dtype === 'BF16' && bytes.byteOffset % 2 === 0) {
    // bf16 is the top half of an f32: a shift per value (the common case for today's checkpoints).
    const src = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
    const dst = new Uint32Array(out.buffer, out.byteOffset, n);
    for (let i = 0; i < n; i++) dst[i] = src[i] << 16;
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F32') for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  else if (dtype === 'F16') for (let i = 0; i < n; i++) out[i] = f16ToF32(view.getUint16(i * 2, true));
  else for (let i = 0; i < n; i++) out[i] = bf16ToF32(view.getUint16(i * 2, true));
  return out;
}

/** f32 values -> raw little-endian bytes of one dtype. */
export function fromFloat32(values: ArrayLike<number>, dtype: DType): Uint8Array {
  const out = new Uint8Array(values.length * DTYPE_BYTES[dtype]);
  const view = new DataView(out.buffer);
  if (dtype === 'F32') for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  else if (dtype === 'F16') for (let i = 0; i < values.length; i++) view.setUint16(i * 2, f32ToF16(values[i]), true);
  else for (let i = 0; i < values.length; i++) view.setUint16(i * 2, f32ToBf16(values[i]), true);
  return out;
}
