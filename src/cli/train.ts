// genpi train: a LoRA adapter from a synthesized dataset, with a variant of the table in train/variants.ts (by
// default distillation from the teacher with P); stops once the held-out score stops improving (unless --epochs or
// --no-early-stop fixes the length); checkpoints in the adapter folder every N steps (--resume continues from the
// last, --force starts over); progress on stderr; a JSON summary as the last line. The adapter folder is written
// whole at the end (checkpoint-files.ts).
import { rmdir, stat } from 'node:fs/promises';
import { adapterFiles, buildAdapterMetadata, sha256Hex, weightHash } from '../genpi/adapter-meta';
import { readDataset, type GenpiRecord } from '../genpi/dataset';
import { parsePrompt, promptTokenCount, type ParsedPrompt } from '../genpi/prompt';
import { makeParts, partsPlan, partsSettingsOf, partsSlotTokens } from '../genpi/record-parts';
import { stageLine } from '../genpi/synthesis-stages';
import { DEFAULT_TRAINING, planRun, sizeTraining, stoppingPlan, trainAdapter, type TrainAdapterSettings } from '../genpi/train-adapter';
import type { LlamaEngine } from '../llama/engine';
import { Generator } from '../llama/generator';
import { LORA_TARGETS, type LoraTarget } from '../llama/lora';
import type { MemoryPlan } from '../llama/planner';
import { ModelError } from '../model/errors';
import { checkHasAnswers } from '../train/answers';
import { readTextFile } from '../model/source-node';
import type { Tokenizer } from '../model/tokenizer';
import { CLI_WORDS } from '../train/run-size';
import { idleScheduleWarning } from '../train/schedule';
import { partsRead } from '../train/sequences';
import { DEFAULT_LOSS, effectiveLoss, isVariant, VARIANT_NAMES, variantSpec, type LossSettings, type TrainingVariant } from '../train/variants';
import { floatFlag, intFlag, parseFlags, required } from './args';
import { loadCheckpoint, prepareAdapterFolder, saveCheckpoint, writeAdapterFolder, type RunIdentity } from './checkpoint-files';
import { openCliEngine } from './engine';
import { UsageError } from './fail';
import { progress, readPrompt } from './pipeline';
import { datasetThinking, loadCliTokenizer, THINKING_FLAG, thinkingFlag } from './thinking';

/**
 * The loss settings from --variant and the weight flags, the variant's switch applied as the app applies it
 * (variants.ts): weights of terms it lacks are 0, and only distilling runs record the KL settings, so other runs'
 * checkpoints still match their settings. A test compares it with the app's default run.
 */
export function lossFromFlags(v: Record<string, unknown>): LossSettings {
  const d = DEFAULT_LOSS;
  const name = (v.variant as string | undefined) ?? d.variant;
  if (!isVariant(name)) throw new UsageError(`train: --variant must be one of ${VARIANT_NAMES.join(', ')}`);
  return effectiveLoss({
    variant: name,
    sftWeight: floatFlag('train', v, 'sft-weight', d.sftWeight, 0, 1e3),
    pgWeight: floatFlag('train', v, 'pg-weight', d.pgWeight, 0, 1e3),
    klWeight: floatFlag('train', v, 'kl-weight', d.klWeight, 0, 1e3),
    klTopK: intFlag('train', v, 'kl-top-k', d.klTopK, 1),
  });
}

