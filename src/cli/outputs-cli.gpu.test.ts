// The files the commands write, as a user meets them: an --out that cannot be written is refused before any work
// (synthesize would otherwise work for minutes first), in words rather than a raw EISDIR; a write killed part way
// (GENPI_TEST_KILL_AT, atomic-write.ts) leaves the old file as it was; and synthesize sizes its generator from its
// flags, so small --max-new-tokens and --reason-tokens no longer leave a request without room.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loraLayout } from '../llama/lora';
import { exportPeft } from '../llama/peft';
import { openModel } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { writeTinyModel } from '../model/tiny/write-node';
import { genpi } from './testing';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-outputs-cli-'));
const modelDir = join(tmp, 'model');
const adapterDir = join(tmp, 'adapter');
const promptFile = join(tmp, 'prompt.txt');
const batchFile = join(tmp, 'batch.json');
let V = 0;

beforeAll(async () => {
  await writeTinyModel(modelDir, { arch: 'qwen2', seed: 3 });
  const model = await openModel(new DirFileSet(modelDir));
  V = model.config.vocabSize;
  const layout = loraLayout(model.config, { rank: 2, alpha: 4, dropout: 0, targets: ['q', 'v'] });
  mkdirSync(adapterDir);
  for (const [name, bytes] of exportPeft({ layout, params: new Float32Array(layout.size), baseModel: 'tiny' })) writeFileSync(join(adapterDir, name), bytes);
  writeFileSync(promptFile, 'You are a shell agent.\n<USER>: list files\n<AGENT>: Act: bash ls');
  writeFileSync(batchFile, JSON.stringify({ groups: [{ weight: 1, sequences: [{ input_ids: [1, 2, 3], labels: [1, 2, 3] }] }] }));
});

describe('an --out that cannot be written is refused before any work', () => {
  const folder = join(tmp, 'a-folder');
  const missing = join(tmp, 'no-such-folder', 'out.bin');
  const underFile = join(tmp, 'prompt.txt', 'out.bin');
  beforeAll(() => mkdirSync(folder));

  const commands: [string, (out: string) => string[]][] = [
    ['synthesize', (out) => ['synthesize', '--model', modelDir, '--prompt', promptFile, '--samples', '8', '--out', out]],
    ['logits', (out) => ['logits', '--model', modelDir, '--tokens', '1,2', '--out', out]],
    ['grads', (out) => ['grads', '--model', modelDir, '--adapter', adapterDir, '--batch', batchFile, '--out', out]],
  ];
  for (const [name, args] of commands) {
    it(name, () => {
      for (const [out, pattern] of [
        [folder, /a-folder: is a folder; give a file name to write to$/],
        [missing, /no-such-folder\/out\.bin: cannot be written: the folder .*no-such-folder does not exist$/],
        [underFile, /prompt\.txt\/out\.bin: cannot be written: .*prompt\.txt is not a folder$/],
      ] as const) {
        const r = genpi(...args(out));
        expect(r.code, r.stderr).toBe(1);
        expect(r.errors).toEqual([expect.stringMatching(pattern)]);
        expect(r.stderr).not.toMatch(/^loading /m); // before the model went to the GPU
      }
      expect(readdirSync(folder)).toEqual([]);
      expect(existsSync(join(tmp, 'no-such-folder'))).toBe(false);
    });
  }
});

it('a logits write killed part way or before its rename leaves the old file; the next run writes it whole', () => {
  const out = join(tmp, 'logits.bin');
  expect(genpi('logits', '--model', modelDir, '--tokens', '1,2,3', '--out', out).code).toBe(0);
  const old = readFileSync(out);
  expect(old.byteLength).toBe(3 * V * 4);
  for (const point of ['logits-filling', 'logits-written']) {
    const r = spawnSync(process.execPath, ['bin/genpi.mjs', 'logits', '--model', modelDir, '--tokens', '4,5', '--out', out],
      { encoding: 'utf8', env: { ...process.env, GENPI_TEST_KILL_AT: point } });
    expect(r.signal, `${point}: ${r.stderr}`).toBe('SIGKILL');
    expect(readFileSync(out).equals(old), point).toBe(true);
  }
  const r = genpi('logits', '--model', modelDir, '--tokens', '4,5', '--out', out);
  expect(r.code, r.stderr).toBe(0);
  expect(readFileSync(out).byteLength).toBe(2 * V * 4);
  expect(readdirSync(tmp).filter((f) => f.startsWith('logits.bin'))).toEqual(['logits.bin']);
});

it('synthesize with --max-new-tokens 8 --reason-tokens 8 has room for every request', () => {
  // Six seed inputs and one round: the rest comes from a list request, the longest request there is.
  const seeds = join(tmp, 'seeds.txt');
  writeFileSync(seeds, ['list logs', 'count files', 'show disk usage', 'find big files', 'delete temp files', 'compress logs'].join('\n'));
  const out = join(tmp, 'small.jsonl');
  const r = genpi('synthesize', '--model', modelDir, '--prompt', promptFile, '--samples', '8', '--heldout', '0', '--seed-inputs', seeds,
    '--max-rounds', '1', '--out', out, '--max-new-tokens', '8', '--reason-tokens', '8');
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).not.toMatch(/slot/);
  const figures = r.lastJson();
  expect(figures.inputs_asked.list).toBeGreaterThan(0);
  expect(figures.records).toBe(8);
  expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(8);
});
