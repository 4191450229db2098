// The teacher pass with P's KV computed once and shared: the top-K behind a cached prefix (laid over several slots,
// prefilled in chunks, records packed two per pass) equals the top-K of each whole sequence recomputed from its
// first token, on Llama and on Gemma 3 (sliding windows that cut into the prefix), as do evaluation's whole logits
// rows; and it runs P's tokens once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { formatDiff, testKernels } from '../gpu/testing';
import { openModel } from '../model/open';
import { makeTinyModel, type TinyArch } from '../model/tiny/make';
import { compare } from '../ref/compare';
import { top_log_probs } from '../ref/top_log_probs';
import { Rng } from '../util/rng';
import { LlamaEngine } from './engine';
import { memoryFiles } from './testing';
import { TopLogProbs } from './top-logprobs';

let kernels: Kernels;
beforeAll(async () => {
  kernels = await testKernels(false);
});
afterAll(() => kernels?.device.destroy());

for (const arch of ['llama', 'gemma3'] as TinyArch[]) {
  it(`${arch}: the top-K behind a shared prefix equals the full recompute of each sequence`, async () => {
    const engine = await LlamaEngine.load(kernels, await openModel(memoryFiles(makeTinyModel({ arch, seed: 21 }))));
    const V = engine.cfg.vocabSize;
    const rng = new Rng(22);
    const tokens = (n: number) => Array.from({ length: n }, () => Math.floor(rng.next() * V));
    const prefix = tokens(45);
    const seqs = [7, 20, 12, 3, 16].map((n) => {
      const ids = [...prefix, ...tokens(n)];
      return { ids, positions: Array.from({ length: n }, (_, i) => ids.length - 1 - i) };
    });
    const K = 8;
    // Slots of 20 tokens: P lies over three of them, is prefilled in chunks of 40, and two records share a pass.
    const shared = new TopLogProbs(engine, prefix, 20, K, { rowsPerHead: 5, passTokens: 40 });
    expect(shared.layout).toMatchObject({ L: 20, prefixSlots: 3, seqSlots: 2, maxT: 40 });
    const got = await shared.run(seqs);
    const run = shared.tokensRun;
    const rows = await shared.logits(seqs); // evaluation's whole rows, behind the same cached prefix
    // A control: the same records behind another prefix give other distributions, so the comparison can fail.
    const other = new TopLogProbs(engine, [...prefix].reverse(), 20, K, { passTokens: 40 });
    const moved = await other.run(seqs.map((s) => ({ ids: [...[...prefix].reverse(), ...s.ids.slice(45)], positions: s.positions })));
    shared.destroy();
    other.destroy();

    const full = await Promise.all(seqs.map((s) => engine.logits(s.ids))); // each whole sequence from its first token
    const want = seqs.map((s, i) => s.positions.map((t) => top_log_probs(full[i].subarray(t * V, (t + 1) * V), K)));
    const flat = (xs: { logp: ArrayLike<number> }[]) => xs.flatMap((x) => Array.from(x.logp));
    const r = compare(`${arch} logits rows, shared prefix vs full`, rows.flatMap((x) => Array.from(x)),
      seqs.flatMap((s, i) => s.positions.flatMap((t) => Array.from(full[i].subarray(t * V, (t + 1) * V)))));
    const d = compare(`${arch} top-K logp, shared prefix vs full`, flat(got), want.flatMap((w) => flat(w)));
    const c = compare(`${arch} top-K logp, another prefix`, flat(moved), want.flatMap((w) => flat(w)));
    const whole = seqs.reduce((n, s) => n + s.ids.length, 0);
    console.log(`${formatDiff(d)}\n${formatDiff(r)}\n${formatDiff(c)}\ntokens through the layers: ${run} with the shared prefix, ${whole} recomputing it per record`);
    expect(got.flatMap((g) => Array.from(g.ids))).toEqual(want.flatMap((w) => w.flatMap((x) => x.ids)));
    expect(d.maxAbs).toBeLessThan(1e-4); // f32 both ways; only the attention kernels' summation order differs
    expect(r.maxAbs).toBeLessThan(1e-4);
    expect(c.maxAbs).toBeGreaterThan(1e-2);
    expect(run).toBe(45 + 7 + 20 + 12 + 3 + 16);
    engine.destroy();
  });
}

it('refuses a sequence that does not start with the prefix, or a position inside it', async () => {
  const engine = await LlamaEngine.load(kernels, await openModel(memoryFiles(makeTinyModel({ arch: 'llama', seed: 23 }))));
  const s = new TopLogProbs(engine, [1, 2, 3], 4, 2);
  await expect(s.run([{ ids: [1, 2, 4, 5], positions: [3] }])).rejects.toThrow(/does not start with the shared prefix/);
  await expect(s.run([{ ids: [1, 2, 3, 5], positions: [1] }])).rejects.toThrow(/position 1 is outside/);
  await expect(s.run([{ ids: [1, 2, 3, 5, 6, 7, 8, 9], positions: [3] }])).rejects.toThrow(/sized for 4/);
  s.destroy();
  engine.destroy();
});