export async function trainCommand(argv: string[]): Promise<void> {
  const v = parseFlags('train', argv, {
    model: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, prompt: { type: 'string' },
    epochs: { type: 'string' }, rank: { type: 'string' }, alpha: { type: 'string' }, lr: { type: 'string' },
    dropout: { type: 'string' }, 'sft-weight': { type: 'string' }, 'pg-weight': { type: 'string' }, targets: { type: 'string' },
    variant: { type: 'string' }, seed: { type: 'string' }, 'batch-size': { type: 'string' }, 'checkpoint-every': { type: 'string' },
    'max-tokens': { type: 'string' }, 'memory-gb': { type: 'string' }, 'max-norm': { type: 'string' }, resume: { type: 'boolean' }, force: { type: 'boolean' },
    'kl-weight': { type: 'string' }, 'kl-top-k': { type: 'string' }, 'dry-run': { type: 'boolean' },
    'no-early-stop': { type: 'boolean' }, ...THINKING_FLAG,
  });
  const modelDir = required('train', v, 'model');
  const dataFile = required('train', v, 'data');
  const dryRun = v['dry-run'] === true;
  const thinking = thinkingFlag('train', v);
  const out = dryRun ? '' : required('train', v, 'out');
  const d = DEFAULT_TRAINING;
  const targets = (v.targets ? (v.targets as string).split(',').map((t) => t.trim().replace(/_proj$/, '')) : d.lora.targets) as LoraTarget[];
  for (const t of targets) if (!LORA_TARGETS.includes(t)) throw new UsageError(`train: unknown target "${t}" (choose from ${LORA_TARGETS.join(',')})`);
  const loss = lossFromFlags(v);
  const variant: TrainingVariant = loss.variant;
  const rank = intFlag('train', v, 'rank', d.lora.rank, 1);
  // Unset, batch and epochs are sized to the training records once the dataset is read (train/run-size.ts).
  const overrides = {
    batchSize: v['batch-size'] === undefined ? null : intFlag('train', v, 'batch-size', 0, 1),
    epochs: v.epochs === undefined ? null : intFlag('train', v, 'epochs', 0, 1),
  };
  const settings: TrainAdapterSettings = {
    lora: { rank, alpha: floatFlag('train', v, 'alpha', 2 * rank, 1e-6, 1e6), dropout: floatFlag('train', v, 'dropout', d.lora.dropout, 0, 0.99), targets },
    loss,
    loop: {
      ...d.loop,
      lr: floatFlag('train', v, 'lr', d.loop.lr, 0, 1),
      seed: intFlag('train', v, 'seed', 0),
      checkpointEvery: intFlag('train', v, 'checkpoint-every', d.loop.checkpointEvery, 0),
      optimizer: { ...d.loop.optimizer, maxNorm: floatFlag('train', v, 'max-norm', d.loop.optimizer.maxNorm, 0, 1e6) },
    },
    maxTokensPerMicroBatch: intFlag('train', v, 'max-tokens', d.maxTokensPerMicroBatch, 16),
    memoryBudget: floatFlag('train', v, 'memory-gb', d.memoryBudget / 2 ** 30, 0.01, 1e4) * 2 ** 30,
    // --epochs asks for a fixed length.
    earlyStop: v['no-early-stop'] !== true && overrides.epochs === null,
  };

  const dataText = await readTextFile(dataFile);
  const { records, errors } = readDataset(dataText, dataFile);
  for (const e of errors) process.stderr.write(`${dataFile}:${e.line}: skipped: ${e.message}\n`);
  // Before the model is read: a dataset of empty answers has nothing to train, whatever the variant.
  checkHasAnswers(records, dataFile);
  const promptText = v.prompt ? (await readPrompt(v.prompt as string)).text : records.find((r) => typeof r.settings?.prompt === 'string')?.settings.prompt as string | undefined;
  if (!promptText) throw new ModelError(dataFile, 'does not carry the prompt (settings.prompt); pass it with --prompt FILE');
  const prompt = parsePrompt(promptText);
  const size = sizeTraining(records, overrides, CLI_WORDS);
  settings.loop = { ...settings.loop, batchSize: size.batchSize, epochs: size.epochs };
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  process.stderr.write(`plan: ${plural(size.steps, 'step')}, ${plural(size.epochs, 'epoch')}, batch ${size.batchSize}, ` +
    `${plural(size.records, 'training record')}. ${size.reason[0].toUpperCase()}${size.reason.slice(1)}.\n`);
  if (size.warning) process.stderr.write(`warning: ${size.warning}\n`);
  const heldout = records.filter((r) => r.split === 'heldout').length;
  const stopping = overrides.epochs !== null ? `all ${size.steps} steps: --epochs sets the length`
    : stoppingPlan(settings.earlyStop, size.steps, { count: heldout, metric: variantSpec(variant).kl ? 'kl' : 'ce' }).text;
  process.stderr.write(`stopping: ${stopping}.\n`);
  const idle = idleScheduleWarning(size.steps, settings.loop);
  if (idle) process.stderr.write(`warning: ${idle} (--lr, --epochs)\n`);
  // A variant that reads AS-IS answers or reasons the dataset was made without: they are written first.
  const partsLine = partsPlan(records, variant);
  if (partsLine) process.stderr.write(`first: ${partsLine}.\n`);

  // Before the model is loaded: a run that could not write its adapter, or would overwrite one unasked, stops now.
  const resuming = v.resume === true;
  const outExisted = !dryRun && (await stat(out).then(() => true, () => false));
  if (!dryRun) {
    const inputs = [{ flag: '--model', path: modelDir }, { flag: '--data', path: dataFile }, { flag: '--prompt', path: v.prompt as string | undefined }];
    await prepareAdapterFolder(out, { resume: resuming, force: v.force === true, inputs });
  }
  const { model, engine } = await openCliEngine(modelDir);
  const tokenizer = await loadCliTokenizer('train', modelDir, thinking, datasetThinking(records, dataFile));
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  // The teacher pass (distillation) runs over P and each conversation before the trainer allocates: its own figure.
  const memoryLine = (p: MemoryPlan) => `GPU memory planned: ${mib(p.total)}${p.recompute ? ' (activation recompute)' : ''}` +
    `${p.teacher ? `; the teacher pass before it ${mib(p.weights + p.teacher)}` : ''}\n`;
  if (dryRun) {
    // The plan alone, checked as a run checks it (every sequence fits the context, the memory fits the budget).
    const { plan } = planRun(engine, tokenizer, records, prompt, settings);
    process.stderr.write(memoryLine(plan));
    process.stdout.write(`${JSON.stringify({ dry_run: true, steps: size.steps, epochs: size.epochs, batch_size: size.batchSize, records: size.records, reason: size.reason, warning: size.warning, stopping, memory_bytes: plan.total, recompute: plan.recompute })}\n`);
    return;
  }
  if (partsLine) await writeParts(engine, tokenizer, prompt, records, variant);
  const hash = await weightHash(model.weights);
  const id: RunIdentity = { settings, model: { id: modelDir, weight_hash: hash }, dataset: { name: dataFile, sha256: await sha256Hex(dataText) } };
  const resume = resuming ? await loadCheckpoint(out, id) : undefined;
  if (resume) process.stderr.write(`resuming after step ${resume.step}\n`);
  // A run that fails before its first checkpoint leaves no empty folder behind (one with a checkpoint is kept).
  const r = await trainAdapter(engine, tokenizer, records, prompt, settings, {
    onTeacher: (done, total) => progress(`train: teacher targets ${done}/${total}`),
    onStep: (p) => progress(`train: step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} (sft ${p.sft?.toFixed(4) ?? '-'}, pg ${p.pg?.toFixed(4) ?? '-'}${p.kl != null ? `, kl ${p.kl.toFixed(4)}` : ''}${p.heldout !== undefined ? `, held-out ${p.heldout.toFixed(4)}` : ''}) lr ${p.lr.toExponential(2)} norm ${p.gradNorm.toFixed(3)} ${(p.tokens * p.step / p.seconds).toFixed(0)} tok/s`),
    saveCheckpoint: (c) => saveCheckpoint(out, c, id),
  }, resume, modelDir).catch(async (e) => {
    if (!outExisted) await rmdir(out).catch(() => {});
    throw e;
  });
  process.stderr.write(`\n${memoryLine(r.plan)}`);
  const meta = await buildAdapterMetadata({
    model: { id: modelDir, architecture: model.config.architecture, weightHash: hash, parameters: model.weights.parameterCount },
    prompt: { text: prompt.text, tokens: promptTokenCount(tokenizer, prompt) }, thinking: tokenizer.hasThinkingMode && tokenizer.thinking,
    lora: settings.lora, loss: settings.loss, loop: settings.loop, maxTokensPerMicroBatch: settings.maxTokensPerMicroBatch,
    recompute: r.plan.recompute,
    // A JSONL file keeps no synthesis figures (synthesize prints them on stdout instead).
    dataset: { name: dataFile, records, figures: null, skippedLines: errors.length },
    curve: r.curve, created: Date.now(),
  });
  await writeAdapterFolder(out, adapterFiles(r.adapter, meta));
  const last = r.curve.at(-1);
  // steps: the steps run; with early stopping the adapter is the best step's, scored on the held-out records.
  const best = r.best ? { best_step: r.best.step, [`best_heldout_${r.best.metric}`]: r.best.score } : { best_step: null };
  process.stdout.write(`${JSON.stringify({ out, steps: r.steps, max_steps: size.steps, stopped_early: r.stoppedEarly, ...best, first_loss: r.curve[0]?.loss ?? null, last_loss: last?.loss ?? null, last_sft_loss: last?.sft ?? null, last_pg_loss: last?.pg ?? null, last_kl_loss: last?.kl ?? null })}\n`);
}

/** Writes the parts `variant` reads into the records that lack them, with a generator freed before training. */
async function writeParts(engine: LlamaEngine, tokenizer: Tokenizer, prompt: ParsedPrompt, records: GenpiRecord[], variant: TrainingVariant): Promise<void> {
  const ps = partsSettingsOf(records);
  const generator = new Generator(engine, { tokenizer, slots: 16, slotLength: partsSlotTokens(tokenizer, prompt, records, variant, ps) });
  try {
    const skipped = await makeParts(generator, tokenizer, prompt, records, partsRead(variant), { ...ps, onProgress: (p) => progress(`train: ${stageLine(p)}`) });
    process.stderr.write('\n');
    if (skipped) process.stderr.write(`train: skipped ${skipped.count}: ${skipped.why}\n`);
  } finally {
    generator.destroy();
  }
}
