// On-policy distillation on the testbed model (public/demo-model) with a rule preset: the student's samples are
// its own (at the start, the base model's, which repeats the message instead of applying the rule), they come back
// the same for the same seed; a short on_policy run lowers its KL (reverse on the samples, forward on the teacher's
// answers); and a run resumed mid-epoch ends as an unbroken one.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openPipeline } from '../cli/pipeline';
import { DEFAULT_TRAINING, planRun, trainAdapter, type TrainAdapterSettings } from '../genpi/train-adapter';
import { presetById } from '../genpi/presets';
import { parsePrompt } from '../genpi/prompt';
import { applyRule, TESTBED_WORDS } from '../genpi/testbed';
import { initLora } from '../llama/lora';
import { Rng } from '../util/rng';
import { labelledCount } from './batch';
import type { Checkpoint } from './loop';
import { sampleOnPolicy } from './on-policy';
import type { PromptText, TrainingRecord } from './sequences';
import { testRecord } from '../testing/records';

let pipe: Awaited<ReturnType<typeof openPipeline>>;
beforeAll(async () => {
  pipe = await openPipeline('public/demo-model', { slots: 4, turnTokens: 64 });
});
afterAll(() => pipe?.engine.destroy());

const parsed = parsePrompt(presetById('demo-first')!.text);
const P: PromptText = { text: parsed.text, messages: parsed.messages };
const rng = new Rng(7);
const records: TrainingRecord[] = Array.from({ length: 4 }, (_, i) => {
  const input = Array.from({ length: 3 + (i % 3) }, () => TESTBED_WORDS[Math.floor(rng.next() * TESTBED_WORDS.length)]).join(' ');
  const answer = applyRule('first', input); // what the teacher with P writes on this model
  return testRecord(i, { input, answer, as_is: input, reason: '' });
});
const K = 16;
const settings: TrainAdapterSettings = {
  ...DEFAULT_TRAINING,
  lora: { ...DEFAULT_TRAINING.lora, dropout: 0 },
  loss: { ...DEFAULT_TRAINING.loss, variant: 'on_policy', klTopK: K },
  loop: { ...DEFAULT_TRAINING.loop, epochs: 3, batchSize: 2, lr: 1e-2, checkpointEvery: 0 },
  maxTokensPerMicroBatch: 256,
  earlyStop: false,
};

it('samples the student\'s own answers with the teacher\'s top-K at each of its tokens, the same for the same seed', async () => {
  const { set, maxT, layout } = planRun(pipe.engine, pipe.tokenizer, records, P, settings);
  const student = { layout, params: initLora(layout, 0) }; // B = 0: the student is the base model
  const round = () => sampleOnPolicy(pipe.engine, pipe.tokenizer, set.records, set.sft, P, student, { K, maxT, seed: 3, epoch: 0 });
  const t0 = performance.now();
  const a = await round();
  console.log(`one sampling round (${records.length} records, generation and teacher pass): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const b = await round();
  const samples = a.samples.filter((s) => s !== null);
  const text = (i: number) => pipe.tokenizer.decode(samples[i].input_ids.filter((_, t) => samples[i].labels[t] !== -100), { skipSpecialTokens: true });
  console.log(`sampled ${samples.length} of ${records.length} (skipped: ${a.skipped.join('; ') || 'none'}); e.g. "${records[0].input}" -> "${text(0)}"`);
  expect(samples.length).toBeGreaterThanOrEqual(records.length - 1);
  let differ = 0;
  for (const [i, s] of a.samples.entries()) {
    if (!s) continue;
    expect(s.teacher?.ids.length).toBe(labelledCount(s) * K);
    expect(s.teacher?.reverse).toBe(true);
    if (s.input_ids.join() !== set.sft[i].input_ids.join()) differ++;
  }
  expect(differ).toBeGreaterThan(records.length / 2); // the base does not answer as the teacher does
  expect(b.samples.map((s) => s?.input_ids)).toEqual(a.samples.map((s) => s?.input_ids));
  expect(b.samples.map((s) => s && Array.from(s.teacher!.logp))).toEqual(a.samples.map((s) => s && Array.from(s.teacher!.logp)));
}, 180_000); // lavapipe on a shared machine

it('a short on_policy run lowers its KL to the teacher', async () => {
  const t0 = performance.now();
  const r = await trainAdapter(pipe.engine, pipe.tokenizer, records, P, settings);
  const kl = r.curve.map((p) => p.kl!);
  console.log(`on_policy: ${r.steps} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s; KL per step ${kl.map((x) => x.toFixed(3)).join(', ')}`);
  expect(r.steps).toBe(6);
  expect(kl.every(Number.isFinite)).toBe(true);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  // Each epoch (2 steps) is scored on fresh samples, so compare the first epoch with the last.
  expect(mean(kl.slice(-2))).toBeLessThan(0.7 * mean(kl.slice(0, 2)));
}, 300_000);

it('resumed mid-epoch from a checkpoint, on_policy draws that epoch\'s samples again and ends as an unbroken run', async () => {
  const saved: Checkpoint[] = [];
  const every = { ...settings, loop: { ...settings.loop, checkpointEvery: 1 } };
  const whole = await trainAdapter(pipe.engine, pipe.tokenizer, records, P, every, { saveCheckpoint: async (c) => void saved.push(c) });
  // Step 3 of 6 is the middle of the second epoch (2 steps each): its samples came from the params after step 2.
  const mid = saved.find((c) => c.step === 3)!;
  expect(mid.epochStart).toEqual(saved.find((c) => c.step === 2)!.params);
  const resumed = await trainAdapter(pipe.engine, pipe.tokenizer, records, P, every, {}, mid);
  expect(resumed.curve).toEqual(whole.curve);
  expect(resumed.adapter.params).toEqual(whole.adapter.params);
  // A checkpoint without those params (saved before they were kept) is refused mid-epoch, not resumed differently.
  const { epochStart: _, ...old } = mid;
  await expect(trainAdapter(pipe.engine, pipe.tokenizer, records, P, every, {}, old)).rejects.toThrow(/on_policy variant cannot resume from the checkpoint at step 3/);
}, 300_000);
