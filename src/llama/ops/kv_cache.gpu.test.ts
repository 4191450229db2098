// The KV-cache kernels on Dawn: prefill into a slot equals the training attention, a shared prefix slot equals
// attention over the whole sequence, a mixed decode batch matches the reference and never sees stale entries, and
// kv_cache_write touches only its rows. All f32; the f16 weight preamble is run too to prove the module compiles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { lcgInputs } from '../../gpu/selftest';
import { expectMatches, read, testKernels, upload, zeros } from '../../gpu/testing';
import { attention_forward, packedSeqStart } from '../../ref/attention';
import { compare, formatDiff } from '../../ref/compare';
import * as cpu from '../../ref/kv_cache';
import { attention_cached, kvCacheTile, kv_cache_write } from './kv_cache';

interface Shape {
  H: number;
  KV: number;
  S: number;
  L: number;
  D: number;
}

/** One batch: its queries' new keys/values are written at (slot, pos), then its queries attend. */
interface Step {
  T: number;
  q: Float32Array; // [T,H,D]
  k: Float32Array; // [T,KV,D]
  v: Float32Array; // [T,KV,D]
  meta: Uint32Array; // [T,4]
}

function step(sh: Shape, meta: number[], seed: number): Step {
  const T = meta.length / 4;
  return {
    T,
    q: lcgInputs(T * sh.H * sh.D, seed),
    k: lcgInputs(T * sh.KV * sh.D, seed + 1),
    v: lcgInputs(T * sh.KV * sh.D, seed + 2),
    meta: Uint32Array.from(meta),
  };
}

/** Meta rows for tokens pos0..pos0+n-1 of a sequence in `slot` behind an optional prefix. */
const rows = (slot: number, pos0: number, n: number, prefixSlot = 0, prefixLen = 0) =>
  Array.from({ length: n }, (_, i) => [slot, pos0 + i, prefixSlot, prefixLen]).flat();

/** Every step recorded into one pass (write, then attention); returns each step's out and the final caches. */
async function runGpu(kernels: Kernels, sh: Shape, kc0: Float32Array, vc0: Float32Array, steps: Step[], extra: { scale?: number; window?: number } = {}) {
  const { H, KV, S, L, D } = sh;
  const kcache = upload(kernels, kc0);
  const vcache = upload(kernels, vc0);
  const bufs = steps.map((s) => ({
    q: upload(kernels, s.q), k: upload(kernels, s.k), v: upload(kernels, s.v), meta: upload(kernels, s.meta), out: zeros(kernels, s.T * H * D),
  }));
  try {
    await kernels.run('kv_cache', async (pass) => {
      for (const [i, s] of steps.entries()) {
        const b = bufs[i];
        const shape = { T: s.T, KV, S, L, D };
        await kv_cache_write(kernels, pass, { ...shape, k: b.k, v: b.v, meta: b.meta, kcache, vcache });
        await attention_cached(kernels, pass, { ...shape, H, q: b.q, kcache, vcache, meta: b.meta, out: b.out, ...extra });
      }
    });
    const outs: Float32Array[] = [];
    for (const [i, s] of steps.entries()) outs.push(await read(kernels, bufs[i].out, s.T * H * D));
    return { outs, kcache: await read(kernels, kcache, kc0.length), vcache: await read(kernels, vcache, vc0.length) };
  } finally {
    for (const b of [kcache, vcache, ...bufs.flatMap((b) => Object.values(b))]) b.destroy();
  }
}

function runRef(sh: Shape, kc0: Float32Array, vc0: Float32Array, steps: Step[]) {
  const { H, KV, S, L, D } = sh;
  const kcache = Float64Array.from(kc0);
  const vcache = Float64Array.from(vc0);
  const outs = steps.map((s) => {
    cpu.kv_cache_write(kcache, vcache, s.k, s.v, s.meta, s.T, S, L, KV, D);
    return cpu.attention_cached(s.q, kcache, vcache, s.meta, s.T, H, KV, S, L, D);
  });
  return { outs, kcache, vcache };
}

