// Training checkpoints on disk, in the adapter's folder: state.json (step, loss curve, the settings that must match
// on resume) and tensors.safetensors (LoRA params and both Adam moments). Written to a temporary folder and renamed,
// so an interrupted write never replaces a good checkpoint with a broken one.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError } from '../model/errors';
import { fromFloat32 } from '../model/dtype';
import { readSafetensorsHeader, readTensorF32 } from '../model/safetensors';
import { writeSafetensors } from '../model/safetensors-write';
import { BytesSource } from '../model/source';
import type { Checkpoint } from '../train/loop';

export const CHECKPOINT_DIR = 'checkpoint';

export async function saveCheckpoint(adapterDir: string, c: Checkpoint, settings: unknown): Promise<void> {
  const dir = join(adapterDir, CHECKPOINT_DIR);
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const t = (x: Float32Array) => ({ dtype: 'F32' as const, shape: [x.length], data: fromFloat32(x, 'F32') });
  await writeFile(join(tmp, 'tensors.safetensors'), writeSafetensors({ params: t(c.params), m: t(c.m), v: t(c.v) }));
  await writeFile(join(tmp, 'state.json'), JSON.stringify({ step: c.step, curve: c.curve, settings }));
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

/** The checkpoint, checked against the run's settings (a resume with other settings would not be a resume). */
export async function loadCheckpoint(adapterDir: string, settings: unknown): Promise<Checkpoint> {
  const dir = join(adapterDir, CHECKPOINT_DIR);
  let state: { step: number; curve: Checkpoint['curve']; settings: unknown };
  try {
    state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
  } catch {
    throw new ModelError(dir, 'has no readable checkpoint to resume from; run without --resume to start over');
  }
  if (JSON.stringify(state.settings) !== JSON.stringify(settings)) {
    throw new ModelError(join(dir, 'state.json'), 'was saved with other training settings; resume with the same flags, or start over without --resume');
  }
  const src = new BytesSource('tensors.safetensors', new Uint8Array(await readFile(join(dir, 'tensors.safetensors'))));
  const header = await readSafetensorsHeader(src);
  const get = async (name: string) => (await readTensorF32(src, header, name)).data;
  return { step: state.step, curve: state.curve, params: await get('params'), m: await get('m'), v: await get('v') };
}
