// The guided flow's one button: synthesis, training and evaluation one after the other, each with the settings its
// Advanced section holds (the defaults unless the user changed them), as one job with one progress bar across the
// three stages, each named, and a time left that updates from the time spent so far. A stage that fails or is
// cancelled stops the flow there with its own message; what was made before (the dataset, the adapter) is kept.
import { sizeRun, type RunSize } from '../../train/run-size';
import { DEFAULT_VARIANT, variantSpec, type TrainingVariant } from '../../train/variants';
import { defaultTrainSettings } from '../train-settings';
import { DEFAULT_SYNTH, type DatasetState } from './dataset.svelte';
import type { EvaluationState } from './evaluation.svelte';
import type { TrainingState } from './training.svelte';

export type FlowStage = 'synthesis' | 'training' | 'evaluation';

/** The stages in order, as the progress line names them. */
export const FLOW_STAGES: readonly { stage: FlowStage; label: string }[] = [
  { stage: 'synthesis', label: 'Writing a dataset from the prompt' },
  { stage: 'training', label: 'Training the adapter' },
  { stage: 'evaluation', label: 'Evaluating the student' },
];

/**
 * Each stage's share of the bar, from the demo's first runs (synthesis the longest). Only the bar's pace depends on
 * them: the time left is measured, not taken from here.
 */
const SHARE: Record<FlowStage, number> = { synthesis: 0.5, training: 0.35, evaluation: 0.15 };

/** Synthesis reports its sub-stages one after another; each gets an equal slice of synthesis's share. */
const SYNTH_STEPS = ['inputs', 'answers', 'as_is', 'reasons', 'roleplay'];

/**
 * The demo's first run, set in the Advanced forms when the demo model loads (every value stays editable): the
 * smallest sizing measured whose student applies the preset's rule without P. In Node on lavapipe (2 cores), scored
 * on 24 held-out and fresh inputs (teacher 100%, base 0%): 24 samples (20 for training, 4 held out) and 20 steps at
 * batch 2 and lr 4e-3 took the student to 100% on `first` (the first preset), `last` and `count`. Smaller runs
 * stopped short on `last`: 8 samples and one step 0%; 16 training records and 16 steps 75%; 20 records and 10 steps
 * 54%; the default lr 2e-3 at 20 steps 88%. The tiny demo model takes the higher rate well. `double` (38%) and
 * `reverse` (4%), the hardest rules, are not learned this quickly: they need the default run (the default samples,
 * epochs and batch on auto), which their presets get.
 * The epochs are set, so early stopping is off and the run takes its 20 steps. `rules` are the preset rules this
 * sizing teaches; a demo preset of another rule gets the default run (applyDemoRun), whose time the page says first.
 * The sizing was measured with kl_only, which the first run keeps; the default variant, on_policy, was not
 * measured at this size (it samples the student's answers once an epoch, and this run has two).
 */
export const DEMO_QUICK = {
  synthesis: { samples: 24, heldout: 0.17, maxNewTokens: 16, reasonTokens: 24 },
  training: { epochs: 2, batchSize: 2, lr: 4e-3 },
  variant: 'kl_only' as TrainingVariant,
  evaluation: { maxNewTokens: 24 },
  rules: ['first', 'last', 'count'] as readonly string[],
} as const;

/**
 * The e2e's first visit, on SwiftShader with 2 busy cores, runs each stage at its smallest (6 samples, 2 of them held
 * out, one step) so the test stays a few minutes long; that student is not expected to learn. Only its dev server
 * sets VITE_GENPI_DEMO_SMOKE=1; a build never has it.
 */
const DEMO_SMOKE = { samples: 6, heldout: 0.34, epochs: 1, batchSize: 4 } as const;

const demoSmoke = () => import.meta.env.VITE_GENPI_DEMO_SMOKE === '1';

function demoRun() {
  const q = DEMO_QUICK;
  if (!demoSmoke()) return q;
  const x = DEMO_SMOKE;
  return {
    ...q,
    synthesis: { ...q.synthesis, samples: x.samples, heldout: x.heldout },
    training: { ...q.training, epochs: x.epochs, batchSize: x.batchSize },
  };
}

