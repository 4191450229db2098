// The adapter folder `genpi train` writes, and the training checkpoint it holds: checkpoint/state.json (step, loss
// curve, and what must match on resume: the settings, the base model's weight hash, the dataset's hash) and
// checkpoint/tensors.safetensors (LoRA params, both Adam moments, with early stopping the best step's params, with
// on_policy the params the epoch's samples came from). Both the checkpoint and the finished adapter
// are replaced as whole folders (atomic-write.ts), so a kill at any moment leaves a checkpoint to resume from and
// either the old adapter or the new one, complete.
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { METADATA_FILE } from '../genpi/adapter-meta';
import { ModelError } from '../model/errors';
import { fromFloat32 } from '../model/dtype';
import { checkTensorValues, NonFiniteTensorError } from '../model/finite';
import { readSafetensorsHeader, readTensorF32 } from '../model/safetensors';
import { writeSafetensors } from '../model/safetensors-write';
import { BytesSource } from '../model/source';
import type { Checkpoint } from '../train/loop';
import { linkFiles, replaceFolder, settleFolder, SWAP_SUFFIXES } from './atomic-write';
import { UsageError } from './fail';
import { claimOutputFolder, type FolderKind, type Input } from './output-folder';

const CHECKPOINT_DIR = 'checkpoint';
const ADAPTER_FILES = ['adapter_config.json', 'adapter_model.safetensors', METADATA_FILE];
const CHECKPOINT_NAMES = [CHECKPOINT_DIR, ...SWAP_SUFFIXES.map((x) => CHECKPOINT_DIR + x)];

/** The folder train writes: genpi_adapter.json or a checkpoint says genpi wrote it (a plain PEFT adapter does not). */
const ADAPTER_FOLDER: FolderKind = {
  command: 'train',
  what: 'an adapter',
  files: { ours: (e) => ADAPTER_FILES.includes(e) || CHECKPOINT_NAMES.includes(e), signs: [METADATA_FILE, ...CHECKPOINT_NAMES] },
};

/** What a checkpoint was trained from; a resume from anything else would not be a resume. */
export interface RunIdentity {
  settings: unknown;
  model: { id: string; weight_hash: string };
  dataset: { name: string; sha256: string };
}

/**
 * Readies `out` for a run before any work, under the shared rule for output folders (output-folder.ts: only a
 * folder train wrote, never an input or the current folder, one run at a time), and refuses --resume without a
 * checkpoint, and a new run over an earlier one's adapter or checkpoint without --force (which then drops the old
 * checkpoint; the old adapter stays until the new one replaces it).
 */
export async function prepareAdapterFolder(out: string, o: { resume: boolean; force: boolean; inputs: Input[] }): Promise<void> {
  if (o.resume && o.force) throw new UsageError('train: --resume continues the run in --out and --force starts a new one over it; pass one of them');
  const { found } = await claimOutputFolder(out, ADAPTER_FOLDER, o.inputs);
  if (found === 'ours') await settleFolder(join(out, CHECKPOINT_DIR));
  const entries = found === 'new' ? [] : await readdir(out);
  const checkpoint = entries.includes(CHECKPOINT_DIR);
  if (o.resume) {
    if (!checkpoint) throw new ModelError(out, 'has no checkpoint to resume from; run without --resume to start over');
    return;
  }
  if (!o.force && (checkpoint || entries.length)) {
    throw new ModelError(out, `already holds ${checkpoint ? 'the checkpoint of an earlier run' : 'an adapter'}; continue it with --resume, ` +
      'or pass --force to train a new adapter in its place');
  }
  await rm(join(out, CHECKPOINT_DIR), { recursive: true, force: true });
}

export async function saveCheckpoint(out: string, c: Checkpoint, id: RunIdentity): Promise<void> {
  const t = (x: Float32Array) => ({ dtype: 'F32' as const, shape: [x.length], data: fromFloat32(x, 'F32') });
  await replaceFolder(join(out, CHECKPOINT_DIR), 'checkpoint', async (write) => {
    await write('tensors.safetensors', writeSafetensors({
      params: t(c.params), m: t(c.m), v: t(c.v), ...(c.best ? { best: t(c.best) } : {}), ...(c.epochStart ? { epoch_start: t(c.epochStart) } : {}),
    }));
    await write('state.json', JSON.stringify({ step: c.step, curve: c.curve, ...id }));
  });
}

/** The checkpoint, checked against the run's settings, base model and dataset. */
export async function loadCheckpoint(out: string, id: RunIdentity): Promise<Checkpoint> {
  const dir = join(out, CHECKPOINT_DIR);
  const file = join(dir, 'state.json');
  let state: { step: number; curve: Checkpoint['curve'] } & Partial<RunIdentity>;
  try {
    state = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw new ModelError(dir, 'has no readable checkpoint to resume from; start over with --force');
  }
  const startOver = 'or start over with --force';
  if (!state.model || !state.dataset) {
    throw new ModelError(file, `does not record the base model and dataset it was trained on (an older genpi wrote it), so a resume cannot be checked; ${startOver}`);
  }
  if (state.model.weight_hash !== id.model.weight_hash) {
    throw new ModelError(file, `was trained on the base model ${state.model.id} (weights ${state.model.weight_hash}), but --model ${id.model.id} ` +
      `has other weights (${id.model.weight_hash}); resume with the model it was trained on, ${startOver}`);
  }
  if (state.dataset.sha256 !== id.dataset.sha256) {
    const changed = state.dataset.name === id.dataset.name ? ', which has changed since' : '';
    throw new ModelError(file, `was trained on the dataset ${state.dataset.name} (sha256 ${state.dataset.sha256.slice(0, 12)}), but --data ` +
      `${id.dataset.name}${changed} has sha256 ${id.dataset.sha256.slice(0, 12)}; resume with the dataset it was trained on, ${startOver}`);
  }
  if (JSON.stringify(state.settings) !== JSON.stringify(id.settings)) {
    throw new ModelError(file, `was saved with other training settings; resume with the same flags, ${startOver}`);
  }
  const tensors = join(dir, 'tensors.safetensors');
  try {
    const src = new BytesSource('tensors.safetensors', new Uint8Array(await readFile(tensors)));
    const header = await readSafetensorsHeader(src);
    const get = async (name: string) => {
      const t = await readTensorF32(src, header, name);
      // A damaged checkpoint must not resume into NaN: the loop only stops after the first step's loss.
      checkTensorValues(t.data, tensors, name, t.shape);
      return t.data;
    };
    const best = header.tensors.has('best') ? { best: await get('best') } : {};
    const epochStart = header.tensors.has('epoch_start') ? { epochStart: await get('epoch_start') } : {};
    return { step: state.step, curve: state.curve, params: await get('params'), m: await get('m'), v: await get('v'), ...best, ...epochStart };
  } catch (e) {
    if (e instanceof NonFiniteTensorError) throw e;
    throw new ModelError(tensors, `cannot be read (${(e as Error).message}); start over with --force`);
  }
}

/** Replaces `out` with the finished adapter's files and the run's last checkpoint (linked, not copied). */
export async function writeAdapterFolder(out: string, files: Map<string, Uint8Array>): Promise<void> {
  const checkpoint = join(out, CHECKPOINT_DIR);
  const hasCheckpoint = await stat(checkpoint).then(() => true, () => false);
  await replaceFolder(out, 'adapter', async (write, stage) => {
    for (const [name, bytes] of files) await write(name, bytes);
    if (hasCheckpoint) await linkFiles(checkpoint, join(stage, CHECKPOINT_DIR));
  });
}
