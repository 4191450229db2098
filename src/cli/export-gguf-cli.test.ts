// genpi export-gguf as a user meets it (no GPU needed): the file it writes, read back by node-llama-cpp's own GGUF
// reader; an existing file (refused unless --force); a kill mid-write; a tokenizer llama.cpp cannot express; and
// --lora-only, which refuses an adapter whose base the user does not name and says which base it was trained on.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METADATA_FILE, weightHash } from '../genpi/adapter-meta';
import { exportPeft } from '../llama/peft';
import { openModel } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { writeTinyModel } from '../model/tiny/write-node';
import { randomAdapter } from '../export/testing';
import { genpi, genpiWithEnv } from './testing';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-export-gguf-'));
const modelDir = join(tmp, 'llama');
const otherModel = join(tmp, 'llama-other');
const adapterDir = join(tmp, 'adapter');
let hash = '';

beforeAll(async () => {
  await writeTinyModel(modelDir, { arch: 'llama', seed: 1 });
  await writeTinyModel(otherModel, { arch: 'llama', seed: 2 });
  const model = await openModel(new DirFileSet(modelDir));
  hash = await weightHash(model.weights);
  mkdirSync(adapterDir);
  for (const [name, bytes] of exportPeft(randomAdapter(model.config, 1))) writeFileSync(join(adapterDir, name), bytes);
  writeFileSync(join(adapterDir, METADATA_FILE), JSON.stringify({
    format: 'genpi-adapter', version: 1, base_model: { id: 'HuggingFaceTB/tiny-llama', architecture: 'llama', weight_hash: hash, parameters: 0 },
  }));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('genpi export-gguf', { timeout: 60_000 }, () => {
  it('writes one GGUF file with the architecture, tokenizer, chat template and tensors llama.cpp reads', async () => {
    const out = join(tmp, 'model.gguf');
    const r = genpi('export-gguf', '--model', modelDir, '--adapter', adapterDir, '--out', out, '--type', 'q8_0');
    expect(r.errors).toEqual([]);
    expect(r.lastJson()).toMatchObject({ out, type: 'q8_0', trained_on: { id: 'HuggingFaceTB/tiny-llama', weight_hash: hash } });
    expect(readdirSync(tmp).filter((n) => n.startsWith('model.gguf'))).toEqual(['model.gguf']);
    const info = await readGgufFileInfo(out, { readTensorInfo: true });
    expect(info.version).toBe(3);
    const meta = info.metadata as unknown as Record<string, Record<string, unknown>>;
    expect(meta.general.architecture).toBe('llama');
    expect(meta.general.file_type).toBe(7);
    expect(meta.llama.block_count).toBe(2);
    expect((meta.tokenizer.ggml as Record<string, unknown>).pre).toBe('gpt-2');
    expect(meta.tokenizer.chat_template).toContain('<|im_start|>');
    const names = info.tensorInfo!.map((t) => t.name);
    expect(names).toContain('blk.1.ffn_down.weight');
    expect(names).not.toContain('output.weight'); // tied head
    expect(info.tensorInfo!.find((t) => t.name === 'blk.0.attn_q.weight')!.ggmlType).toBe(8);
  });

  it('refuses an existing file unless --force, which replaces it', () => {
    const out = join(tmp, 'mine.gguf');
    writeFileSync(out, 'mine');
    const r = genpi('export-gguf', '--model', modelDir, '--out', out);
    expect(r.code).toBe(2);
    expect(r.errors[0]).toMatch(/exists; .*--force/);
    expect(readFileSync(out, 'utf8')).toBe('mine');
    expect(genpi('export-gguf', '--model', modelDir, '--out', out, '--force').code).toBe(0);
    expect(readFileSync(out).subarray(0, 4).toString()).toBe('GGUF');
  });

  it('a kill while writing leaves no file, and the next export writes it whole', () => {
    const out = join(tmp, 'killed.gguf');
    const killed = genpiWithEnv({ GENPI_TEST_KILL_AT: 'gguf-filling' }, 'export-gguf', '--model', modelDir, '--out', out);
    expect(killed.code).toBeNull();
    expect(existsSync(out)).toBe(false);
    expect(genpi('export-gguf', '--model', modelDir, '--out', out).code).toBe(0);
    expect(readdirSync(tmp).filter((n) => n.startsWith('killed'))).toEqual(['killed.gguf']);
  });

  it('refuses a tokenizer llama.cpp cannot express, by name', () => {
    const odd = join(tmp, 'odd-tokenizer');
    mkdirSync(odd);
    for (const f of readdirSync(modelDir)) writeFileSync(join(odd, f), readFileSync(join(modelDir, f)));
    const tok = JSON.parse(readFileSync(join(odd, 'tokenizer.json'), 'utf8'));
    tok.pre_tokenizer = { type: 'Whitespace' };
    writeFileSync(join(odd, 'tokenizer.json'), JSON.stringify(tok));
    const out = join(tmp, 'odd.gguf');
    const r = genpi('export-gguf', '--model', odd, '--out', out);
    expect(r.code).not.toBe(0);
    expect(r.errors[0]).toMatch(/pre-tokenizer \{"type":"Whitespace"\} is not one llama\.cpp knows by name/);
    expect(existsSync(out)).toBe(false);
  });

  it('--lora-only refuses an adapter whose base is not named, saying which base it was trained on', async () => {
    const out = join(tmp, 'adapter.gguf');
    const r = genpi('export-gguf', '--adapter', adapterDir, '--lora-only', '--out', out);
    expect(r.code).toBe(2);
    expect(r.errors[0]).toContain(`says HuggingFaceTB/tiny-llama (weights ${hash})`);
    const wrong = genpi('export-gguf', '--model', otherModel, '--adapter', adapterDir, '--lora-only', '--out', out);
    expect(wrong.code).toBe(1);
    expect(wrong.errors[0]).toMatch(/was trained on HuggingFaceTB\/tiny-llama .*Give --model the model it was trained on/);
    expect(existsSync(out)).toBe(false);

    const ok = genpi('export-gguf', '--model', modelDir, '--adapter', adapterDir, '--lora-only', '--out', out);
    expect(ok.errors).toEqual([]);
    expect(ok.stderr).toContain(`was trained on HuggingFaceTB/tiny-llama (weights ${hash})`);
    const meta = (await readGgufFileInfo(out)).metadata as unknown as Record<string, Record<string, unknown>>;
    expect(meta.general.type).toBe('adapter');
    expect(meta.adapter.type).toBe('lora');
    expect((meta.adapter.lora as Record<string, unknown>).alpha).toBe(8);
  });

  it('refuses an unknown --type', () => {
    const r = genpi('export-gguf', '--model', modelDir, '--out', join(tmp, 'x.gguf'), '--type', 'q4_0');
    expect(r.errors[0]).toMatch(/--type must be f32, f16, q8_0/);
  });
});
