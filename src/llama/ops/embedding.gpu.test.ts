// embedding_forward on Dawn against its float64 reference: from one table and from row blocks, with the table stored
// as f32 and as f16 (reference built from the f16-rounded table, so the copy must match exactly).
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { expectMatches, read, roundF16, scaled, testKernels, upload, uploadWeight, zeros } from '../../gpu/testing';
import * as cpu from '../../ref/embedding';
import { embedding_forward } from './embedding';

for (const f16 of [false, true]) {
  const wname = f16 ? 'f16' : 'f32';
  describe(`embedding, ${wname} weights`, () => {
    let kernels: Kernels;
    const bufs: GPUBuffer[] = [];
    const keep = (b: GPUBuffer): GPUBuffer => (bufs.push(b), b);
    // A frozen weight as stored on the GPU, and the values the reference must use (what the GPU actually sees).
    const weight = (values: Float32Array, label: string) => ({
      buf: keep(uploadWeight(kernels, values, f16, label)),
      ref: f16 ? roundF16(values) : Float64Array.from(values),
    });

    beforeAll(async () => {
      kernels = await testKernels(f16);
    });
    afterAll(() => {
      for (const b of bufs) b.destroy();
      kernels?.device.destroy();
    });

    // A copy (f16 widened to f32 exactly), so the match must be exact.
    for (const [T, C] of [[1, 64], [37, 70], [37, 576]]) {
      it(`embedding_forward from one table and from two row blocks T=${T} C=${C}`, async () => {
        const V = 50;
        const split = 23; // block A: rows 0..22, block B: rows 23..49
        const ids = Uint32Array.from({ length: T }, (_, t) => (t === 0 ? V - 1 : (t * 7919) % V));
        if (T > 1) ids[1] = 0;
        const values = scaled(V * C, 61 + C, 1);
        const table = weight(values, 'embedding.table');
        const blockA = keep(uploadWeight(kernels, values.subarray(0, split * C), f16, 'embedding.blockA'));
        const blockB = keep(uploadWeight(kernels, values.subarray(split * C), f16, 'embedding.blockB'));
        const [bids, whole, parts] = [upload(kernels, ids), zeros(kernels, T * C), zeros(kernels, T * C)].map(keep);
        await kernels.run('embedding', async (pass) => {
          await embedding_forward(kernels, pass, { ids: bids, table: table.buf, rowStart: 0, rows: V, out: whole, T, C });
          await embedding_forward(kernels, pass, { ids: bids, table: blockA, rowStart: 0, rows: split, out: parts, T, C });
          await embedding_forward(kernels, pass, { ids: bids, table: blockB, rowStart: split, rows: V - split, out: parts, T, C });
        });
        const ref = cpu.embedding_forward(ids, table.ref, T, C);
        expectMatches(`embedding_forward.out T=${T} C=${C} ${wname}`, await read(kernels, whole, T * C), ref, { rel: 0, abs: 0 });
        expectMatches(`embedding_forward.out 2 blocks T=${T} C=${C} ${wname}`, await read(kernels, parts, T * C), ref, { rel: 0, abs: 0 });
      });
    }

    it('embedding_forward skips ids outside its block and never reads past the table', async () => {
      const [V, C, split] = [10, 70, 4];
      const ids = Uint32Array.from([3, 4, 9, 10, 0xffffffff, 12]);
      const T = ids.length;
      const values = scaled(V * C, 71, 1);
      const ref = f16 ? roundF16(values) : Float64Array.from(values);
      const blockB = keep(uploadWeight(kernels, values.subarray(split * C), f16, 'embedding.blockB'));
      const sentinel = new Float32Array(T * C).fill(7.5);
      const [bids, out] = [upload(kernels, ids), upload(kernels, sentinel)].map(keep);
      // `rows` overstated (100 instead of 6): ids 10 and 12 map inside it but past the buffer, and must be skipped.
      await kernels.run('embedding', (pass) => embedding_forward(kernels, pass, { ids: bids, table: blockB, rowStart: split, rows: 100, out, T, C }));
      const expected = Float64Array.from(sentinel);
      for (const [t, id] of [[1, 4], [2, 9]]) expected.set(ref.subarray(id * C, (id + 1) * C), t * C);
      expectMatches(`embedding_forward.out out-of-block ids ${wname}`, await read(kernels, out, T * C), expected, { rel: 0, abs: 0 });
    });
  });
}