/**
 * What each part of the demo's run costs on a software renderer, in seconds, from Chromium's SwiftShader on 2 cores
 * (the e2e's runs, split by stage; the first run comes to about 5 minutes): a synthesized sample, a training example
 * (one conversation, forward and backward, per epoch), a held-out input evaluated (three turns each of teacher,
 * student and base), and training's fixed part (the teacher pass and the kernels' first run). For the demo model
 * only: a real model's costs are orders of magnitude larger.
 * onPolicySample, an on-policy variant's sampling and scoring of one training record's answer per epoch, is 1.5
 * training examples: in Node on lavapipe, the compound preset's 58 training records at batch 2, one epoch took
 * kl_only 113 s and on_policy 213 s, both running side by side (so on_policy's extra 100 s per epoch is about 1.5x
 * kl_only's own 64 s an epoch); not yet timed in Chromium.
 */
const DEMO_SOFTWARE_SECONDS = { sample: 5.6, trainExample: 2, heldoutInput: 22, training: 20, onPolicySample: 3 };

export class InternalizeState {
  stage = $state<FlowStage | null>(null);
  /** How the last flow ended: 'done', or the stage it stopped at (the stage's own card says why). */
  outcome = $state<{ done: true } | { done: false; stage: FlowStage; cancelled: boolean } | null>(null);
  /** When the flow started (this.now()), for the time left. */
  private started = 0;
  private cancelled = false;
  /** The clock (tests drive their own); read again whenever the progress changes. */
  now: () => number = () => Date.now();

  constructor(
    private readonly dataset: DatasetState,
    private readonly training: TrainingState,
    private readonly evaluation: EvaluationState,
  ) {}

  get running(): boolean {
    return this.stage !== null;
  }

  /**
   * The plan's "few steps" warning, said before a run; null while it runs and once it has finished, when the
   * evaluation below says what the student learned (the demo's 20-step first run warns, then scores 100%).
   */
  get planWarning(): string | null {
    if (this.running || this.outcome?.done) return null;
    return this.training.plan?.warning ?? null;
  }

  /** Why the button cannot start now, in words, or null. */
  blocker(hasModel: boolean, hasPrompt: boolean, busy: string | null): string | null {
    if (this.running) return null;
    if (!hasModel) return 'Load a model first (step 1).';
    if (!hasPrompt) return 'Write or pick a prompt first (step 1).';
    if (this.training.startBlocker) return this.training.startBlocker;
    if (busy) return `Wait for ${busy} to finish.`;
    return null;
  }

  /** What the button will do, from the Advanced forms as they are now. */
  get planText(): string {
    const f = this.dataset.form;
    const t = this.training.settings;
    const heldout = Math.round(f.samples * f.heldout);
    const size = t.epochs === null && t.batchSize === null
      ? 'trains for as many steps as the records need'
      : `trains ${t.epochs ?? 'auto'} epoch${t.epochs === 1 ? '' : 's'} at batch ${t.batchSize ?? 'auto'}`;
    return `Writes ${f.samples} examples from the prompt (${heldout} held out), ${size}, then checks the student on the held-out ` +
      'inputs. Every setting is under Advanced below.';
  }

  /**
   * About how long the run as the forms stand takes the demo model on a software renderer, in seconds, said before
   * it starts; null when the forms cannot be sized (the plan says why).
   */
  get demoSoftwareSeconds(): number | null {
    const f = this.dataset.form;
    const t = this.training.settings;
    const heldout = Math.round(f.samples * f.heldout);
    const train = f.samples - heldout;
    if (!(train >= 1)) return null;
    let size: RunSize;
    try {
      size = sizeRun(train, { batchSize: t.batchSize, epochs: t.epochs });
    } catch {
      return null;
    }
    const c = DEMO_SOFTWARE_SECONDS;
    const examples = Math.min(size.steps * size.batchSize, train * size.epochs);
    // An on-policy run samples every training record's answer once an epoch.
    const sampled = variantSpec(t.loss.variant).onPolicy ? train * size.epochs : 0;
    return f.samples * c.sample + c.training + examples * c.trainExample + sampled * c.onPolicySample + heldout * c.heldoutInput;
  }

  /** The whole flow's progress, 0 to 1. */
  get fraction(): number {
    const stage = this.stage;
    if (!stage) return this.outcome?.done ? 1 : 0;
    let before = 0;
    for (const s of FLOW_STAGES) {
      if (s.stage === stage) break;
      before += SHARE[s.stage];
    }
    return Math.min(1, before + SHARE[stage] * this.within(stage));
  }

  /** How far the running stage is, 0 to 1. */
  private within(stage: FlowStage): number {
    if (stage === 'synthesis') {
      const p = this.dataset.progress;
      if (!p || !p.total) return 0;
      const i = Math.max(0, SYNTH_STEPS.indexOf(p.stage));
      return (i + p.done / p.total) / SYNTH_STEPS.length;
    }
    if (stage === 'training') {
      const s = this.training.step;
      return s && s.totalSteps ? s.step / s.totalSteps : 0;
    }
    return 0;
  }

