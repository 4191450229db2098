// The one button over the scripted engine: synthesis, training and evaluation run in order with the forms' settings,
// one progress fraction across the stages with each stage named, a time left from the pace so far; a cancel stops
// at the stage it reaches, and a failing stage stops the flow with that stage's own error.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { EvalFigures } from '../../genpi/evaluate';
import type { SynthesisProgress } from '../../worker/api';
import { DEFAULT_VARIANT } from '../../train/variants';
import { EvaluationState } from './evaluation.svelte';
import { applyDemoRun, DEMO_QUICK, InternalizeState } from './internalize.svelte';
import { deferred, namedError, testApp, trainingDataset } from './testing';

const FIGURES = {
  inputs: 1, exact_match: 1, token_f1: 1, rouge_l: 1, base: { exact_match: 0, token_f1: 0, rouge_l: 0 }, kl_teacher_student: 0,
  kl_teacher_base: 1, valid_action: null, rule_accuracy: null, prompt_tokens: 5, tokens_saved_per_turn: 5,
  prefill_ms_with_prompt: 1, prefill_ms_without_prompt: 1, flops_saved_5_turns: 1, samples: [],
} satisfies EvalFigures;

/** The app with a prompt on the page, an engine that synthesizes the test dataset and evaluates, and a clock. */
async function flowApp() {
  const app = await testApp();
  app.prompt.adopt(trainingDataset().prompt);
  const evaluation = new EvaluationState(app.engine.client, app.model, app.prompt, app.dataset, app.library, app.gate);
  const flow = new InternalizeState(app.dataset, app.training, evaluation);
  const clock = { t: 0 };
  flow.now = () => clock.t;
  const seen: { stage: string | null; fraction: number; text: string }[] = [];
  const look = () => seen.push({ stage: flow.stage, fraction: flow.fraction, text: flow.stageText });
  const synth = { gate: null as ReturnType<typeof deferred<void>> | null };
  const evalCalls: { inputs: string[]; maxNewTokens: number }[] = [];
  Object.assign(app.engine, {
    synthesize: async (_job: string, _p: string, s: { samples: number }, onProgress: (p: SynthesisProgress) => void) => {
      expect(s.samples).toBe(app.dataset.form.samples);
      onProgress({ stage: 'answers', done: 2, total: 4 } as SynthesisProgress);
      clock.t += 30_000;
      look();
      await synth.gate?.promise;
      return { records: trainingDataset().records, figures: null };
    },
    evaluate: async (_job: string, r: { inputs: string[]; maxNewTokens: number }, onStage: (s: string) => void) => {
      evalCalls.push(r);
      onStage('student answers');
      look();
      return FIGURES;
    },
  });
  return { app, evaluation, flow, clock, seen, look, synth, evalCalls };
}

