// Non-finite numbers as a user meets them: a NaN in a base weight or an infinity in an adapter is refused at load
// with the file and tensor named; a weight beyond f16's range is refused where the GPU keeps weights in f16 (and runs
// with f32 weights); a model whose finite weights overflow makes generate, logits and eval fail with a message
// instead of printing empty text, and train stop at the first step with a non-finite loss, writing no adapter.
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { initLora, loraLayout } from '../llama/lora';
import { exportPeft, peftKey } from '../llama/peft';
import { configFromFiles } from '../model/config';
import { DirFileSet } from '../model/source-node';
import { fillTensor, setTensorValues } from '../model/testing/edit-tensors';
import { writeTinyModel } from '../model/tiny/write-node';
import { genpi, genpiWithEnv } from './testing';
import { SHELL_PROMPT, testRecord } from '../testing/records';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-non-finite-'));
const dir = (name: string) => join(tmp, name);
const F32 = { GENPI_F16: '0' };

beforeAll(async () => {
  await writeTinyModel(dir('model'), { arch: 'llama', dtype: 'f32', seed: 3 });
  for (const name of ['nan', 'overflow', 'beyond-f16']) cpSync(dir('model'), dir(name), { recursive: true });
  await setTensorValues(join(dir('nan'), 'model.safetensors'), 'model.layers.0.mlp.up_proj.weight', [[70, NaN]]);
  // Finite in f32, but the final norm scales the hidden state past f32's range: every logit overflows.
  await fillTensor(join(dir('overflow'), 'model.safetensors'), 'model.norm.weight', 3e38);
  await setTensorValues(join(dir('beyond-f16'), 'model.safetensors'), 'model.norm.weight', [[5, 1e5]]);

  const cfg = await configFromFiles(new DirFileSet(dir('model')));
  const layout = loraLayout(cfg, { rank: 4, alpha: 8, dropout: 0, targets: ['q', 'v'] });
  const files = exportPeft({ layout, params: initLora(layout, 1).map((x, i) => x + (i % 7) * 1e-3), baseModel: 'tiny' });
  for (const name of ['adapter', 'adapter-inf']) {
    mkdirSync(dir(name));
    for (const [file, bytes] of files) writeFileSync(join(dir(name), file), bytes);
  }
  await setTensorValues(join(dir('adapter-inf'), 'adapter_model.safetensors'), peftKey(1, 'v', 'B'), [[9, Infinity]]);

  writeFileSync(dir('prompt.txt'), SHELL_PROMPT);
  const record = (i: number, split: string) => JSON.stringify(testRecord(i, { split, settings: { prompt: SHELL_PROMPT } }));
  writeFileSync(dir('data.jsonl'), [record(0, 'train'), record(1, 'train'), record(2, 'heldout')].join('\n'));
});

function expectOneError(r: ReturnType<typeof genpi>, pattern: RegExp) {
  expect(r.code, r.stderr).toBe(1);
  expect(r.errors, r.stderr).toHaveLength(1);
  expect(r.errors[0]).toMatch(pattern);
}

it('refuses a NaN in a base weight with the file, the tensor and the element, whatever the weight type', () => {
  const nan = /nan\/model\.safetensors: model\.layers\.0\.mlp\.up_proj\.weight: holds NaN at \[1, 6\] \(1 non-finite value in all\)/;
  expectOneError(genpi('generate', '--model', dir('nan'), '--tokens', '1,2,3', '--max-new-tokens', '2'), nan);
  expectOneError(genpiWithEnv(F32, 'logits', '--model', dir('nan'), '--tokens', '1,2,3', '--out', dir('nan.bin')), nan);
  expect(existsSync(dir('nan.bin'))).toBe(false);
});

it('refuses an infinity in an adapter\'s lora_B with the adapter file and key', () => {
  const r = genpi('generate', '--model', dir('model'), '--adapter', dir('adapter-inf'), '--tokens', '1,2,3', '--max-new-tokens', '2');
  expectOneError(r, /adapter-inf\/adapter_model\.safetensors: base_model\.model\.model\.layers\.1\.self_attn\.v_proj\.lora_B\.weight: holds Infinity at \[2, 1\]/);
  expect(genpi('generate', '--model', dir('model'), '--adapter', dir('adapter'), '--tokens', '1,2,3', '--max-new-tokens', '2').code).toBe(0);
});

it('never turns a weight beyond f16\'s range into infinity: refused on f16 weights, run on f32 weights', () => {
  const info = genpi('info', '--model', dir('model')).lastJson();
  const r = genpi('generate', '--model', dir('beyond-f16'), '--tokens', '1,2,3', '--max-new-tokens', '2', '--json');
  if (info.gpu.features.includes('shader-f16')) {
    expectOneError(r, /beyond-f16\/model\.safetensors: model\.norm\.weight: holds 100000 at \[5\] \(1 value beyond f16's range of ±65504\).*GENPI_F16=0/);
  } else {
    expect(r.code, r.stderr).toBe(0); // f32 weights already: nothing overflows
  }
  const f32 = genpiWithEnv(F32, 'generate', '--model', dir('beyond-f16'), '--tokens', '1,2,3', '--max-new-tokens', '2', '--json');
  expect(f32.code, f32.stderr).toBe(0);
  expect(f32.lastJson().tokens).toHaveLength(5);
});

it('generate, logits and eval say the logits are not finite instead of printing empty text', () => {
  const overflow = /the model produced \d+ NaN or infinite logits of \d+ .*the model's weights overflow/;
  const gen = genpiWithEnv(F32, 'generate', '--model', dir('overflow'), '--tokens', '1,2,3', '--max-new-tokens', '4', '--json');
  expectOneError(gen, overflow);
  expect(gen.stdout).toBe('');
  expectOneError(genpiWithEnv(F32, 'logits', '--model', dir('overflow'), '--tokens', '1,2,3', '--out', dir('overflow.bin')), overflow);
  const ev = genpiWithEnv(F32, 'eval', '--model', dir('overflow'), '--adapter', dir('adapter'), '--prompt', dir('prompt.txt'),
    '--data', dir('data.jsonl'), '--max-new-tokens', '4', '--json');
  expectOneError(ev, /with adapter "student"|logits of \d+ at the next token:/);
  expect(ev.stdout).not.toMatch(/kl_teacher_student/);
});

it('train stops at the first step whose loss is not finite and writes no adapter', () => {
  const out = dir('trained');
  const train = (variant: string) => genpiWithEnv(F32, 'train', '--model', dir('overflow'), '--data', dir('data.jsonl'), '--out', out,
    '--rank', '4', '--batch-size', '2', '--epochs', '2', '--checkpoint-every', '1', '--variant', variant);
  // kl_only reaches the training step itself; on_policy (the default) first samples the student's answers, and the
  // sampling's own check names the overflow there.
  expectOneError(train('kl_only'), /training step 1 gave a non-finite loss \(NaN\), so the run stopped there: nothing from this step was saved/);
  expectOneError(train('on_policy'), /NaN or infinite logits of \d+ at the next token with adapter "student"/);
  expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(false);
  expect(existsSync(join(out, 'checkpoint'))).toBe(false);
});
