// Logit distillation end to end on tiny models: the teacher's top-K read back a few rows at a time equals the top-K
// of the frozen model's full logits; the trainer's loss per group (KL included) and every LoRA gradient match the
// float64 whole-model reference with the KL term; and in a real run (joint_kl, kl_only) the first step's reported
// KL is the KL between the teacher with P and the student without it, computed from full logits at aligned positions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { expectMatches, testKernels } from '../gpu/testing';
import { DEFAULT_TRAINING, trainAdapter } from '../genpi/train-adapter';
import { LlamaEngine } from '../llama/engine';
import { loraLayout } from '../llama/lora';
import { memoryFiles } from '../llama/testing';
import { testGroups } from '../testing/groups';
import { expectLoraGradsMatch } from '../testing/reference-check';
import { TopLogProbs } from '../llama/top-logprobs';
import { LoraTrainer } from '../llama/trainer';
import { openModel } from '../model/open';
import { makeTinyModel, type TinyModelOptions } from '../model/tiny/make';
import { Rng } from '../util/rng';
import { loadTokenizer, type Tokenizer } from '../model/tokenizer';
import { compare, formatDiff } from '../ref/compare';
import { kl_topk_forward } from '../ref/kl_topk';
import { top_log_probs } from '../ref/top_log_probs';
import { llama_backward, llama_forward } from '../ref/llama';
import { loadRefModel } from '../ref/llama-load';
import { groupTokenCounts, labelledCount, packBatch, packGroups, type Group } from './batch';
import { teacherViews } from './distill';
import { buildTrainingGroups, type PromptText, type TrainingRecord } from './sequences';
import type { LossSettings } from './variants';
import { testRecord } from '../testing/records';

let kernels: Kernels;
beforeAll(async () => {
  kernels = await testKernels(false);
});
afterAll(() => kernels?.device.destroy());

async function tiny(o: TinyModelOptions) {
  const files = memoryFiles(makeTinyModel(o));
  const model = await openModel(files);
  return { model, engine: await LlamaEngine.load(kernels, model), tok: await loadTokenizer(files) };
}

it('TopLogProbs: the top-K at chosen positions (3 rows per head run) equals the top-K of the full logits', async () => {
  const { engine } = await tiny({ arch: 'qwen2', seed: 3 });
  const V = engine.cfg.vocabSize;
  const rng = new Rng(4);
  const ids = Array.from({ length: 23 }, () => Math.floor(rng.next() * V));
  // More positions than tokens, out of order and repeated: each is its own row of the output.
  const positions = [0, 4, 5, 6, 11, 12, 13, 21, 22, ...Array.from({ length: 23 }, (_, i) => 22 - i)];
  const K = 7;
  const scorer = new TopLogProbs(engine, [], 23, K, { rowsPerHead: 3 });
  const [got] = await scorer.run([{ ids, positions }]);
  const bytes = scorer.bytesRead;
  scorer.destroy();
  const full = await engine.logits(ids);
  const want = positions.map((t) => top_log_probs(full.subarray(t * V, (t + 1) * V), K));
  const d = compare('top-K logp vs full logits', got.logp, want.flatMap((w) => w.logp), 1);
  console.log(`${formatDiff(d)}\nbytes read back per position: ${bytes / positions.length} (the logits would be ${4 * V})`);
  expect(Array.from(got.ids)).toEqual(want.flatMap((w) => w.ids));
  expect(d.maxAbs).toBeLessThan(1e-5); // the same f32 logits; the head on 3 gathered rows vs on all 23
  expect(bytes).toBe(positions.length * K * 8); // ids and log-probs, nothing per vocabulary entry
  engine.destroy();
});

