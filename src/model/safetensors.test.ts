// safetensors reading: round trips through writeSafetensors for each dtype, and hand-made corrupt files, each of
// which must fail with a ModelError naming the file (and the tensor) and the problem.
import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, fromFloat32 } from './dtype';
import { ModelError } from './errors';
import { MAX_HEADER_BYTES, readSafetensorsHeader, readTensor, readTensorF32 } from './safetensors';
import { writeSafetensors } from './safetensors-write';
import { BytesSource, type ByteSource } from './source';

const FILE = 'tiny/model.safetensors';
const values = [0, 1, -1, 0.1, 3.14159, -2.5e-3, 65504, 1e-7, 123.456, -0.333];

/** A file from raw header text and `dataLen` bytes of data (bytes 0, 1, 2, ...). */
function craft(header: string | object, dataLen: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + dataLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  for (let i = 0; i < dataLen; i++) out[8 + json.byteLength + i] = i & 0xff;
  return out;
}

/** Reads a header expecting a ModelError naming FILE, `tensor` when given, and matching `problem`. */
async function refuses(bytes: Uint8Array, problem: RegExp, tensor?: string): Promise<ModelError> {
  let err: unknown;
  try {
    await readSafetensorsHeader(new BytesSource(FILE, bytes));
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ModelError);
  const e = err as ModelError;
  expect(e.file).toBe(FILE);
  expect(e.message).toContain(FILE);
  if (tensor) {
    expect(e.field).toBe(tensor);
    expect(e.message).toContain(tensor);
  }
  expect(e.message).toMatch(problem);
  return e;
}

/** Counts reads, to prove tensors are read by range, not whole files. */
class CountingSource implements ByteSource {
  reads: [number, number][] = [];
  constructor(
    readonly name: string,
    private readonly inner: ByteSource,
  ) {}
  size(): Promise<number> {
    return this.inner.size();
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    this.reads.push([offset, length]);
    return this.inner.read(offset, length);
  }
}

describe('readSafetensorsHeader + readTensor round trip', () => {
  const bytes = writeSafetensors(
    {
      a32: { dtype: 'F32', shape: [2, 5], data: fromFloat32(values, 'F32') },
      b16: { dtype: 'F16', shape: [10], data: fromFloat32(values, 'F16') },
      cbf: { dtype: 'BF16', shape: [5, 2], data: fromFloat32(values, 'BF16') },
      scalar: { dtype: 'F32', shape: [], data: fromFloat32([7], 'F32') },
      empty: { dtype: 'F16', shape: [0, 4], data: new Uint8Array(0) },
    },
    { format: 'pt', note: 'tiny' },
  );

  it('indexes every tensor with absolute offsets and keeps the metadata', async () => {
    const f = await readSafetensorsHeader(new BytesSource(FILE, bytes));
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(f.name).toBe(FILE);
    expect(f.dataStart).toBe(8 + headerLen);
    expect(f.metadata).toEqual({ format: 'pt', note: 'tiny' });
    expect([...f.tensors.keys()].sort()).toEqual(['a32', 'b16', 'cbf', 'empty', 'scalar']);
    expect(f.tensors.get('a32')).toEqual({ dtype: 'F32', shape: [2, 5], begin: f.dataStart, end: f.dataStart + 40 });
    expect(f.tensors.get('b16')).toEqual({ dtype: 'F16', shape: [10], begin: f.dataStart + 40, end: f.dataStart + 60 });
    expect(f.tensors.get('scalar')?.shape).toEqual([]);
  });

  it('reads F32 exactly, F16 and BF16 to their precision, and only the tensor range', async () => {
    const src = new CountingSource(FILE, new BytesSource(FILE, bytes));
    const f = await readSafetensorsHeader(src);
    src.reads = [];
    const a = await readTensorF32(src, f, 'a32');
    expect(a.shape).toEqual([2, 5]);
    expect([...a.data]).toEqual(values.map((v) => Math.fround(v)));
    expect(src.reads).toEqual([[f.tensors.get('a32')!.begin, 40]]);

    const b = await readTensorF32(src, f, 'b16');
    expect([...b.data]).toEqual(values.map((v) => f16ToF32(f32ToF16(v))));
    // Half precision: relative error 2^-11, absolute 2^-25 among the subnormals.
    for (let i = 0; i < values.length; i++) expect(Math.abs(b.data[i] - values[i])).toBeLessThanOrEqual(Math.abs(values[i]) / 2048 + 2 ** -25);

    const c = await readTensorF32(src, f, 'cbf');
    expect(c.shape).toEqual([5, 2]);
    expect([...c.data]).toEqual(values.map((v) => bf16ToF32(f32ToBf16(v))));
    // bfloat16 keeps 8 significant bits: relative error 2^-8.
    for (let i = 0; i < values.length; i++) expect(Math.abs(c.data[i] - values[i])).toBeLessThanOrEqual(Math.abs(values[i]) / 256);

    expect([...(await readTensorF32(src, f, 'scalar')).data]).toEqual([7]);
    expect((await readTensorF32(src, f, 'empty')).data.length).toBe(0);
  });

  it('returns the raw bytes with readTensor', async () => {
    const src = new BytesSource(FILE, bytes);
    const f = await readSafetensorsHeader(src);
    const t = await readTensor(src, f, 'cbf');
    expect(t.dtype).toBe('BF16');
    expect(t.shape).toEqual([5, 2]);
    expect([...t.bytes]).toEqual([...fromFloat32(values, 'BF16')]);
  });

  it('names the file and tensor when asked for a tensor it does not hold', async () => {
    const src = new BytesSource(FILE, bytes);
    const f = await readSafetensorsHeader(src);
    const p = readTensor(src, f, 'nope');
    await expect(p).rejects.toBeInstanceOf(ModelError);
    await expect(p).rejects.toThrow(`${FILE}: nope: no such tensor`);
  });

  it('accepts a file with no tensors', async () => {
    const f = await readSafetensorsHeader(new BytesSource(FILE, writeSafetensors({})));
    expect(f.tensors.size).toBe(0);
  });
});

