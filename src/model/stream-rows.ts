// A weight read as a stream of row chunks, each converted to the type the GPU keeps (f16 or f32) and checked as it
// passes. Reading a tensor whole and widening it to f32 costs twice its f32 size at once: for Llama-3.2-1B's
// embedding, 1.5 GiB in a tab. Chunk by chunk, a load holds one chunk of each type at a time.
import { DTYPE_BYTES, fromFloat32, toFloat32Into } from './dtype';
import { badValueError, firstBadValue, sameFault } from './finite';
import type { WeightIndex } from './weights';

export interface RowChunk {
  /** First row of the chunk within the tensor. */
  rowStart: number;
  rows: number;
  /** The rows' values in the target type, little-endian; valid until the next chunk is asked for. */
  bytes: Uint8Array;
}

export interface StreamOptions {
  /** The GPU's type: F16 refuses values beyond f16's range, naming the tensor, rather than making them infinity. */
  target: 'F16' | 'F32';
  /** Rows [rowStart, rowStart + rows) of the tensor (a 1-D tensor is one row); default: all. */
  rowStart?: number;
  rows?: number;
  /** Largest chunk in target bytes (at least one row). */
  chunkBytes: number;
  /** Rows per chunk are a multiple of this (an f16 chunk of whole 4-byte words needs an even count of values). */
  rowMultiple?: number;
}

/** [rows, cols] of a tensor as the GPU lays it out: a 2-D weight's shape, a vector as one row. */
export function rowsAndCols(shape: readonly number[]): [number, number] {
  const n = shape.reduce((a, b) => a * b, 1);
  const rows = shape.length === 2 ? shape[0] : 1;
  return [rows, rows === 0 ? 0 : n / rows];
}

/**
 * Yields the tensor's rows chunk by chunk in the target type. NaN, infinity and (for F16) values beyond f16's range
 * are refused with the tensor and the value's position named, and a count over the whole tensor.
 */
export async function* streamRows(index: WeightIndex, name: string, opts: StreamOptions): AsyncGenerator<RowChunk> {
  const t = index.tensors.get(name);
  if (!t) throw new Error(`streamRows: no tensor ${name}`);
  const [allRows, cols] = rowsAndCols(t.shape);
  const from = opts.rowStart ?? 0;
  const end = from + (opts.rows ?? allRows - from);
  const srcRow = cols * DTYPE_BYTES[t.dtype];
  const dstRow = cols * DTYPE_BYTES[opts.target];
  const multiple = opts.rowMultiple ?? 1;
  const perChunk = Math.max(multiple, Math.floor(opts.chunkBytes / dstRow / multiple) * multiple);
  const f16 = opts.target === 'F16';
  let values = new Float32Array(0);
  for (let r = from; r < end; r += perChunk) {
    const rows = Math.min(perChunk, end - r);
    const raw = await t.source.read(t.begin + r * srcRow, rows * srcRow);
    if (values.length < rows * cols) values = new Float32Array(rows * cols);
    const chunk = toFloat32Into(raw, t.dtype, values).subarray(0, rows * cols);
    const bad = firstBadValue(chunk, f16);
    if (bad >= 0) throw await faultOf(index, name, chunk[bad], r * cols + bad);
    // An f16 file on an f16 GPU passes its own bytes; everything else is converted from the checked values.
    const bytes = t.dtype === opts.target ? raw : f16 ? fromFloat32(chunk, 'F16') : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    yield { rowStart: r, rows, bytes };
  }
}

/** The error for the bad value at flat index `at`, after counting its kind over the whole tensor, chunk by chunk. */
async function faultOf(index: WeightIndex, name: string, x: number, at: number): Promise<Error> {
  const t = index.tensors.get(name)!;
  const fault = sameFault(x);
  let n = 0;
  const [rows, cols] = rowsAndCols(t.shape);
  const step = Math.max(1, Math.floor((16 << 20) / Math.max(1, cols * 4)));
  const values = new Float32Array(Math.min(rows, step) * cols);
  for (let r = 0; r < rows; r += step) {
    const k = Math.min(step, rows - r);
    const srcRow = cols * DTYPE_BYTES[t.dtype];
    const chunk = toFloat32Into(await t.source.read(t.begin + r * srcRow, k * srcRow), t.dtype, values).subarray(0, k * cols);
    for (let i = 0; i < chunk.length; i++) if (fault(chunk[i])) n++;
  }
  return badValueError(x, at, n, t.source.name, name, t.shape);
}
