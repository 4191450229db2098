// The worker's engine session on Dawn with the tiny random model, call by call as the page makes them: load,
// inspect P, synthesize, plan, train (planned once, stopped by cancel and resumed to the same adapter as an
// unbroken run), evaluate, chat on each side, cancel a chat, and a device lost mid-job.
import { expect, it, vi } from 'vitest';
import { DeviceLostError } from '../gpu/errors';
import { Kernels } from '../gpu/kernel';
import { DEFAULT_ENVIRONMENT } from '../genpi/roleplay';
import { DEFAULT_LOSS } from '../train/variants';
import { teacherViews } from '../train/distill';
import type { Checkpoint } from '../train/loop';
import { buildTrainingGroups } from '../train/sequences';
import type { SynthesisProgress, TrainSettings, TrainStep } from './api';
import { EngineSession } from './session';
import { testRecord } from '../testing/records';
import { sessionSuite } from '../testing/session';

// Counted, not changed: a training job builds and tokenizes its set and teacher views once, in its plan.
vi.mock('../train/sequences', async (original) => {
  const m = await original<typeof import('../train/sequences')>();
  return { ...m, buildTrainingGroups: vi.fn(m.buildTrainingGroups) };
});
vi.mock('../train/distill', async (original) => {
  const m = await original<typeof import('../train/distill')>();
  return { ...m, teacherViews: vi.fn(m.teacherViews) };
});

const PROMPT = 'You are a shell agent. Answer with one command.\n<USER>: list files\n<AGENT>: Act: bash ls\n<USER>: show the date\n<AGENT>: Act: bash date';
const TRAIN: TrainSettings = {
  lora: { rank: 4, alpha: 8, dropout: 0.05, targets: ['q', 'v'] }, loss: DEFAULT_LOSS,
  epochs: 2, batchSize: 2, lr: 1e-3, warmupFraction: 0, seed: 5, checkpointEvery: 1, maxTokensPerMicroBatch: 512,
};

const suite = sessionSuite();
const record = (i: number, split = 'train') => testRecord(i, { input: `input number ${i}`, answer: `Act: bash ls ${i}`, split });
const records = [record(0), record(1), record(2), record(3, 'heldout')];
let trained: Float32Array;

it('asks for a model before anything that needs one', async () => {
  await expect(suite.session.inspectPrompt(PROMPT)).rejects.toMatchObject({ name: 'NoModelError', message: expect.stringMatching(/load a model first/) });
  await expect(suite.session.chat('c0', { side: 'base', prompt: '', messages: [{ role: 'user', content: 'hi' }], adapter: null, maxNewTokens: 4, temperature: 0, seed: 0 }))
    .rejects.toMatchObject({ name: 'NoModelError' });
});

it('loads the tiny model, marked untrained, with its weight hash', async () => {
  const summary = await suite.session.loadModel({ kind: 'tiny', arch: 'qwen2', seed: 3 });
  expect(summary).toMatchObject({ source: 'tiny-random-qwen2 (untrained)', untrained: true, architecture: 'qwen2' });
  expect(summary.weightHash).toMatch(/^fnv1a64:[0-9a-f]{16}$/);
  expect(summary.tokenizer.chatSampleTokens).toBeGreaterThan(0);
});

it('reads P and counts its tokens with the chat template', async () => {
  const r = await suite.session.inspectPrompt(PROMPT);
  expect(r).toMatchObject({ format: 'turns', system: 'You are a shell agent. Answer with one command.' });
  expect(r.examples).toHaveLength(4);
  expect(r.tokens).toBeGreaterThan(20);
  await expect(suite.session.inspectPrompt('  ')).rejects.toMatchObject({ name: 'PromptError' });
});

it('synthesizes records from P with progress', async () => {
  const events: SynthesisProgress[] = [];
  const out = await suite.session.synthesize('s1', PROMPT, {
    samples: 4, heldout: 0.25, maxTurns: 1, seed: 1, maxNewTokens: 16, reasonTokens: 24, seedInputs: ['list my files', 'what time is it'],
    environment: DEFAULT_ENVIRONMENT, actionPattern: '^Act:',
  }, (p) => events.push(p));
  expect(out.records).toHaveLength(4);
  expect(out.records.filter((r) => r.split === 'heldout')).toHaveLength(1);
  expect(out.records[0].settings.prompt).toBe(PROMPT);
  expect(out.figures.records).toBe(4);
  expect(out.figures).toMatchObject({ requested: 4, shortfall: null, sources: { seed: 2 } });
  // With one turn there is no role-play turn to report, and no reason: the default variant reads none.
  const stages = events.map((e) => e.stage);
  expect(stages).toEqual(expect.arrayContaining(['inputs', 'answers']));
  expect(stages).not.toContain('reasons');
  expect(events.filter((e) => e.stage === 'answers').at(-1)).toMatchObject({ done: 4, total: 4 });
});