describe.each([
  { name: 'llama tied f32, vocab chunks of 128', tiny: { arch: 'llama', seed: 5 } as TinyModelOptions, vocabChunk: 128, recompute: false },
  { name: 'qwen2 untied, recompute, vocab chunks of 64', tiny: { arch: 'qwen2', seed: 8 } as TinyModelOptions, vocabChunk: 64, recompute: true },
])('$name', (c) => {
  it('loss [total, sft, pg, kl] and every LoRA gradient with the KL term match the float64 reference', async () => {
    const { model, engine } = await tiny(c.tiny);
    const cfg = model.config;
    const ref = await loadRefModel(model.weights, cfg, false);
    const layout = loraLayout(cfg, { rank: 4, alpha: 8, dropout: 0, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] });
    const rng = new Rng(12);
    const params = Float32Array.from({ length: layout.size }, () => 0.2 * rng.normal());
    const K = 16;
    const [sft, pg] = testGroups(cfg.vocabSize, 7);
    // Teacher targets: the top-K of another random model's logits, so the KL is far from 0.
    for (const s of sft.sequences) {
      const n = labelledCount(s);
      const ids = new Uint32Array(n * K);
      const logp = new Float32Array(n * K);
      for (let r = 0; r < n; r++) {
        const top = top_log_probs(Array.from({ length: cfg.vocabSize }, () => 3 * rng.normal()), K);
        ids.set(top.ids, r * K);
        logp.set(top.logp, r * K);
      }
      s.teacher = { K, ids, logp };
    }
    const groups: Group[] = [sft, pg, { weight: 1.3, sequences: sft.sequences, kind: 'kl' }];
    const batch = packGroups(groups);
    const refLora = { layout, params };
    const fwd = llama_forward(ref, refLora, batch);
    const trainer = new LoraTrainer(engine, layout, { maxT: batch.T + 2, vocabChunk: c.vocabChunk, groups: 2, klTopK: K, recompute: c.recompute });
    trainer.setParams(params);
    trainer.zeroGrads();
    await trainer.forwardBackward(batch, { first: true });
    const loss = await trainer.readLoss();
    const groupRef = [0, 1].map((g) => fwd.losses.reduce((s, l, t) => s + (batch.group[t] === g ? batch.weights[t] * l : 0), 0));
    const check = (name: string, gpu: ArrayLike<number>, want: ArrayLike<number>, tol: number) => expectMatches(name, gpu, want, { scaled: tol });
    console.log(c.name);
    check('loss [total, sft, pg, kl]', loss, [fwd.loss, ...groupRef, fwd.klLoss], 1e-5);
    const grads = await trainer.readGrads();
    const want = llama_backward(ref, refLora, batch, fwd);
    expectLoraGradsMatch(layout, grads, want);
    expect(fwd.klLoss).toBeGreaterThan(0.1);
    // Without the KL term the gradients differ: the term really reaches them.
    const plain = llama_backward(ref, refLora, packGroups([sft, pg]), llama_forward(ref, refLora, packGroups([sft, pg])));
    expect(compare('grads without KL', plain, want).scaled).toBeGreaterThan(1e-2);
    // Two micro-batches of one step give the same loss and gradients (each group's mean is over the whole step),
    // and the planner's figure is what the trainer allocates.
    const parts = [sft, pg].flatMap((g, group) => g.sequences.map((seq) => ({ seq, group })));
    const counts = groupTokenCounts(groups);
    const split = new LoraTrainer(engine, layout, { maxT: batch.T, vocabChunk: c.vocabChunk, groups: 2, klTopK: K, recompute: c.recompute });
    split.setParams(params);
    split.zeroGrads();
    await split.forwardBackward(packBatch(parts.slice(0, 2), groups, counts), { first: true });
    await split.forwardBackward(packBatch(parts.slice(2), groups, counts), { first: false });
    const dl = compare('loss, 2 micro-batches vs 1', await split.readLoss(), loss);
    const dg = compare('grads, 2 micro-batches vs 1', await split.readGrads(), grads);
    console.log(`${formatDiff(dl)}\n${formatDiff(dg)}`);
    expect(dl.scaled).toBeLessThan(1e-6);
    expect(dg.scaled).toBeLessThan(1e-5);
    expect(Math.abs(split.plan.total - (split.allocatedBytes + engine.weights.bytes)) / split.plan.total).toBeLessThan(0.01);
    split.destroy();
    trainer.destroy();
    engine.destroy();
  });
});

