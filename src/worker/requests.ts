// The page's request objects turned into the engine's settings, refusing what cannot work with a message that
// says what to change (the page checks its forms too, but the worker is the last line before the GPU).
import { DEFAULT_TRAINING, sizeTraining, type TrainAdapterSettings } from '../genpi/train-adapter';
import { MAX_KL_TOP_K } from '../llama/ops/kl_topk';
import type { Checkpoint } from '../train/loop';
import type { TrainingRecord } from '../train/sequences';
import { DEFAULT_LOSS, effectiveLoss, variantSpec, type LossSettings } from '../train/variants';
import type { TrainSettings } from './api';
import { RequestError } from './errors';

/** '' means no pattern; otherwise a multiline regular expression, as `genpi synthesize --action-pattern`. */
export function actionPattern(source: string): RegExp | undefined {
  if (!source) return undefined;
  try {
    return new RegExp(source, 'm');
  } catch (e) {
    throw new RequestError(`the action pattern is not a regular expression (${(e as Error).message}): fix it or leave it empty`);
  }
}

/**
 * The run settings with the optimizer's defaults (betas, eps, decay, clipping) and the device's memory budget;
 * batch and epochs left on auto (null) are sized to the records, and `size` says what was chosen and why.
 */
export function trainAdapterSettings(s: TrainSettings, records: readonly TrainingRecord[], memoryBudget: number) {
  const d = DEFAULT_TRAINING;
  let size: ReturnType<typeof sizeTraining>;
  try {
    size = sizeTraining(records, { batchSize: s.batchSize, epochs: s.epochs });
  } catch (e) {
    if (e instanceof RangeError) throw new RequestError(`${e.message}; leave it empty for auto`);
    throw e;
  }
  checkDistill(s.loss);
  const settings: TrainAdapterSettings = {
    lora: s.lora,
    loss: s.loss,
    loop: {
      ...d.loop,
      epochs: size.epochs,
      batchSize: size.batchSize,
      lr: s.lr,
      warmupFraction: s.warmupFraction,
      seed: s.seed,
      checkpointEvery: s.checkpointEvery,
    },
    maxTokensPerMicroBatch: s.maxTokensPerMicroBatch,
    memoryBudget,
    earlyStop: (s.earlyStop ?? true) && s.epochs === null,
  };
  return { settings, size };
}

/** A distilling variant's KL weight (at least 0) and teacher top-K (what the kernels take); absent means the default. */
function checkDistill(loss: LossSettings): void {
  if (!variantSpec(loss.variant).kl) return;
  const { klWeight: w, klTopK: K } = effectiveLoss(loss);
  if (!(Number.isFinite(w) && w! >= 0)) throw new RequestError(`the KL weight must be a number of at least 0, got ${w}`);
  if (!(Number.isInteger(K) && K! >= 1 && K! <= MAX_KL_TOP_K)) {
    throw new RequestError(`the teacher's top-K must be a whole number from 1 to ${MAX_KL_TOP_K}, got ${K}: ${DEFAULT_LOSS.klTopK} is the default`);
  }
}

/** A checkpoint must come from a run with the same adapter shape and must not be past the run's end. */
export function checkResume(resume: Checkpoint, loraSize: number, totalSteps: number): void {
  const sizes = [resume.params.length, resume.m.length, resume.v.length, ...[resume.best, resume.epochStart].flatMap((x) => (x ? [x.length] : []))];
  if (sizes.some((n) => n !== loraSize)) {
    throw new RequestError(`the checkpoint holds ${resume.params.length} LoRA values but these settings need ${loraSize}: ` +
      'resume with the settings the run started with, or start a new run');
  }
  if (!(Number.isInteger(resume.step) && resume.step >= 0 && resume.step <= totalSteps)) {
    throw new RequestError(`the checkpoint is at step ${resume.step}, outside this run's ${totalSteps} steps: ` +
      'resume with the settings the run started with, or start a new run');
  }
}