it('refuses too few inputs for training with a SynthesisError, before answering any (retry budget 0: seeds only)', async () => {
  const settings = {
    samples: 64, heldout: 0.1, maxTurns: 1, seed: 1, maxNewTokens: 16, reasonTokens: 24, seedInputs: ['list my files', 'what time is it'],
    environment: DEFAULT_ENVIRONMENT, actionPattern: '', maxRounds: 0,
  };
  await expect(suite.session.synthesize('s-floor', PROMPT, settings)).rejects.toMatchObject({
    name: 'SynthesisError', message: expect.stringMatching(/^only 1 training record from 2 of 64 inputs asked.*give seed inputs/),
  });
});

it('plans a run without training, and refuses a prompt past the context', async () => {
  const plan = await suite.session.planTraining(PROMPT, records, TRAIN);
  expect(plan).toMatchObject({ examples: 3, steps: 4, epochs: 2, batchSize: 2 }); // 3 training records, batches of 2, 2 epochs
  expect(plan.reason).toBe('batch 2 and epochs 2 set by you: 4 optimizer steps');
  expect(plan.warning).toMatch(/^few steps \(4, under 120\): the adapter may learn little; lower the batch size or raise the epochs$/);
  // A schedule that cannot move the adapter says so first.
  expect((await suite.session.planTraining(PROMPT, records, { ...TRAIN, lr: 0 })).warning).toMatch(/^no step will change the adapter \(the learning rate is 0\)/);
  expect(plan.sequences).toBe(3); // the default (kl_only) trains the SFT sequence of each; the teacher's is forward only
  expect((await suite.session.planTraining(PROMPT, records, { ...TRAIN, loss: { ...TRAIN.loss, variant: 'joint' } })).sequences).toBe(6); // SFT and PG
  expect(plan.memory.total).toBeLessThan(plan.deviceLimit);
  // On auto, 64 records get a batch of 8 and enough epochs for 120 steps, not the paper's 20.
  const many = Array.from({ length: 64 }, (_, i) => record(i));
  const auto = await suite.session.planTraining(PROMPT, [...many, record(64, 'heldout')], { ...TRAIN, epochs: null, batchSize: null });
  expect(auto).toMatchObject({ examples: 64, steps: 120, epochs: 15, batchSize: 8, warning: null });
  expect(auto.reason).toBe('64 training records: batch 8 and 15 epochs give 120 optimizer steps (at least 120 are needed to learn from this few records)');
  // One value set, the other sized; a bad value is refused with what to do.
  expect(await suite.session.planTraining(PROMPT, many, { ...TRAIN, epochs: null, batchSize: 4 })).toMatchObject({ steps: 160, epochs: 10, batchSize: 4 });
  await expect(suite.session.planTraining(PROMPT, many, { ...TRAIN, epochs: 0, batchSize: null }))
    .rejects.toMatchObject({ name: 'RequestError', message: expect.stringMatching(/the epochs must be a whole number of at least 1, not 0; leave it empty for auto/) });
  const huge = `You are an agent. ${'Follow every rule of the handbook carefully. '.repeat(400)}`;
  await expect(suite.session.planTraining(huge, records, TRAIN)).rejects.toMatchObject({ name: 'ContextTooShortError' });
});