describe('a distilling run', () => {
  const P: PromptText = {
    text: 'system: Answer in one word.\nuser: sky colour?\nassistant: blue',
    messages: [{ role: 'system', content: 'Answer in one word.' }, { role: 'user', content: 'sky colour?' }, { role: 'assistant', content: 'blue' }],
  };
  const records: TrainingRecord[] = [
    testRecord('a', {
      input: 'grass colour?', answer: 'green', as_is: 'Grass is green.', reason: 'r',
      later: [{ role: 'user', content: 'and snow?' }, { role: 'assistant', content: 'white' }],
    }),
    testRecord('b', { input: 'sun colour?', answer: 'yellow', as_is: 'It is yellow.', reason: 'r' }),
    testRecord('c', { input: 'night colour?', answer: 'black', as_is: 'Night is dark.', reason: 'r' }),
  ];

  /** Mean KL(teacher || base student) over the labelled tokens, from full logits at the aligned positions. */
  async function referenceKl(engine: LlamaEngine, tok: Tokenizer, loss: LossSettings, K: number): Promise<number> {
    const set = buildTrainingGroups(tok, records, P, loss, new Rng(0));
    const views = teacherViews(tok, set, P, engine.cfg.vocabSize);
    const V = engine.cfg.vocabSize;
    let sum = 0;
    let n = 0;
    for (const [i, v] of views.entries()) {
      const teacher = await engine.logits(v.seq.input_ids);
      const student = await engine.logits(set.sft[i].input_ids);
      for (const t of v.positions) {
        const top = top_log_probs(teacher.subarray(t * V, (t + 1) * V), K);
        const s = t - v.offset;
        sum += kl_topk_forward(student.subarray(s * V, (s + 1) * V), top.ids, top.logp, [1], 1, V, K).loss;
        n++;
      }
    }
    return sum / n;
  }

  for (const variant of ['joint_kl', 'kl_only'] as const) {
    it(`${variant}: the first step's KL is the teacher-with-P vs student-without-P KL; the curve carries it`, async () => {
      const { engine, tok } = await tiny({ arch: 'qwen2', seed: 0, qkScale: 0.2, headStd: 1.0 }); // P shifts its answers (genpi-e2e)
      const K = 8;
      const loss: LossSettings = { sftWeight: 0.7, pgWeight: 0.3, variant, klWeight: 1, klTopK: K };
      const s = { ...DEFAULT_TRAINING, loss, loop: { ...DEFAULT_TRAINING.loop, epochs: 4, batchSize: 3, lr: 3e-3, checkpointEvery: 0 } };
      let teacherDone = 0;
      const r = await trainAdapter(engine, tok, records, P, s, { onTeacher: (done) => void (teacherDone = done) });
      const want = await referenceKl(engine, tok, loss, K);
      const first = r.curve[0];
      console.log(`${variant}: step 1 kl ${first.kl?.toFixed(6)} (reference ${want.toFixed(6)}), step ${r.curve.length} kl ${r.curve.at(-1)?.kl?.toFixed(6)}`);
      expect(teacherDone).toBe(3);
      expect(Math.abs(first.kl! - want)).toBeLessThan(1e-4 * Math.max(1, want)); // LoRA B starts at 0: the student is the base
      expect(want).toBeGreaterThan(0.01);
      if (variant === 'kl_only') {
        expect(first.sft).toBeNull();
        expect(first.pg).toBeNull();
        expect(first.loss).toBeCloseTo(first.kl!, 5);
      } else {
        expect(first.loss).toBeCloseTo(0.7 * first.sft! + 0.3 * first.pg! + first.kl!, 4);
      }
      expect(r.curve.at(-1)!.kl!).toBeLessThan(first.kl!); // it distils
      engine.destroy();
    });
  }
});
