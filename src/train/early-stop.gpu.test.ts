// Early stopping on the GPU, on a tiny model whose answers P shifts: the held-out score of the untrained student is
// the KL between the teacher with P and the student without it on the held-out records (full logits, float64 KL),
// and a run with a long plan (at a learning rate that overfits the 4 training records) stops once that score stops
// improving, returning the params of the best step scored from a third of the plan on, the same when resumed from a
// checkpoint past the best step.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { testKernels } from '../gpu/testing';
import { DEFAULT_TRAINING, planRun, trainAdapter, type TrainAdapterSettings } from '../genpi/train-adapter';
import { LlamaEngine } from '../llama/engine';
import { initLora } from '../llama/lora';
import { memoryFiles } from '../llama/testing';
import { LoraTrainer } from '../llama/trainer';
import { openModel } from '../model/open';
import { makeTinyModel } from '../model/tiny/make';
import { loadTokenizer, type Tokenizer } from '../model/tokenizer';
import { kl_topk_forward } from '../ref/kl_topk';
import { top_log_probs } from '../ref/top_log_probs';
import { attachTeacherTargets } from './distill';
import { scoreHeldout } from './heldout';
import type { Checkpoint } from './loop';
import type { PromptText } from './sequences';
import { testRecord } from '../testing/records';

let kernels: Kernels;
let engine: LlamaEngine;
let tok: Tokenizer;
beforeAll(async () => {
  kernels = await testKernels(false);
  const files = memoryFiles(makeTinyModel({ arch: 'qwen2', seed: 0, qkScale: 0.2, headStd: 1.0 })); // P shifts its answers
  engine = await LlamaEngine.load(kernels, await openModel(files));
  tok = await loadTokenizer(files);
});
afterAll(() => {
  engine?.destroy();
  kernels?.device.destroy();
});

const P: PromptText = {
  text: 'system: Answer in one word.',
  messages: [{ role: 'system', content: 'Answer in one word.' }],
};
const record = (id: string, input: string, answer: string, split: 'train' | 'heldout') => testRecord(id, { input, answer, as_is: answer, reason: 'r', split });
const records = [
  record('a', 'grass colour?', 'green', 'train'), record('b', 'sun colour?', 'yellow', 'train'),
  record('c', 'night colour?', 'black', 'train'), record('d', 'sea colour?', 'blue', 'train'),
  record('e', 'snow colour?', 'white', 'heldout'), record('f', 'blood colour?', 'red', 'heldout'),
];
const K = 8;
const settings = (epochs: number): TrainAdapterSettings => ({
  ...DEFAULT_TRAINING,
  lora: { ...DEFAULT_TRAINING.lora, dropout: 0 },
  loss: { ...DEFAULT_TRAINING.loss, variant: 'kl_only', klTopK: K },
  loop: { ...DEFAULT_TRAINING.loop, epochs, batchSize: 2, lr: 2e-2, checkpointEvery: 1 },
});

it('scores the untrained student on the held-out records as the teacher-vs-student KL from full logits', async () => {
  const { set, maxT, layout, heldout, stopping } = planRun(engine, tok, records, P, settings(10));
  expect(stopping.rule).toMatchObject({ maxSteps: 20, every: 4, minSteps: 7 });
  expect(heldout?.metric).toBe('kl');
  expect(heldout!.sft.length).toBe(2);
  await attachTeacherTargets(engine, heldout!.teachers, heldout!.sft, K);
  const trainer = new LoraTrainer(engine, layout, { maxT, groups: set.groups.length - 1, klTopK: K });
  trainer.setParams(initLora(layout, 0)); // B = 0: the student is the base model
  const got = await scoreHeldout(trainer, heldout!);
  trainer.destroy();

  const V = engine.cfg.vocabSize;
  let sum = 0;
  let n = 0;
  for (const [i, v] of heldout!.teachers.entries()) {
    const teacher = await engine.logits(v.seq.input_ids);
    const student = await engine.logits(heldout!.sft[i].input_ids);
    for (const t of v.positions) {
      const top = top_log_probs(teacher.subarray(t * V, (t + 1) * V), K);
      const s = t - v.offset;
      sum += kl_topk_forward(student.subarray(s * V, (s + 1) * V), top.ids, top.logp, [1], 1, V, K).loss;
      n++;
    }
  }
  const want = sum / n;
  console.log(`held-out KL of the base student: ${got.toFixed(6)} (reference ${want.toFixed(6)}, ${n} tokens)`);
  expect(want).toBeGreaterThan(0.01);
  expect(Math.abs(got - want)).toBeLessThan(1e-4 * Math.max(1, want));
});

it('stops a long run once the held-out KL stops improving and returns the best step\'s params', async () => {
  const saved: Checkpoint[] = [];
  const r = await trainAdapter(engine, tok, records, P, settings(30), {
    saveCheckpoint: async (c) => void saved.push(c),
    onStep: (p) => p.heldout !== undefined && console.log(`step ${p.step} at ${p.seconds.toFixed(1)} s: held-out ${p.heldout.toFixed(5)}`),
  });
  const scores = r.curve.filter((p) => p.heldout !== undefined).map((p) => `${p.step}: ${p.heldout!.toFixed(5)}`);
  console.log(`stopped at step ${r.steps} of 60, best step ${r.best?.step} (held-out KL ${r.best?.score.toFixed(5)}); scores ${scores.join(', ')}`);
  expect(r.stoppedEarly).toBe(true);
  expect(r.steps).toBeLessThan(60);
  expect(r.curve.length).toBe(r.steps);
  expect(r.best).not.toBeNull();
  expect(r.best!.step).toBeLessThan(r.steps);
  expect(r.curve[r.best!.step - 1].heldout).toBe(r.best!.score);
  // The adapter is the best step's (checkpointed every step), not the last one's.
  const atBest = saved.find((c) => c.step === r.best!.step)!;
  const last = saved.at(-1)!;
  expect(last.step).toBe(r.steps);
  expect(r.adapter.params).toEqual(atBest.params);
  expect(r.adapter.params).not.toEqual(last.params);
  expect(last.best).toEqual(atBest.params);
  // The best is taken from the rule's minimum steps on (a third of the plan), and no score from there beat it by the
  // rule's margin; an earlier, lower score (here the untrained student's) is not taken.
  const minSteps = planRun(engine, tok, records, P, settings(30)).stopping.rule!.minSteps;
  expect(r.best!.step).toBeGreaterThanOrEqual(minSteps);
  for (const p of r.curve) if (p.heldout !== undefined && p.step >= minSteps) expect(p.heldout).toBeGreaterThanOrEqual(r.best!.score * 0.99);

  // Resumed from the checkpoint one scoring interval past the best, it stops at the same step with the same adapter.
  const ckpt = saved.find((c) => c.step === r.best!.step + 4)!;
  expect(ckpt.step).toBeLessThan(r.steps);
  const resumed = await trainAdapter(engine, tok, records, P, settings(30), {}, ckpt);
  expect({ steps: resumed.steps, best: resumed.best, stoppedEarly: resumed.stoppedEarly }).toEqual({ steps: r.steps, best: r.best, stoppedEarly: true });
  expect(resumed.curve).toEqual(r.curve);
  expect(resumed.adapter.params).toEqual(r.adapter.params);
}, 300_000); // two training runs on lavapipe, on a shared machine