  /** "Step 2 of 3: Training the adapter (step 4 / 12)": what runs now, named. */
  get stageText(): string {
    const stage = this.stage;
    if (!stage) return '';
    const i = FLOW_STAGES.findIndex((s) => s.stage === stage);
    let detail = '';
    if (stage === 'synthesis' && this.dataset.progress) detail = ` (${this.dataset.progress.done} / ${this.dataset.progress.total})`;
    if (stage === 'training' && this.training.step) detail = ` (step ${this.training.step.step} / ${this.training.step.totalSteps})`;
    if (stage === 'evaluation' && this.evaluation.stage) detail = ` (${this.evaluation.stage})`;
    return `Step ${i + 1} of ${FLOW_STAGES.length}: ${FLOW_STAGES[i].label}${detail}`;
  }

  /** Seconds left at the pace so far; null until there is enough progress to tell. */
  get secondsLeft(): number | null {
    const f = this.fraction;
    if (!this.running || f < 0.02) return null;
    const spent = (this.now() - this.started) / 1000;
    return (spent * (1 - f)) / f;
  }

  async run(): Promise<void> {
    if (this.running) return;
    this.cancelled = false;
    this.outcome = null;
    this.started = this.now();
    const stop = (stage: FlowStage) => {
      this.outcome = { done: false, stage, cancelled: this.cancelled };
    };
    try {
      this.stage = 'synthesis';
      await this.dataset.synthesize();
      if (this.cancelled || this.dataset.error || this.dataset.notice || !this.dataset.records.length) return stop('synthesis');

      this.stage = 'training';
      await this.training.start();
      const adapterId = this.training.run?.status === 'done' ? this.training.lastAdapterId : null;
      if (this.cancelled || !adapterId) return stop('training');

      this.stage = 'evaluation';
      this.evaluation.adapterId = adapterId;
      this.evaluation.source = 'heldout';
      await this.evaluation.run();
      if (this.cancelled || this.evaluation.error || this.evaluation.notice || !this.evaluation.figures) return stop('evaluation');
      this.outcome = { done: true };
    } finally {
      this.stage = null;
    }
  }

  /** Stops the stage that runs; training is paused (its checkpoint kept), not thrown away. */
  cancel(): void {
    if (!this.running) return;
    this.cancelled = true;
    if (this.stage === 'synthesis') this.dataset.cancel();
    else if (this.stage === 'training') this.training.pause();
    else this.evaluation.cancel();
  }
}

/**
 * Sets the demo's first run in the forms for the demo preset of `rule` (DEMO_QUICK where it teaches that rule or for
 * a prompt of the user's own, null; the default run where it does not, as for the compound preset's 'compound';
 * DEMO_SMOKE for every preset in the e2e) and the variant it was measured with, leaving any value the user changed:
 * a value counts as the user's when it is neither the default nor what a demo run sets. Called when a demo model loads and when another demo preset is
 * picked.
 */
export function applyDemoRun(rule: string | null, dataset: DatasetState, training: TrainingState, evaluation: EvaluationState): void {
  const f = dataset.form;
  const q = demoRun();
  const quick = demoSmoke() || rule === null || DEMO_QUICK.rules.includes(rule);
  const d = DEFAULT_SYNTH;
  const lr = defaultTrainSettings().lr;
  if (f.samples === d.samples || f.samples === q.synthesis.samples) f.samples = quick ? q.synthesis.samples : d.samples;
  if (f.heldout === d.heldout || f.heldout === q.synthesis.heldout) f.heldout = quick ? q.synthesis.heldout : d.heldout;
  if (f.maxNewTokens === d.maxNewTokens) f.maxNewTokens = q.synthesis.maxNewTokens;
  if (f.reasonTokens === d.reasonTokens) f.reasonTokens = q.synthesis.reasonTokens;
  const t = training.settings;
  const auto = t.epochs === null && t.batchSize === null;
  if (auto || (t.epochs === q.training.epochs && t.batchSize === q.training.batchSize)) {
    t.epochs = quick ? q.training.epochs : null;
    t.batchSize = quick ? q.training.batchSize : null;
  }
  if (t.lr === lr || t.lr === q.training.lr) t.lr = quick ? q.training.lr : lr;
  if (t.loss.variant === DEFAULT_VARIANT || t.loss.variant === q.variant) t.loss.variant = quick ? q.variant : DEFAULT_VARIANT;
  evaluation.maxNewTokens = Math.min(evaluation.maxNewTokens, q.evaluation.maxNewTokens);
}
