// The checkpoint `genpi train` writes reads back as it was saved: params, both Adam moments, the loss curve, and the
// optional tensors (the best step's params with early stopping, on_policy's epoch-start params) only when saved.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { Checkpoint } from '../train/loop';
import { loadCheckpoint, saveCheckpoint, type RunIdentity } from './checkpoint-files';

const ID: RunIdentity = { settings: { rank: 4 }, model: { id: 'm', weight_hash: 'fnv1a64:0' }, dataset: { name: 'd.jsonl', sha256: 'ab' } };
const floats = (n: number, at: number) => Float32Array.from({ length: n }, (_, i) => at + i / 8);
const curve: Checkpoint['curve'] = [{ step: 1, loss: 2.5, sft: null, pg: null, kl: 2.5, lr: 1e-3, gradNorm: 1.25, tokens: 40, heldout: 3 }];

it('round-trips a checkpoint with its optional tensors, and one without them', async () => {
  const full: Checkpoint = { step: 3, params: floats(6, 0), m: floats(6, 1), v: floats(6, 2), curve, best: floats(6, 3), epochStart: floats(6, 4) };
  const out = mkdtempSync(join(tmpdir(), 'genpi-ckpt-'));
  await saveCheckpoint(out, full, ID);
  expect(await loadCheckpoint(out, ID)).toEqual(full);
  const { best: _b, epochStart: _e, ...plain } = full;
  await saveCheckpoint(out, plain, ID);
  const back = await loadCheckpoint(out, ID);
  expect(back).toEqual(plain);
  expect('epochStart' in back || 'best' in back).toBe(false);
});
