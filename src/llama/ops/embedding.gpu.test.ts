// embedding_forward on Dawn against its float64 reference: from one table and from row blocks, with the table stored
// as f32 and as f16 (reference built from the f16-rounded table, so the copy must match exactly).
import { describe, expect, it } from 'vitest';
import { expectMatches, kernelSuite, read, roundF16, scaled, upload, uploadWeight, zeros } from '../../gpu/testing';
import { compare, formatDiff } from '../../ref/compare';
import * as cpu from '../../ref/embedding';
import { embedding_forward } from './embedding';

for (const f16 of [false, true]) {
  const wname = f16 ? 'f16' : 'f32';
  describe(`embedding, ${wname} weights`, () => {
    const suite = kernelSuite(f16);

    // A copy (f16 widened to f32 exactly), so the match must be exact.
    for (const [T, C] of [[1, 64], [37, 70], [37, 576]]) {
      it(`embedding_forward from one table and from two row blocks T=${T} C=${C}`, async () => {
        const V = 50;
        const split = 23; // block A: rows 0..22, block B: rows 23..49
        const ids = Uint32Array.from({ length: T }, (_, t) => (t === 0 ? V - 1 : (t * 7919) % V));
        if (T > 1) ids[1] = 0;
        const values = scaled(V * C, 61 + C, 1);
        const table = suite.weight(values, 'embedding.table');
        const blockA = suite.keep(uploadWeight(suite.kernels, values.subarray(0, split * C), f16, 'embedding.blockA'));
        const blockB = suite.keep(uploadWeight(suite.kernels, values.subarray(split * C), f16, 'embedding.blockB'));
        const [bids, whole, parts] = [upload(suite.kernels, ids), zeros(suite.kernels, T * C), zeros(suite.kernels, T * C)].map(suite.keep);
        await suite.kernels.run('embedding', async (pass) => {
          await embedding_forward(suite.kernels, pass, { ids: bids, table: table.buf, rowStart: 0, rows: V, out: whole, T, C });
          await embedding_forward(suite.kernels, pass, { ids: bids, table: blockA, rowStart: 0, rows: split, out: parts, T, C });
          await embedding_forward(suite.kernels, pass, { ids: bids, table: blockB, rowStart: split, rows: V - split, out: parts, T, C });
        });
        const ref = cpu.embedding_forward(ids, table.ref, T, C);
        expectMatches(`embedding_forward.out T=${T} C=${C} ${wname}`, await read(suite.kernels, whole, T * C), ref, { rel: 0, abs: 0 });
        expectMatches(`embedding_forward.out 2 blocks T=${T} C=${C} ${wname}`, await read(suite.kernels, parts, T * C), ref, { rel: 0, abs: 0 });
      });
    }

    it('embedding_forward skips ids outside its block and never reads past the table', async () => {
      const [V, C, split] = [10, 70, 4];
      const ids = Uint32Array.from([3, 4, 9, 10, 0xffffffff, 12]);
      const T = ids.length;
      const values = scaled(V * C, 71, 1);
      const ref = f16 ? roundF16(values) : Float64Array.from(values);
      const blockB = suite.keep(uploadWeight(suite.kernels, values.subarray(split * C), f16, 'embedding.blockB'));
      const sentinel = new Float32Array(T * C).fill(7.5);
      const [bids, out] = [upload(suite.kernels, ids), upload(suite.kernels, sentinel)].map(suite.keep);
      // `rows` overstated (100 instead of 6): ids 10 and 12 map inside it but past the buffer, and must be skipped.
      await suite.kernels.run('embedding', (pass) => embedding_forward(suite.kernels, pass, { ids: bids, table: blockB, rowStart: split, rows: 100, out, T, C }));
      const expected = Float64Array.from(sentinel);
      for (const [t, id] of [[1, 4], [2, 9]]) expected.set(ref.subarray(id * C, (id + 1) * C), t * C);
      expectMatches(`embedding_forward.out out-of-block ids ${wname}`, await read(suite.kernels, out, T * C), expected, { rel: 0, abs: 0 });
    });

    it('detects a wrong result (the comparison can fail): one id read as its neighbour', async () => {
      const [V, C, T] = [50, 70, 5];
      const ids = Uint32Array.from([7, 0, 49, 12, 7]);
      const table = suite.weight(scaled(V * C, 81, 1), 'embedding.table');
      const [bids, out] = [upload(suite.kernels, ids), zeros(suite.kernels, T * C)].map(suite.keep);
      await suite.kernels.run('embedding', (pass) => embedding_forward(suite.kernels, pass, { ids: bids, table: table.buf, rowStart: 0, rows: V, out, T, C }));
      const wrong = ids.slice();
      wrong[3] = 13;
      const d = compare(`embedding_forward.out vs a wrong id ${wname}`, await read(suite.kernels, out, T * C), cpu.embedding_forward(wrong, table.ref, T, C));
      console.log(formatDiff(d));
      expect(d.maxAbs).toBeGreaterThan(0.1);
    });
  });
}
