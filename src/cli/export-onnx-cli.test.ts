// genpi export-onnx as a user meets it (no GPU needed): the folder it writes, f16, an output folder that holds
// something (refused, --force or not; an earlier export is replaced whole with --force), a kill mid-write, and an
// adapter made for another model. output-folder-cli.test.ts has the rule for every command that writes a folder.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPeft } from '../llama/peft';
import { openModel } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { writeTinyModel } from '../model/tiny/write-node';
import { randomAdapter } from '../export/testing';
import { genpi, genpiWithEnv } from './testing';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-export-onnx-'));
const modelDir = join(tmp, 'llama');
const otherAdapter = join(tmp, 'qwen2-adapter');

beforeAll(async () => {
  await writeTinyModel(modelDir, { arch: 'llama', seed: 1 });
  const qwen = join(tmp, 'qwen2');
  await writeTinyModel(qwen, { arch: 'qwen2', seed: 3, hiddenSize: 32 });
  mkdirSync(otherAdapter);
  const cfg = (await openModel(new DirFileSet(qwen))).config;
  for (const [name, bytes] of exportPeft(randomAdapter(cfg, 1))) writeFileSync(join(otherAdapter, name), bytes);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('genpi export-onnx', () => {
  it('writes the folder transformers.js loads, f32 and f16', () => {
    const out = join(tmp, 'out-f32');
    const r = genpi('export-onnx', '--model', modelDir, '--out', out);
    expect(r.errors).toEqual([]);
    expect(r.lastJson().files).toContain('onnx/model.onnx');
    expect(readdirSync(out).sort()).toEqual(['config.json', 'generation_config.json', 'genpi-output.json', 'onnx', 'special_tokens_map.json',
      'tokenizer.json', 'tokenizer_config.json']);
    expect(readdirSync(tmp).filter((n) => n.includes('genpi-'))).toEqual([]);
    const f16 = join(tmp, 'out-f16');
    expect(genpi('export-onnx', '--model', modelDir, '--out', f16, '--dtype', 'f16').code).toBe(0);
    expect(readdirSync(join(f16, 'onnx'))).toEqual(['model_fp16.onnx']);
  });

  it('refuses an output folder that holds something else, even with --force; an earlier export needs --force', () => {
    const out = join(tmp, 'busy');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    for (const force of [[], ['--force']]) {
      const r = genpi('export-onnx', '--model', modelDir, '--out', out, ...force);
      expect(r.code).toBe(2);
      expect(r.errors).toEqual([expect.stringMatching(/busy: holds notes\.txt, which is not part of an ONNX export; .*give a new or empty folder/)]);
      expect(readdirSync(out)).toEqual(['notes.txt']);
    }
    const earlier = join(tmp, 'out-f32');
    const r = genpi('export-onnx', '--model', modelDir, '--out', earlier);
    expect(r.errors).toEqual([expect.stringMatching(/out-f32: already holds an ONNX export that genpi export-onnx wrote; add --force to replace it/)]);
    expect(genpi('export-onnx', '--model', modelDir, '--out', earlier, '--force').code).toBe(0);
    expect(existsSync(join(earlier, 'onnx', 'model.onnx'))).toBe(true);
  }, 60_000); // four runs of the command, on a shared machine

  it('a kill while writing leaves no folder, and the next export writes it whole', () => {
    const out = join(tmp, 'killed');
    const killed = genpiWithEnv({ GENPI_TEST_KILL_AT: 'onnx-export-filling' }, 'export-onnx', '--model', modelDir, '--out', out);
    expect(killed.code).toBeNull();
    expect(existsSync(out)).toBe(false);
    expect(genpi('export-onnx', '--model', modelDir, '--out', out).code).toBe(0);
    expect(readdirSync(tmp).filter((n) => n.startsWith('killed'))).toEqual(['killed']);
    expect(existsSync(join(out, 'onnx', 'model.onnx'))).toBe(true);
  });

  it('refuses an adapter made for another model, writing nothing', () => {
    const out = join(tmp, 'wrong-adapter');
    const r = genpi('export-onnx', '--model', modelDir, '--adapter', otherAdapter, '--out', out);
    expect(r.code).toBe(1);
    expect(r.errors[0]).toMatch(/does not fit this model .*was it made for another model/);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an unknown --dtype', () => {
    const r = genpi('export-onnx', '--model', modelDir, '--out', join(tmp, 'x'), '--dtype', 'q8');
    expect(r.errors[0]).toMatch(/--dtype must be f32 or f16/);
  });
});
