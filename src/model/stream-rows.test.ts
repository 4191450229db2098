// Streaming a weight in row chunks: the chunks put together are the tensor converted whole, for every file type and
// GPU type, with chunk sizes that do not divide the rows; a bad value in a late chunk is refused naming the tensor,
// its position and the count over the whole tensor, exactly as a whole-tensor check would.
import { describe, expect, it } from 'vitest';
import { fromFloat32, toFloat32, type DType } from './dtype';
import { checkTensorValues, F16RangeError, NonFiniteTensorError } from './finite';
import { writeSafetensors } from './safetensors-write';
import { BytesSource } from './source';
import { streamRows } from './stream-rows';
import { openWeights } from './weights';

const ROWS = 37;
const COLS = 7; // odd: f16 rows are not whole 4-byte words
function values(seed: number): Float32Array {
  return Float32Array.from({ length: ROWS * COLS }, (_, i) => Math.sin(i * 0.37 + seed) * (1 + (i % 13)));
}

async function index(data: Float32Array, dtype: DType) {
  const file = writeSafetensors({ w: { dtype, shape: [ROWS, COLS], data: fromFloat32(data, dtype) }, v: { dtype, shape: [COLS], data: fromFloat32(data.subarray(0, COLS), dtype) } });
  return openWeights({ name: 'm', open: async (f) => (f === 'model.safetensors' ? new BytesSource('m/model.safetensors', file) : null) });
}

async function collect(gen: AsyncGenerator<{ rowStart: number; rows: number; bytes: Uint8Array }>): Promise<{ bytes: Uint8Array; chunks: number[] }> {
  const parts: Uint8Array[] = [];
  const chunks: number[] = [];
  for await (const c of gen) {
    parts.push(c.bytes.slice()); // a chunk's bytes are valid until the next one
    chunks.push(c.rows);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.byteLength));
  return { bytes: out, chunks };
}

describe.each(['F32', 'F16', 'BF16'] as const)('%s file', (dtype) => {
  it.each(['F16', 'F32'] as const)('to %s: the chunks are the whole tensor converted, in rows of the asked multiple', async (target) => {
    const data = values(1);
    const w = await index(data, dtype);
    const want = fromFloat32(toFloat32(fromFloat32(data, dtype), dtype), target);
    const got = await collect(streamRows(w, 'w', { target, chunkBytes: 5 * COLS * 2, rowMultiple: 2 }));
    expect(got.bytes).toEqual(want);
    expect(got.chunks.slice(0, -1).every((r) => r % 2 === 0 && r > 0)).toBe(true);
    expect(got.chunks.reduce((a, b) => a + b, 0)).toBe(ROWS);
    // A row range (a block of the GPU weight) and a vector (one row).
    const part = await collect(streamRows(w, 'w', { target, rowStart: 10, rows: 9, chunkBytes: 1 }));
    expect(part.bytes).toEqual(want.subarray(10 * COLS * (target === 'F16' ? 2 : 4), 19 * COLS * (target === 'F16' ? 2 : 4)));
    expect(part.chunks).toEqual(Array(9).fill(1));
    expect((await collect(streamRows(w, 'v', { target, chunkBytes: 1 }))).chunks).toEqual([1]);
  });
});

describe('bad values are refused as a whole-tensor check refuses them', () => {
  const whole = (data: Float32Array, f16: boolean) => {
    try {
      checkTensorValues(data, 'm/model.safetensors', 'w', [ROWS, COLS], { f16 });
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected a refusal');
  };
  const streamed = async (data: Float32Array, target: 'F16' | 'F32') => {
    const w = await index(data, 'F32');
    try {
      await collect(streamRows(w, 'w', { target, chunkBytes: 3 * COLS * 4 }));
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected a refusal');
  };

  it('a value beyond f16\'s range in a late chunk, on f16 weights: F16RangeError naming the tensor, all counted', async () => {
    const data = values(2);
    data[30 * COLS + 3] = 1e5;
    data[2 * COLS] = -7e4; // an earlier chunk's too, so the count covers chunks already streamed
    data[33 * COLS] = 9e4;
    const e = await streamed(data, 'F16');
    expect(e).toBeInstanceOf(F16RangeError);
    expect(e.message).toBe(whole(data, true).message);
    expect(e.message).toContain('model.safetensors: w: holds -70000 at [2, 0] (3 values beyond f16\'s range');
    // f32 weights keep the value: no refusal.
    expect((await collect(streamRows(await index(data, 'F32'), 'w', { target: 'F32', chunkBytes: 64 }))).chunks.length).toBeGreaterThan(1);
  });

  it('NaN in a late chunk: NonFiniteTensorError with its position and the count over the tensor', async () => {
    const data = values(3);
    data[35 * COLS + 6] = NaN;
    data[36 * COLS] = Infinity;
    const e = await streamed(data, 'F32');
    expect(e).toBeInstanceOf(NonFiniteTensorError);
    expect(e.message).toBe(whole(data, false).message);
    expect(e.message).toContain('holds NaN at [35, 6] (2 non-finite values in all)');
  });
});
