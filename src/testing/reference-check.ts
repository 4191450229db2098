// What the engine's end-to-end GPU tests share, one file per architecture: a Kernels per weight precision for the
// file, and the engine against the float64 reference (src/ref/llama.ts) on a tiny model: logits, the loss per group,
// every LoRA gradient and the plan against the allocation; and greedy decoding through the KV cache, with and
// without an adapter. Each tensor's largest difference is printed. It drives llama, train's batches and ref, so it
// lives here, above all three.
import { afterAll, expect } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { expectMatches, testKernels } from '../gpu/testing';
import { openModel, type ModelFiles } from '../model/open';
import type { FileSet } from '../model/source';
import { loadTokenizer } from '../model/tokenizer';
import { LlamaEngine } from '../llama/engine';
import { Generator } from '../llama/generator';
import { loraLayout, type LoraLayout, type LoraTarget } from '../llama/lora';
import { LoraTrainer } from '../llama/trainer';
import { llama_backward, llama_forward } from '../ref/llama';
import { loadRefModel } from '../ref/llama-load';
import { packGroups, type Group } from '../train/batch';
import { Rng } from '../util/rng';
import { testGroups } from './groups';

const ALL: LoraTarget[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

/** One Kernels per weight precision, made on first use and destroyed after the calling file. */
export function kernelsByPrecision(): (f16: boolean) => Promise<Kernels> {
  const byF16 = new Map<boolean, Promise<Kernels>>();
  afterAll(async () => {
    for (const k of byF16.values()) (await k).device.destroy();
  });
  return (f16) => {
    if (!byF16.has(f16)) byF16.set(f16, testKernels(f16));
    return byF16.get(f16)!;
  };
}

export interface ReferenceCase {
  name: string;
  f16: boolean;
  targets?: LoraTarget[];
  maxBlockBytes?: number;
  vocabChunk?: number;
  recompute?: boolean;
  dropout?: number;
}

/** One sequence as its own batch, labels = inputs. */
const alone = (ids: number[]) => packGroups([{ weight: 1, sequences: [{ input_ids: ids, labels: ids }] }]);

/** Every LoRA slot's A and B gradient against the reference's, each against its own scale. */
export function expectLoraGradsMatch(layout: LoraLayout, grads: Float32Array, want: Float64Array, tol = 1e-4): void {
  const R = layout.spec.rank;
  for (const s of layout.slots) {
    expectMatches(`grad ${s.layer}.${s.target}.A`, grads.subarray(s.aOffset, s.aOffset + R * s.K), want.subarray(s.aOffset, s.aOffset + R * s.K), { scaled: tol });
    expectMatches(`grad ${s.layer}.${s.target}.B`, grads.subarray(s.bOffset, s.bOffset + s.N * R), want.subarray(s.bOffset, s.bOffset + s.N * R), { scaled: tol });
  }
}

/**
 * Logits of one sequence, the loss per group and every LoRA gradient of a two-group batch, against the reference.
 * Errors are taken against each tensor's scale: f32 accumulation over a few hundred terms, through two layers.
 * Returns the batch's groups, for architecture-specific checks on their lengths.
 */
export async function expectEngineMatchesReference(kernels: Kernels, model: ModelFiles, c: ReferenceCase): Promise<Group[]> {
  const cfg = model.config;
  const engine = await LlamaEngine.load(kernels, model, { maxBlockBytes: c.maxBlockBytes });
  const ref = await loadRefModel(model.weights, cfg, c.f16);
  const layout = loraLayout(cfg, { rank: 4, alpha: 8, dropout: c.dropout ?? 0, targets: c.targets ?? ALL });
  // Non-zero B, so every gradient (A's included) is non-zero.
  const rng = new Rng(11);
  const params = Float32Array.from({ length: layout.size }, () => 0.2 * rng.normal());
  const groups = testGroups(cfg.vocabSize, 5);
  const batch = packGroups(groups);
  const dropoutSeed = c.dropout ? 1234 : undefined;
  const refLora = { layout, params, dropoutSeed };
  const check = (name: string, gpu: ArrayLike<number>, want: ArrayLike<number>, tol: number) => expectMatches(name, gpu, want, { scaled: tol });
  console.log(c.name);

  // Logits of the first sequence alone, with the adapter (no dropout outside training).
  const seq = groups[0].sequences[0].input_ids;
  check('logits', await engine.logits(seq, { layout, params, baseModel: 'tiny' }), llama_forward(ref, { layout, params }, alone(seq)).logits, 1e-5);

  const trainer = new LoraTrainer(engine, layout, { maxT: batch.T + 3, vocabChunk: c.vocabChunk ?? 128, groups: 2, recompute: c.recompute });
  try {
    trainer.setParams(params);
    trainer.zeroGrads();
    await trainer.forwardBackward(batch, { first: true, dropoutSeed });
    const fwd = llama_forward(ref, refLora, batch);
    const groupRef = [0, 1].map((g) => fwd.losses.reduce((s, l, t) => s + (batch.group[t] === g ? batch.weights[t] * l : 0), 0));
    check('loss [total, sft, pg]', await trainer.readLoss(), [fwd.loss, ...groupRef], 1e-5);

    const grads = await trainer.readGrads();
    const want = llama_backward(ref, refLora, batch, fwd);
    expectLoraGradsMatch(layout, grads, want);
    expect(Math.max(...want.map(Math.abs))).toBeGreaterThan(1e-4); // the gradients are not trivially zero
    // Planned memory is allocated memory, every architecture's extra activations counted.
    expect(Math.abs(trainer.plan.total - (trainer.allocatedBytes + engine.weights.bytes)) / trainer.plan.total).toBeLessThan(0.01);
  } finally {
    trainer.destroy();
    engine.destroy();
  }
  return groups;
}

/**
 * An 11-token prompt and 10 greedy tokens through the KV cache, base and with a random adapter: each decoded token
 * is the reference's argmax over the whole sequence, except at near-ties, and at least 8 of 10 are checked.
 */
export async function expectGreedyMatchesReference(kernels: Kernels, files: FileSet, name: string): Promise<void> {
  const model = await openModel(files);
  const engine = await LlamaEngine.load(kernels, model);
  const ref = await loadRefModel(model.weights, model.config, false);
  const layout = loraLayout(model.config, { rank: 4, alpha: 8, dropout: 0, targets: ALL });
  const rng = new Rng(3);
  const params = Float32Array.from({ length: layout.size }, () => 0.3 * rng.normal());
  const g = new Generator(engine, { tokenizer: await loadTokenizer(files) });
  g.addAdapter('student', { layout, params, baseModel: 'tiny' });
  const prompt = Array.from({ length: 11 }, () => 3 + Math.floor(rng.next() * 380));
  try {
    for (const adapter of [null, 'student']) {
      const [r] = await g.generate([{ prompt, maxNewTokens: 10, stopTokenIds: [], adapter }]);
      const seq = [...prompt, ...r.tokens];
      const logits = llama_forward(ref, adapter ? { layout, params } : null, alone(seq)).logits;
      const V = model.config.vocabSize;
      let checked = 0;
      let worstMargin = Infinity;
      r.tokens.forEach((tok, i) => {
        const row = logits.subarray((prompt.length - 1 + i) * V, (prompt.length + i) * V);
        const order = [...row.keys()].sort((a, b) => row[b] - row[a]);
        if (row[order[0]] - row[order[1]] < 1e-4) return; // an exact tie either way is fine
        expect(tok, `step ${i}`).toBe(order[0]);
        worstMargin = Math.min(worstMargin, row[order[0]] - row[order[1]]);
        checked++;
      });
      console.log(`${name} greedy ${adapter ?? 'base'}: ${checked} of ${r.tokens.length} decoded tokens are the reference's argmax (smallest margin ${worstMargin.toFixed(4)})`);
      expect(checked).toBeGreaterThanOrEqual(8);
    }
  } finally {
    g.destroy();
    engine.destroy();
  }
}