/** Random stale cache contents: a kernel that reads an entry it should not changes its output by O(0.1). */
const cache = (sh: Shape, seed: number) => lcgInputs(sh.S * sh.L * sh.KV * sh.D, seed);

// Outputs are convex combinations of values in [-1, 1]. f32 dot products over D <= 128 terms and softmax sums over
// <= a few hundred keys keep the rounding error near 1e-6 of the values' scale; 1e-4 leaves margin, while a wrong
// index, mask or rescale moves outputs by O(0.1).
const check = (name: string, gpu: ArrayLike<number>, ref: ArrayLike<number>) => expectMatches(name, gpu, ref, { abs: 1e-4 });

const heads = [
  { name: 'MHA', H: 2, KV: 2 },
  { name: 'GQA', H: 4, KV: 2 },
  { name: 'MQA', H: 9, KV: 1 }, // two blocks of 5 and 4 heads: the second leaves a head slot idle
];

/** The float64 results of the long cases, computed once for both preambles. */
const refs = new Map<string, Float64Array>();

for (const f16 of [false, true]) {
  describe(`kv_cache with the ${f16 ? 'f16' : 'f32'} weight preamble`, () => {
    let kernels: Kernels;
    beforeAll(async () => {
      kernels = await testKernels(f16);
    });
    afterAll(() => kernels?.device.destroy());

    it('prefill into slot 2 equals the training attention', async () => {
      const sh = { H: 4, KV: 2, S: 4, L: 40, D: 16 };
      const s = step(sh, rows(2, 0, 37), 1);
      const gpu = await runGpu(kernels, sh, cache(sh, 2), cache(sh, 3), [s]);
      const ref = attention_forward(s.q, s.k, s.v, packedSeqStart([s.T]), s.T, sh.H, sh.KV, sh.D).out;
      check('attention_cached prefill vs attention_forward', gpu.outs[0], ref);
    });

    it("Gemma 3's shape (D=256, MQA): a sliding window over prefix and own slot, its own scale", async () => {
      const sh = { H: 4, KV: 1, S: 2, L: 24, D: 256 };
      const n = 30;
      const P = 9; // prefill 9 in slot 0, then 21 more in slot 1 behind it: the window of 5 cuts into both
      const all = step(sh, [...rows(0, 0, P), ...rows(1, 0, n - P, 0, P)], 7);
      const part = (a: number, b: number): Step => ({
        T: b - a, q: all.q.subarray(a * sh.H * sh.D, b * sh.H * sh.D), k: all.k.subarray(a * sh.D, b * sh.D), v: all.v.subarray(a * sh.D, b * sh.D),
        meta: all.meta.subarray(a * 4, b * 4),
      });
      const extra = { scale: 0.1, window: 5 };
      const gpu = await runGpu(kernels, sh, cache(sh, 8), cache(sh, 9), [part(0, P), part(P, n)], extra);
      const ref = attention_forward(all.q, all.k, all.v, packedSeqStart([n]), n, sh.H, sh.KV, sh.D, extra.scale, extra.window).out;
      check('attention_cached D=256 window 5, prefix part', gpu.outs[0], ref.subarray(0, P * sh.H * sh.D));
      check('attention_cached D=256 window 5, behind the prefix', gpu.outs[1], ref.subarray(P * sh.H * sh.D));
    });

    it('a prefix slot then the own slot equals attention over the whole sequence', async () => {
      const sh = { H: 4, KV: 2, S: 4, L: 64, D: 64 };
      const n = 100;
      const P = 57; // not a multiple of the 50-key chunk, so a chunk straddles prefix and own entries
      const all = step(sh, [...rows(0, 0, P), ...rows(3, 0, n - P, 0, P)], 4);
      const cut = (x: Float32Array, per: number, a: number, b: number) => x.subarray(a * per, b * per);
      const part = (a: number, b: number): Step => ({
        T: b - a,
        q: cut(all.q, sh.H * sh.D, a, b), k: cut(all.k, sh.KV * sh.D, a, b), v: cut(all.v, sh.KV * sh.D, a, b),
        meta: all.meta.subarray(a * 4, b * 4),
      });
      // The prefix is prefilled once, then the suffix attends to it as another slot.
      const gpu = await runGpu(kernels, sh, cache(sh, 5), cache(sh, 6), [part(0, P), part(P, n)]);
      const ref = attention_forward(all.q, all.k, all.v, packedSeqStart([n]), n, sh.H, sh.KV, sh.D).out;
      check('attention_cached prefix part', gpu.outs[0], ref.subarray(0, P * sh.H * sh.D));
      check('attention_cached suffix behind prefix', gpu.outs[1], ref.subarray(P * sh.H * sh.D));
    });

    it('a prefix longer than a slot runs on through the next slots (the teacher pass over a long P)', async () => {
      const sh = { H: 4, KV: 2, S: 4, L: 24, D: 16 };
      const n = 80;
      const P = 57; // slots 0, 1 and part of 2; each prefix token sees the slots before its own as its prefix
      const pre = Array.from({ length: P }, (_, j) => [Math.floor(j / sh.L), j % sh.L, 0, Math.floor(j / sh.L) * sh.L]).flat();
      const all = step(sh, [...pre, ...rows(3, 0, n - P, 0, P)], 19);
      const part = (a: number, b: number): Step => ({
        T: b - a, q: all.q.subarray(a * sh.H * sh.D, b * sh.H * sh.D), k: all.k.subarray(a * sh.KV * sh.D, b * sh.KV * sh.D),
        v: all.v.subarray(a * sh.KV * sh.D, b * sh.KV * sh.D), meta: all.meta.subarray(a * 4, b * 4),
      });
      const kc = cache(sh, 20);
      const vc = cache(sh, 21);
      const gpu = await runGpu(kernels, sh, kc, vc, [part(0, P), part(P, n)]);
      const ref = attention_forward(all.q, all.k, all.v, packedSeqStart([n]), n, sh.H, sh.KV, sh.D).out;
      check('attention_cached prefix over 3 slots', gpu.outs[0], ref.subarray(0, P * sh.H * sh.D));
      check('attention_cached suffix behind a 3-slot prefix', gpu.outs[1], ref.subarray(P * sh.H * sh.D));
      check('attention_cached 3-slot prefix vs the cache reference', gpu.outs[1], runRef(sh, kc, vc, [part(0, P), part(P, n)]).outs[1]);
    });

    for (const sh of [
      { H: 14, KV: 2, S: 6, L: 50, D: 64 },
      { H: 16, KV: 2, S: 6, L: 50, D: 128 },
    ]) {
      it(`decode batch of 5 sequences, H=${sh.H} KV=${sh.KV} D=${sh.D}, never sees stale entries`, async () => {
        // Slot 5 holds a 20-token prefix; the others hold sequences of lengths 0, 12, 40, 7, 49 before this step.
        const meta = [0, 0, 0, 0, 1, 12, 5, 20, 2, 40, 0, 0, 3, 7, 5, 20, 4, 49, 5, 20];
        const s = step(sh, meta, 7);
        const kc = cache(sh, 8);
        const vc = cache(sh, 9);
        const gpu = await runGpu(kernels, sh, kc, vc, [s]);
        const ref = runRef(sh, kc, vc, [s]);
        const t = kvCacheTile(sh.H, sh.KV, sh.D);
        console.log(`tile GB=${t.GB} x ${t.blocks} blocks, BK=${t.BK}`);
        check(`attention_cached decode D=${sh.D}`, gpu.outs[0], ref.outs[0]);
        expect(Array.from(gpu.kcache)).toEqual(Array.from(ref.kcache));
        expect(Array.from(gpu.vcache)).toEqual(Array.from(ref.vcache));
        // Entries past each query's pos, past the prefix, and all of unused slots: changing them changes nothing.
        const kc2 = Float32Array.from(kc);
        const vc2 = Float32Array.from(vc);
        const row = sh.KV * sh.D;
        const seen = new Set<number>();
        for (let b = 0; b < 5; b++) {
          for (let j = 0; j <= meta[b * 4 + 1]; j++) seen.add(meta[b * 4] * sh.L + j);
          for (let j = 0; j < meta[b * 4 + 3]; j++) seen.add(meta[b * 4 + 2] * sh.L + j);
        }
        for (let r = 0; r < sh.S * sh.L; r++) {
          if (seen.has(r)) continue;
          for (let i = 0; i < row; i++) {
            kc2[r * row + i] += 3;
            vc2[r * row + i] -= 2;
          }
        }
        const again = await runGpu(kernels, sh, kc2, vc2, [s]);
        expect(Array.from(again.outs[0])).toEqual(Array.from(gpu.outs[0]));
      });
    }

    for (const hd of heads) {
      for (const D of [16, 64]) {
        it(`${hd.name} H=${hd.H} KV=${hd.KV} D=${D}: prefill of 1, 37 and 300 tokens into slots 1, 0, 2`, async () => {
          const sh = { H: hd.H, KV: hd.KV, S: 3, L: 301, D };
          const lengths = [1, 37, 300];
          const s = step(sh, [...rows(1, 0, 1), ...rows(0, 0, 37), ...rows(2, 0, 300)], 10 + D);
          const gpu = await runGpu(kernels, sh, cache(sh, 11), cache(sh, 12), [s]);
          const key = `${hd.name} ${D}`;
          const ref = refs.get(key) ?? attention_forward(s.q, s.k, s.v, packedSeqStart(lengths), s.T, sh.H, sh.KV, D).out;
          refs.set(key, ref);
          check(`attention_cached ${hd.name} D=${D} T=${s.T}`, gpu.outs[0], ref);
        });
      }
    }

    it('kv_cache_write touches only its target rows; an inactive query (slot >= S) writes nothing', async () => {
      const sh = { H: 2, KV: 2, S: 3, L: 5, D: 16 };
      const s = step(sh, [2, 4, 0, 0, 0, 0, 0, 0, 3, 1, 0, 0, 1, 2, 0, 3], 13);
      const kc = cache(sh, 14);
      const vc = cache(sh, 15);
      const gpu = await runGpu(kernels, sh, kc, vc, [s]);
      const ref = runRef(sh, kc, vc, [s]);
      expect(Array.from(gpu.kcache)).toEqual(Array.from(ref.kcache));
      expect(Array.from(gpu.vcache)).toEqual(Array.from(ref.vcache));
      const changed = gpu.kcache.reduce((n, x, i) => n + (x !== kc[i] ? 1 : 0), 0);
      expect(changed).toBe(3 * sh.KV * sh.D); // rows (2,4), (0,0), (1,2)
      const inactive = gpu.outs[0].subarray(2 * sh.H * sh.D, 3 * sh.H * sh.D);
      expect(Array.from(inactive)).toEqual(new Array(sh.H * sh.D).fill(0));
      check('attention_cached small batch', gpu.outs[0], ref.outs[0]);
    });

    it('detects a wrong result (the comparison can fail)', async () => {
      const sh = { H: 4, KV: 2, S: 2, L: 8, D: 16 };
      const s = step(sh, rows(1, 0, 6), 16);
      const vc = cache(sh, 18);
      const ref = runRef(sh, cache(sh, 17), vc, [s]);
      s.v[5] += 0.5; // the GPU sees a different value in a visible row
      const d = compare('attention_cached perturbed', (await runGpu(kernels, sh, cache(sh, 17), vc, [s])).outs[0], ref.outs[0]);
      console.log(formatDiff(d));
      expect(d.maxAbs).toBeGreaterThan(1e-2);
    });
  });
}