it('stops training on cancel with a checkpoint, and resumes to the same adapter as an unbroken run', async () => {
  const builds = () => [vi.mocked(buildTrainingGroups).mock.calls.length, vi.mocked(teacherViews).mock.calls.length];
  const before = builds();
  const whole = await suite.session.train('t-whole', PROMPT, records, TRAIN, {});
  expect(whole).toMatchObject({ steps: 4, stopped: false });
  expect(builds()).toEqual([before[0] + 1, before[1] + 1]); // one planning pass: the plan shown is the plan trained
  trained = whole.adapter.params;

  const saved: Checkpoint[] = [];
  const steps: TrainStep[] = [];
  const stopped = await suite.session.train('t-part', PROMPT, records, TRAIN, {
    onStep: (s) => {
      steps.push(s);
      if (s.step === 2) suite.session.cancel('t-part');
    },
    onCheckpoint: (c) => void saved.push(c),
  });
  expect(stopped).toMatchObject({ steps: 2, stopped: true });
  expect(saved.map((c) => c.step)).toEqual([1, 2]); // the stop did not write step 2 twice
  expect(steps.map((s) => s.totalSteps)).toEqual([4, 4]);
  expect(steps[1].tokensPerSecond).toBeGreaterThan(0);
  expect(steps[1].etaSeconds).toBeGreaterThan(0);
  expect(stopped.adapter.params).toEqual(saved[1].params);

  const resumed = await suite.session.train('t-resume', PROMPT, records, TRAIN, {}, saved[1]);
  expect(resumed).toMatchObject({ steps: 4, stopped: false });
  expect(resumed.curve.map((p) => p.loss)).toEqual(whole.curve.map((p) => p.loss));
  expect(resumed.adapter.params).toEqual(whole.adapter.params);
});

it('evaluates the trained adapter on two inputs', async () => {
  const stages: string[] = [];
  const f = await suite.session.evaluate('e1', {
    prompt: PROMPT, inputs: records.slice(0, 2).map((r) => r.input), adapter: { spec: TRAIN.lora, params: trained },
    maxNewTokens: 6, actionPattern: '^Act:',
  }, (s) => stages.push(s));
  expect(f.inputs).toBe(2);
  expect(Number.isFinite(f.kl_teacher_student)).toBe(true);
  expect(Number.isFinite(f.kl_teacher_base)).toBe(true);
  expect(stages).toContain('teacher answers');
});

it('chats as teacher, student and base, streaming the reply', async () => {
  for (const side of ['teacher', 'student', 'base'] as const) {
    const shown: string[] = [];
    const reply = await suite.session.chat(`c-${side}`, {
      side, prompt: PROMPT, messages: [{ role: 'user', content: 'list files please' }], adapter: side === 'student' ? { spec: TRAIN.lora, params: trained } : null,
      maxNewTokens: 12, temperature: 1, seed: 7,
    }, (t) => shown.push(t));
    expect(shown.length, side).toBeGreaterThan(0);
    expect(shown.at(-1)!.trim()).toBe(reply);
  }
  await expect(suite.session.chat('c-x', { side: 'student', prompt: PROMPT, messages: [{ role: 'user', content: 'x' }], adapter: null, maxNewTokens: 4, temperature: 0, seed: 0 }))
    .rejects.toMatchObject({ name: 'RequestError' });
});

it('cancels a chat mid-reply', async () => {
  let shown = 0;
  const chat = suite.session.chat('c-cancel', {
    side: 'base', prompt: '', messages: [{ role: 'user', content: 'tell me a long story' }], adapter: null, maxNewTokens: 400, temperature: 1, seed: 3,
  }, () => {
    if (++shown === 2) suite.session.cancel('c-cancel');
  });
  await expect(chat).rejects.toMatchObject({ name: 'CancelledError' });
  expect(shown).toBeLessThan(10);
});

it('fails a job with advice to reload when the device is lost, and refuses the next', async () => {
  let lose!: (e: DeviceLostError) => void;
  const lost = new Promise<DeviceLostError | null>((resolve) => (lose = resolve));
  const s = new EngineSession(new Kernels({ ...suite.kernels.ctx, lost }, suite.kernels.registry, suite.kernels.f16));
  await s.loadModel({ kind: 'tiny', arch: 'llama', seed: 1 });
  const chat = s.chat('lost', { side: 'base', prompt: '', messages: [{ role: 'user', content: 'hello' }], adapter: null, maxNewTokens: 400, temperature: 1, seed: 1 },
    () => lose(new DeviceLostError('unknown', 'test')));
  await expect(chat).rejects.toMatchObject({ name: 'DeviceLostError', message: expect.stringMatching(/Load the model again.*checkpoints are kept/) });
  await expect(s.inspectPrompt(PROMPT)).rejects.toMatchObject({ name: 'DeviceLostError' });
});
