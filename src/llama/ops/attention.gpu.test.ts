// The attention kernels on Dawn against the float64 reference: MHA, GQA and MQA, D=16/64/128, one sequence, packed
// sequences and a single token, and a check that packed sequences never see each other. Everything here is f32;
// the f16 weight preamble is run too to prove it does not break the module.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { lcgInputs } from '../../gpu/selftest';
import { read, testKernels, upload, zeros } from '../../gpu/testing';
import * as cpu from '../../ref/attention';
import { compare, formatDiff } from '../../ref/compare';
import { attention_backward, attentionDeltaFloats, attention_forward, attentionTiles } from './attention';

interface Inputs {
  lengths: number[];
  H: number;
  KV: number;
  D: number;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dout: Float32Array;
}

function inputs(lengths: number[], H: number, KV: number, D: number, seed = 1): Inputs {
  const T = lengths.reduce((a, b) => a + b, 0);
  return {
    lengths, H, KV, D,
    q: lcgInputs(T * H * D, seed),
    k: lcgInputs(T * KV * D, seed + 1),
    v: lcgInputs(T * KV * D, seed + 2),
    dout: lcgInputs(T * H * D, seed + 3),
  };
}

/** Forward and backward in one pass; returns every output read back. */
async function runGpu(kernels: Kernels, x: Inputs) {
  const { H, KV, D } = x;
  const seqStart = cpu.packedSeqStart(x.lengths);
  const T = seqStart.length;
  const b = {
    q: upload(kernels, x.q), k: upload(kernels, x.k), v: upload(kernels, x.v), dout: upload(kernels, x.dout), seqStart: upload(kernels, seqStart),
    out: zeros(kernels, T * H * D), lse: zeros(kernels, H * T), delta: zeros(kernels, attentionDeltaFloats(T, H)),
    dq: zeros(kernels, T * H * D), dk: zeros(kernels, T * KV * D), dv: zeros(kernels, T * KV * D),
  };
  try {
    const shape = { T, H, KV, D };
    await kernels.run('attention', async (pass) => {
      await attention_forward(kernels, pass, { ...shape, q: b.q, k: b.k, v: b.v, seqStart: b.seqStart, out: b.out, lse: b.lse });
      await attention_backward(kernels, pass, { ...shape, ...b });
    });
    return {
      out: await read(kernels, b.out, T * H * D),
      lse: await read(kernels, b.lse, H * T),
      dq: await read(kernels, b.dq, T * H * D),
      dk: await read(kernels, b.dk, T * KV * D),
      dv: await read(kernels, b.dv, T * KV * D),
    };
  } finally {
    for (const buf of Object.values(b)) buf.destroy();
  }
}

function runRef(x: Inputs) {
  const { H, KV, D } = x;
  const seqStart = cpu.packedSeqStart(x.lengths);
  const T = seqStart.length;
  const f = cpu.attention_forward(x.q, x.k, x.v, seqStart, T, H, KV, D);
  return { ...f, ...cpu.attention_backward(x.dout, x.q, x.k, x.v, f.out, f.lse, seqStart, T, H, KV, D) };
}

const heads = [
  { name: 'MHA', H: 2, KV: 2 },
  { name: 'GQA', H: 4, KV: 2 },
  { name: 'MQA', H: 3, KV: 1 },
];
const layouts = [[37], [5, 1, 20], [1]];
const cases = [
  ...heads.flatMap((hd) => [16, 64].flatMap((D) => layouts.map((lengths) => ({ ...hd, D, lengths })))),
  // D=16's 48-query tiles need a longer batch to span several tiles; D=128 takes the smallest tiles.
  { name: 'GQA', H: 4, KV: 2, D: 16, lengths: [50, 30, 17] },
  { name: 'GQA', H: 4, KV: 2, D: 128, lengths: [5, 1, 20] },
];

for (const f16 of [false, true]) {
  describe(`attention with the ${f16 ? 'f16' : 'f32'} weight preamble`, () => {
    let kernels: Kernels;
    beforeAll(async () => {
      kernels = await testKernels(f16);
    });
    afterAll(() => kernels?.device.destroy());

    for (const c of cases) {
      it(`${c.name} H=${c.H} KV=${c.KV} D=${c.D} lengths=${c.lengths.join(',')}`, async () => {
        const x = inputs(c.lengths, c.H, c.KV, c.D);
        const gpu = await runGpu(kernels, x);
        const ref = runRef(x);
        const t = attentionTiles(c.D);
        console.log(`tiles forward ${t.forward.BQ}x${t.forward.BK}, backward ${t.backward.BQ}x${t.backward.BK}`);
        // f32 dot products over D <= 128 terms and softmax sums over <= 37 keys (x 4 heads for dk/dv) of values
        // of order 1: the f32 rounding error stays near 1e-6 of the largest value; 1e-4 leaves margin, while
        // any indexing or masking error moves values by O(0.1).
        for (const name of ['out', 'lse', 'dq', 'dk', 'dv'] as const) {
          const d = compare(`attention.${name} ${c.name} D=${c.D} T=${gpu.lse.length / c.H}`, gpu[name], ref[name]);
          console.log(formatDiff(d));
          const size = ref[name].reduce((m, v) => Math.max(m, Math.abs(v)), 1);
          expect(d.maxAbs, name).toBeLessThan(1e-4 * size);
        }
      });
    }

    it('never attends across a sequence boundary', async () => {
      const x = inputs([5, 1, 20], 4, 2, 16, 11);
      const a = await runGpu(kernels, x);
      // Change every key and value of the first sequence (tokens 0..4, kv rows 0..4).
      const y = { ...x, k: Float32Array.from(x.k), v: Float32Array.from(x.v) };
      for (let i = 0; i < 5 * x.KV * x.D; i++) {
        y.k[i] += 0.75;
        y.v[i] -= 0.5;
      }
      const b = await runGpu(kernels, y);
      const rowsH = 5 * x.H * x.D; // first sequence's elements of [T,H,D]
      const rowsKV = 5 * x.KV * x.D;
      expect(Array.from(b.out.subarray(rowsH))).toEqual(Array.from(a.out.subarray(rowsH)));
      expect(Array.from(b.dq.subarray(rowsH))).toEqual(Array.from(a.dq.subarray(rowsH)));
      expect(Array.from(b.dk.subarray(rowsKV))).toEqual(Array.from(a.dk.subarray(rowsKV)));
      expect(Array.from(b.dv.subarray(rowsKV))).toEqual(Array.from(a.dv.subarray(rowsKV)));
      for (let h = 0; h < x.H; h++) {
        const T = 26;
        expect(Array.from(b.lse.subarray(h * T + 5, h * T + T))).toEqual(Array.from(a.lse.subarray(h * T + 5, h * T + T)));
      }
      // ...while the first sequence itself did change.
      expect(compare('first sequence', b.out.subarray(0, rowsH), a.out.subarray(0, rowsH)).maxAbs).toBeGreaterThan(0.1);
    });

    it('detects a wrong result (the comparison can fail)', async () => {
      const x = inputs([5, 1, 20], 4, 2, 16, 21);
      const ref = runRef(x);
      x.v[3] += 0.5; // the GPU sees a different value row
      const d = compare('attention.out perturbed', (await runGpu(kernels, x)).out, ref.out);
      console.log(formatDiff(d));
      expect(d.maxAbs).toBeGreaterThan(1e-2);
    });
  });
}
