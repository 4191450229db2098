// Messages that used to mislead, as a user meets them: a folder or a symlink loop in place of model.safetensors is
// said to be one (not "missing"), another model's tokenizer.json is named before any id runs out of range, a BOM
// before the first JSONL record no longer loses it, a tensor name listed twice is an error, and a run whose schedule
// cannot move the adapter warns. (A missing --model folder: cli.gpu.test.ts; a rank that disagrees:
// adapter-base-cli.gpu.test.ts.)
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { loraLayout } from '../llama/lora';
import { exportPeft } from '../llama/peft';
import { configFromFiles } from '../model/config';
import { DirFileSet } from '../model/source-node';
import { writeTinyModel } from '../model/tiny/write-node';
import { expectFails, genpi } from './testing';
import { SHELL_PROMPT, testRecord } from '../testing/records';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-messages-'));
const dir = (name: string) => join(tmp, name);
const record = (id: string, split: string) => JSON.stringify(testRecord(id, { split, settings: { prompt: SHELL_PROMPT } }));
/** A copy of the tiny model whose files the test then breaks. */
const copy = (name: string) => (cpSync(dir('model'), dir(name), { recursive: true }), dir(name));

beforeAll(async () => {
  await writeTinyModel(dir('model'), { arch: 'llama', seed: 3 });
  await writeTinyModel(dir('bigger-vocab'), { arch: 'llama', seed: 3, numMerges: 600 });
});

it('says model.safetensors is a folder, or a symlink loop, rather than missing', () => {
  const folder = copy('folder');
  rmSync(join(folder, 'model.safetensors'));
  mkdirSync(join(folder, 'model.safetensors'));
  expectFails(genpi('info', '--model', folder), /folder\/model\.safetensors: is a folder, not a file$/);
  const loop = copy('loop');
  rmSync(join(loop, 'model.safetensors'));
  symlinkSync('model.safetensors', join(loop, 'model.safetensors'));
  expectFails(genpi('info', '--model', loop), /loop\/model\.safetensors: is a symbolic link loop/);
  expectFails(genpi('generate', '--model', join(tmp, 'no-such-model'), '--input', 'hi'), /no-such-model: does not exist \(no such folder\)$/);
});

it('names tokenizer.json when it can produce ids the model has no embedding for', () => {
  const mixed = copy('mixed');
  cpSync(join(dir('bigger-vocab'), 'tokenizer.json'), join(mixed, 'tokenizer.json'));
  expectFails(genpi('generate', '--model', mixed, '--input', 'hello there', '--max-new-tokens', '2'),
    /mixed\/tokenizer\.json: has token ids up to 486, but config\.json's vocab_size is 387, .* the tokenizer and the weights come from different models/);
});

it('refuses a safetensors header that lists one tensor name twice', () => {
  const twice = copy('twice');
  const file = join(twice, 'model.safetensors');
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  const text = JSON.stringify(header).replace(/}$/, `,"model.norm.weight":${JSON.stringify(header['model.norm.weight'])}}`);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  writeFileSync(file, Buffer.concat([head, Buffer.from(text), bytes.subarray(8 + n)]));
  expectFails(genpi('info', '--model', twice), /twice\/model\.safetensors: model\.norm\.weight: is listed twice in the header/);
});

it('reads the first record of a JSONL file saved with a byte-order mark (eval finds its held-out input)', async () => {
  const data = join(tmp, 'bom.jsonl');
  writeFileSync(data, `\uFEFF${record('h0', 'heldout')}\n${record('t0', 'train')}\n`);
  writeFileSync(join(tmp, 'prompt.txt'), SHELL_PROMPT);
  const layout = loraLayout(await configFromFiles(new DirFileSet(dir('model'))), { rank: 2, alpha: 4, dropout: 0, targets: ['q'] });
  mkdirSync(dir('adapter'));
  for (const [name, bytes] of exportPeft({ layout, params: new Float32Array(layout.size), baseModel: 'tiny' })) writeFileSync(join(dir('adapter'), name), bytes);
  const r = genpi('eval', '--model', dir('model'), '--adapter', dir('adapter'), '--prompt', join(tmp, 'prompt.txt'), '--data', data, '--max-new-tokens', '2', '--json');
  expect(r.stderr).not.toMatch(/skipped/);
  // The random model may end its turn at once: eval then refuses to compare empty answers, counting the input.
  if (r.code === 0) expect(r.lastJson().inputs).toBe(1);
  else expect(r.stderr).toMatch(/gave an empty answer to every one of the 1 held-out inputs/);
});

it('warns when the schedule leaves the adapter unchanged (one step, or learning rate 0)', () => {
  const data = join(tmp, 'two.jsonl');
  writeFileSync(data, [record('a', 'train'), record('b', 'train')].join('\n'));
  const args = ['train', '--model', dir('model'), '--data', data, '--rank', '2', '--dry-run'];
  const one = genpi(...args, '--batch-size', '2', '--epochs', '1');
  expect(one.code, one.stderr).toBe(0);
  expect(one.stderr).toMatch(/^warning: no step will change the adapter \(its only step is warm-up, taken at learning rate 0\), so it will have no effect; raise the learning rate or train more steps \(--lr, --epochs\)$/m);
  const zero = genpi(...args, '--lr', '0');
  expect(zero.stderr).toMatch(/^warning: no step will change the adapter \(the learning rate is 0\)/m);
  expect(genpi(...args).stderr).not.toMatch(/no step will change/);
});
