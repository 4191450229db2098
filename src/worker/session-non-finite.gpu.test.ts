// Non-finite numbers in the app: the worker's session, called as the page calls it, refuses a picked model folder
// with a NaN weight (naming the tensor), and with a model whose finite weights overflow, a chat fails with
// NonFiniteLogitsError and training with NonFiniteTrainingError (on_policy: the sampling's NonFiniteLogitsError before
// its first step) instead of a silent empty reply or a NaN adapter.
import { expect, it } from 'vitest';
import { editTensor } from '../model/testing/edit-tensors';
import { makeTinyModel } from '../model/tiny/make';
import { DEFAULT_LOSS } from '../train/variants';
import { testRecord } from '../testing/records';
import { sessionSuite } from '../testing/session';
import type { ModelSource, TrainSettings } from './api';

const suite = sessionSuite();

/** The tiny model as a folder the user picked, with one tensor of model.safetensors edited. */
async function pickedFolder(name: string, tensor: string, values: Parameters<typeof editTensor>[2]): Promise<ModelSource> {
  const files = makeTinyModel({ arch: 'llama', dtype: 'f32', seed: 3 });
  await editTensor(files.get('model.safetensors')!, tensor, values);
  return { kind: 'folder', name, files: [...files].map(([path, bytes]) => ({ path: `${name}/${path}`, file: new File([bytes as BlobPart], path) })) };
}

it('refuses a picked folder whose weights hold a NaN, naming the file and the tensor', async () => {
  const source = await pickedFolder('broken', 'model.layers.1.self_attn.o_proj.weight', [[3, NaN]]);
  await expect(suite.session.loadModel(source)).rejects.toMatchObject({
    name: 'NonFiniteTensorError',
    message: expect.stringMatching(/^broken\/model\.safetensors: model\.layers\.1\.self_attn\.o_proj\.weight: holds NaN at \[0, 3\]/),
  });
});

it('fails a chat and a training run on a model whose logits overflow, each with its own error', async () => {
  await suite.session.loadModel(await pickedFolder('overflow', 'model.norm.weight', { all: 3e38 }));
  await expect(suite.session.chat('c1', { side: 'base', prompt: '', messages: [{ role: 'user', content: 'hi' }], adapter: null, maxNewTokens: 4, temperature: 0, seed: 0 }))
    .rejects.toMatchObject({ name: 'NonFiniteLogitsError', message: expect.stringMatching(/NaN or infinite logits .* at the next token/) });

  const settings: TrainSettings = {
    lora: { rank: 2, alpha: 4, dropout: 0, targets: ['q'] }, loss: { ...DEFAULT_LOSS, variant: 'kl_only' },
    epochs: 1, batchSize: 2, lr: 1e-3, warmupFraction: 0, seed: 1, checkpointEvery: 1, maxTokensPerMicroBatch: 512,
  };
  const checkpoints: number[] = [];
  await expect(suite.session.train('t1', 'You are a shell agent.', [testRecord(0), testRecord(1)], settings, { onCheckpoint: (c) => void checkpoints.push(c.step) }))
    .rejects.toMatchObject({ name: 'NonFiniteTrainingError', message: expect.stringMatching(/^training step 1 gave a non-finite loss/) });
  expect(checkpoints).toEqual([]);
  // The default, on_policy, samples the student's answers before its first step: that sampling names the overflow.
  await expect(suite.session.train('t2', 'You are a shell agent.', [testRecord(0), testRecord(1)], { ...settings, loss: DEFAULT_LOSS }, { onCheckpoint: (c) => void checkpoints.push(c.step) }))
    .rejects.toMatchObject({ name: 'NonFiniteLogitsError', message: expect.stringMatching(/with adapter "student"/) });
  expect(checkpoints).toEqual([]);
});