describe('InternalizeState', () => {
  it('runs synthesis, training and evaluation in order, naming each stage, the bar only going forward', async () => {
    const { app, evaluation, flow, seen, evalCalls } = await flowApp();
    app.engine.script = { steps: 2 };
    await flow.run();

    expect(flow.outcome).toEqual({ done: true });
    expect(flow.fraction).toBe(1);
    expect(seen.map((s) => s.stage)).toEqual(['synthesis', 'evaluation']);
    expect(seen[0].text).toBe('Step 1 of 3: Writing a dataset from the prompt (2 / 4)');
    expect(seen[1].text).toBe('Step 3 of 3: Evaluating the student (student answers)');
    expect(seen[0].fraction).toBeGreaterThan(0);
    expect(seen[1].fraction).toBeGreaterThan(seen[0].fraction);
    expect(app.engine.trainCalls).toHaveLength(1);
    // The adapter the run made is the one evaluated, on the dataset's held-out inputs.
    expect(evaluation.adapterId).toBe(app.training.lastAdapterId);
    expect(evalCalls[0].inputs).toEqual(['question 4']);
    expect(evaluation.figures).toEqual(FIGURES);
  });

  it("says the plan's few-steps warning before a run, not after it finished (the evaluation says what was learned)", async () => {
    const { app, flow } = await flowApp();
    const warning = 'few steps (20, under 120): the adapter may learn little; raise the epochs';
    app.training.plan = { warning } as unknown as NonNullable<typeof app.training.plan>;
    expect(flow.planWarning).toBe(warning);
    await flow.run();
    expect(flow.outcome).toEqual({ done: true });
    app.training.plan = { warning } as unknown as NonNullable<typeof app.training.plan>;
    expect(flow.planWarning).toBeNull();
  });

  it('estimates the time left from the pace so far', async () => {
    const { flow, clock, synth } = await flowApp();
    synth.gate = deferred<void>();
    const done = flow.run();
    await new Promise((r) => setTimeout(r, 0));
    // 30 s spent, synthesis half-way through its second of five sub-stages: 0.5 x 1.5/5 = 15% of the bar.
    expect(flow.fraction).toBeCloseTo(0.15);
    expect(flow.secondsLeft).toBeCloseTo((30 * 0.85) / 0.15);
    clock.t += 30_000;
    expect(flow.secondsLeft).toBeCloseTo((60 * 0.85) / 0.15);
    synth.gate.resolve();
    await done;
    expect(flow.secondsLeft).toBeNull();
  });

  it('stops at the stage a cancel reaches, calmly, keeping what was made', async () => {
    const { app, flow, synth } = await flowApp();
    synth.gate = deferred<void>();
    Object.assign(app.engine, {
      synthesize: async (jobId: string) => {
        await synth.gate!.promise;
        throw namedError('CancelledError', `job ${jobId} was cancelled`);
      },
    });
    const done = flow.run();
    await new Promise((r) => setTimeout(r, 0));
    flow.cancel();
    synth.gate.resolve();
    await done;
    expect(flow.outcome).toEqual({ done: false, stage: 'synthesis', cancelled: true });
    expect(app.dataset.notice).toMatch(/cancelled/);
    expect(app.dataset.error).toBeNull();
    expect(app.engine.trainCalls).toEqual([]);
  });

  it('stops at a failing stage, whose own error says why', async () => {
    const { app, flow, evalCalls } = await flowApp();
    app.engine.script = { steps: 3, failAt: 2, error: namedError('ModelError', 'the loss is NaN') };
    await flow.run();
    expect(flow.outcome).toEqual({ done: false, stage: 'training', cancelled: false });
    expect(app.training.error).toEqual({ name: 'ModelError', message: 'the loss is NaN' });
    expect(evalCalls).toEqual([]);
  });

  it('is refused while a run is paused, and without a model or prompt', async () => {
    const { flow } = await flowApp();
    expect(flow.blocker(false, true, null)).toBe('Load a model first (step 1).');
    expect(flow.blocker(true, false, null)).toBe('Write or pick a prompt first (step 1).');
    expect(flow.blocker(true, true, 'chat')).toBe('Wait for chat to finish.');
    expect(flow.blocker(true, true, null)).toBeNull();
  });

  it('sets the demo\'s small first run in the forms, keeping values the user changed', async () => {
    const { app, evaluation } = await flowApp();
    app.dataset.form.heldout = 0.3;
    applyDemoRun('first', app.dataset, app.training, evaluation);
    expect(app.dataset.form).toMatchObject({ samples: DEMO_QUICK.synthesis.samples, heldout: 0.3, maxNewTokens: 16, reasonTokens: 24 });
    expect(app.training.settings).toMatchObject(DEMO_QUICK.training);
    expect(app.training.settings.loss.variant).toBe(DEMO_QUICK.variant);
    expect(evaluation.maxNewTokens).toBe(24);
  });

  it('gives a demo rule the first run does not teach the default run, and back, keeping what the user set', async () => {
    const { app, evaluation } = await flowApp();
    const defaults = { samples: app.dataset.form.samples, heldout: app.dataset.form.heldout, lr: app.training.settings.lr };
    applyDemoRun('first', app.dataset, app.training, evaluation);
    applyDemoRun('reverse', app.dataset, app.training, evaluation);
    expect(app.dataset.form).toMatchObject({ samples: defaults.samples, heldout: defaults.heldout });
    expect(app.training.settings).toMatchObject({ epochs: null, batchSize: null, lr: defaults.lr, loss: { variant: DEFAULT_VARIANT } });
    // A prompt of the user's own (no demo rule) and the rules it teaches get the first run.
    applyDemoRun(null, app.dataset, app.training, evaluation);
    expect(app.training.settings).toMatchObject(DEMO_QUICK.training);
    // What the user typed stays through preset changes.
    app.dataset.form.samples = 40;
    app.training.settings.epochs = 5;
    app.training.settings.loss.variant = 'joint';
    applyDemoRun('double', app.dataset, app.training, evaluation);
    expect(app.dataset.form.samples).toBe(40);
    expect(app.training.settings).toMatchObject({ epochs: 5, batchSize: DEMO_QUICK.training.batchSize, lr: defaults.lr, loss: { variant: 'joint' } });
    applyDemoRun('first', app.dataset, app.training, evaluation);
    expect(app.training.settings.loss.variant).toBe('joint');
  });

  it('keeps a learning rate the user set when the demo\'s run is applied', async () => {
    const { app, evaluation } = await flowApp();
    app.training.settings.lr = 0.01;
    applyDemoRun('first', app.dataset, app.training, evaluation);
    expect(app.training.settings.lr).toBe(0.01);
  });

  it('tells the demo\'s time on a software renderer from the forms, more for a bigger run', async () => {
    const { app, flow, evaluation } = await flowApp();
    applyDemoRun('first', app.dataset, app.training, evaluation);
    const demo = flow.demoSoftwareSeconds!;
    // The demo's run is a few minutes on a software renderer: long enough to say so, short enough to wait for.
    expect(demo / 60).toBeGreaterThan(2);
    expect(demo / 60).toBeLessThan(12);
    app.training.settings.epochs = 4;
    expect(flow.demoSoftwareSeconds).toBeGreaterThan(demo);
    app.training.settings.epochs = 2;
    // The first run keeps kl_only; on_policy adds a sampled answer per training record (20) and epoch (2), 3 s each.
    expect(app.training.settings.loss.variant).toBe('kl_only');
    app.training.settings.loss.variant = 'on_policy';
    expect(flow.demoSoftwareSeconds! - demo).toBeCloseTo(20 * 2 * 3, 6);
    app.training.settings.loss.variant = 'kl_only';
    app.dataset.form.samples = 48;
    expect(flow.demoSoftwareSeconds).toBeGreaterThan(demo);
    // Forms that cannot be sized (every record held out, a batch of 0) say nothing rather than a wrong time.
    app.dataset.form.heldout = 1;
    expect(flow.demoSoftwareSeconds).toBeNull();
    app.dataset.form.heldout = 0.17;
    app.training.settings.batchSize = 0;
    expect(flow.demoSoftwareSeconds).toBeNull();
  });
});
