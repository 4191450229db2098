// genpi grads: the LoRA gradients of the joint loss on one batch (dropout off), under PEFT's key names, and the
// loss as the last line of stdout.
import { readFile } from 'node:fs/promises';
import { LoraTrainer } from '../llama/trainer';
import { peftKey } from '../llama/peft';
import { ModelError } from '../model/errors';
import { writeSafetensors, type TensorToWrite } from '../model/safetensors-write';
import { fromFloat32 } from '../model/dtype';
import { groupTokenCounts, packGroups } from '../train/batch';
import { parseBatchFile } from '../train/batch-file';
import { MAX_LOSS_GROUPS } from '../llama/ops/cross_entropy';
import { parseFlags, required } from './args';
import { writeFileAtomic } from './atomic-write';
import { checkOutputFile } from './output-folder';
import { openCliEngine } from './engine';

export async function grads(argv: string[]): Promise<void> {
  const v = parseFlags('grads', argv, { model: { type: 'string' }, adapter: { type: 'string' }, batch: { type: 'string' }, out: { type: 'string' } });
  const modelDir = required('grads', v, 'model');
  const adapterDir = required('grads', v, 'adapter');
  const batchFile = required('grads', v, 'batch');
  const out = required('grads', v, 'out');
  await checkOutputFile(out, [{ flag: '--model', path: modelDir }, { flag: '--adapter', path: adapterDir }, { flag: '--batch', path: batchFile }]);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(batchFile, 'utf8'));
  } catch (e) {
    throw new ModelError(batchFile, `is not readable JSON (${(e as Error).message})`);
  }
  const groups = parseBatchFile(json, batchFile);
  if (groups.length > MAX_LOSS_GROUPS) throw new ModelError(batchFile, `has ${groups.length} groups; at most ${MAX_LOSS_GROUPS}`, 'groups');
  const batch = packGroups(groups);
  const { engine, adapter } = await openCliEngine(modelDir, adapterDir);
  const trainer = new LoraTrainer(engine, adapter!.layout, { maxT: batch.T, groups: groups.length });
  trainer.checkBatch(batch);
  trainer.setParams(adapter!.params);
  trainer.zeroGrads();
  await trainer.forwardBackward(batch, { first: true });
  const [loss, ...perGroup] = await trainer.readLoss();
  const g = await trainer.readGrads();
  const R = adapter!.layout.spec.rank;
  const tensors: Record<string, TensorToWrite> = {};
  for (const s of adapter!.layout.slots) {
    tensors[peftKey(s.layer, s.target, 'A')] = { dtype: 'F32', shape: [R, s.K], data: fromFloat32(g.subarray(s.aOffset, s.aOffset + R * s.K), 'F32') };
    tensors[peftKey(s.layer, s.target, 'B')] = { dtype: 'F32', shape: [s.N, R], data: fromFloat32(g.subarray(s.bOffset, s.bOffset + s.N * R), 'F32') };
  }
  await writeFileAtomic(out, writeSafetensors(tensors, { content: 'gradients of the LoRA parameters' }), 'grads');
  const counts = groupTokenCounts(groups);
  const report = groups.map((grp, i) => ({
    weight: grp.weight,
    tokens: counts[i],
    // weight x mean cross-entropy over the group's labelled tokens, and the mean itself
    loss: perGroup[i],
    mean_cross_entropy: grp.weight > 0 ? perGroup[i] / grp.weight : null,
  }));
  process.stdout.write(`${JSON.stringify({ loss, groups: report, out })}\n`);
}