describe('readSafetensorsHeader refuses malformed files', () => {
  const good = writeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: fromFloat32([1, 2, 3, 4], 'F32') } });
  const entry = (e: object, dataLen = 16) => craft({ w: e }, dataLen);

  it('a file shorter than 8 bytes', async () => {
    await refuses(new Uint8Array(5), /5 bytes, too short/);
    await refuses(new Uint8Array(0), /0 bytes, too short/);
  });

  it('a truncated file whose header runs past the end', async () => {
    await refuses(good.subarray(0, 20), /header length \d+ runs past the end of the file \(20 bytes\)/);
  });

  it('a patched header length past the end', async () => {
    const bad = good.slice();
    new DataView(bad.buffer).setBigUint64(0, BigInt(good.byteLength), true);
    await refuses(bad, /runs past the end/);
  });

  it('an absurd header length', async () => {
    const bad = good.slice();
    new DataView(bad.buffer).setBigUint64(0, 0xffff_ffff_ffff_ffffn, true);
    await refuses(bad, /header length 18446744073709551615 is absurd/);
    new DataView(bad.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
    await refuses(bad, /is absurd/);
  });

  it('a header that is not JSON, or not valid UTF-8', async () => {
    await refuses(craft('{"w": {"dtype": "F32",', 0), /header is not valid JSON/);
    const bad = craft('{"a":1}', 0);
    bad[10] = 0xff;
    await refuses(bad, /header is not valid JSON/);
  });

  it('a header that is not an object', async () => {
    await refuses(craft('[1, 2]', 0), /header must be a JSON object/);
    await refuses(craft('null', 0), /header must be a JSON object/);
  });

  it('an entry that is not an object or lacks dtype, shape or data_offsets', async () => {
    await refuses(craft({ w: 3 }, 0), /header entry must be an object/, 'w');
    await refuses(entry({ shape: [4], data_offsets: [0, 16] }), /needs dtype, shape and data_offsets/, 'w');
    await refuses(entry({ dtype: 'F32', data_offsets: [0, 16] }), /needs dtype, shape and data_offsets/, 'w');
    await refuses(entry({ dtype: 'F32', shape: [4] }), /needs dtype, shape and data_offsets/, 'w');
  });

  it('entries of the wrong types', async () => {
    await refuses(entry({ dtype: 5, shape: [4], data_offsets: [0, 16] }), /dtype must be a string/, 'w');
    await refuses(entry({ dtype: 'F32', shape: '4', data_offsets: [0, 16] }), /shape must be a list/, 'w');
    await refuses(entry({ dtype: 'F32', shape: [2, -2], data_offsets: [0, 16] }), /shape must be a list of non-negative/, 'w');
    await refuses(entry({ dtype: 'F32', shape: [2.5], data_offsets: [0, 16] }), /shape must be a list of non-negative/, 'w');
    await refuses(entry({ dtype: 'F32', shape: [4], data_offsets: [0] }), /data_offsets must be two integers/, 'w');
    await refuses(entry({ dtype: 'F32', shape: [4], data_offsets: ['0', '16'] }), /data_offsets must be two integers/, 'w');
  });

  it('metadata that is not an object of strings', async () => {
    await refuses(craft({ __metadata__: { format: 1 } }, 0), /value of "format" must be a string/, '__metadata__');
    await refuses(craft({ __metadata__: 'pt' }, 0), /must be an object of strings/, '__metadata__');
  });

  it('an unknown dtype, saying which are supported', async () => {
    await refuses(entry({ dtype: 'F12', shape: [4], data_offsets: [0, 16] }), /unknown dtype "F12" \(supported: F32, F16, BF16\)/, 'w');
  });

  it.each(['I64', 'U8', 'F64', 'BOOL', 'F8_E4M3'])('the known but unsupported dtype %s', async (dtype) => {
    await refuses(entry({ dtype, shape: [2], data_offsets: [0, 16] }), new RegExp(`dtype ${dtype} is not supported \\(supported: F32, F16, BF16\\)`), 'w');
  });

  it('offsets out of range: negative, begin > end, end past the data', async () => {
    await refuses(entry({ dtype: 'F32', shape: [4], data_offsets: [-16, 0] }), /data_offsets \[-16, 0\] are out of range/, 'w');
    await refuses(entry({ dtype: 'F32', shape: [0], data_offsets: [16, 0] }), /\[16, 0\] are out of range/, 'w');
    await refuses(entry({ dtype: 'F32', shape: [4], data_offsets: [8, 24] }), /\[8, 24\] are out of range \(the data section has 16 bytes\)/, 'w');
  });

  it('patched offsets in a written file (end past a truncated data section)', async () => {
    await refuses(good.subarray(0, good.byteLength - 4), /\[0, 16\] are out of range \(the data section has 12 bytes\)/, 'w');
  });

  it('a byte size that does not match shape x dtype size', async () => {
    await refuses(entry({ dtype: 'F32', shape: [3], data_offsets: [0, 16] }), /holds 16 bytes but F32 shape \[3\] needs 12/, 'w');
    await refuses(entry({ dtype: 'BF16', shape: [2, 2], data_offsets: [0, 16] }), /holds 16 bytes but BF16 shape \[2, 2\] needs 8/, 'w');
  });

  it('overlapping tensors', async () => {
    const bad = craft(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      },
      16,
    );
    await refuses(bad, /bytes \[\d+, \d+\) overlap a/, 'b');
    const same = craft({ a: { dtype: 'F16', shape: [4], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 8);
    await refuses(same, /overlap/);
  });

  it('a tensor name listed twice (JSON.parse would keep the last and hide the first)', async () => {
    const e = (o: number) => `{"dtype": "F32", "shape": [2], "data_offsets": [${o}, ${o + 8}]}`;
    await refuses(craft(`{"a": ${e(0)}, "w\\u002e1": ${e(8)}, "b": {"a": 1, "a": 2}, "w.1": ${e(8)}}`, 16), /is listed twice in the header/, 'w.1');
    // The same name nested in entries, or in the metadata, is not a duplicate tensor.
    const ok = craft(`{"__metadata__": {"a": "x"}, "a": ${e(0)}, "x\\"a": ${e(8)}}`, 16);
    expect([...(await readSafetensorsHeader(new BytesSource(FILE, ok))).tensors.keys()]).toEqual(['a', 'x"a']);
  });

  it('allows empty tensors anywhere and gaps between tensors', async () => {
    const ok = craft(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        z: { dtype: 'F32', shape: [0], data_offsets: [4, 4] },
        b: { dtype: 'F32', shape: [1], data_offsets: [12, 16] },
      },
      16,
    );
    const f = await readSafetensorsHeader(new BytesSource(FILE, ok));
    expect(f.tensors.size).toBe(3);
  });
});
