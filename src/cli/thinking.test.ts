// --thinking reaches the chat template (Qwen3's real tokenizer: with it off the generation prompt ends with the empty
// thought, with it on the model is left to think), and the mode an adapter or a dataset records is the default, with
// a warning when the flag contradicts it. No GPU: only the tokenizer is loaded.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { GenpiRecord } from '../genpi/dataset';
import { realTokenizerDir } from '../model/testing/real-tokenizers';
import { parseFlags } from './args';
import { adapterThinking, datasetThinking, loadCliTokenizer, THINKING_FLAG, thinkingFlag } from './thinking';

const qwen3 = realTokenizerDir('qwen3');
const tmp = mkdtempSync(join(tmpdir(), 'genpi-thinking-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function adapterDir(name: string, thinking: boolean): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'genpi_adapter.json'), JSON.stringify({ format: 'genpi-adapter', version: 1, thinking }));
  return dir;
}

const ask = [{ role: 'user', content: 'List the files.' }];
const HEADER = '<|im_start|>assistant\n';

describe('genpi --thinking', { timeout: 30_000 }, () => {
  it('off by default: the generation prompt ends with the empty thought', async () => {
    const log: string[] = [];
    const v = parseFlags('generate', [], THINKING_FLAG);
    const tok = await loadCliTokenizer('generate', qwen3, thinkingFlag('generate', v), null, (l) => log.push(l));
    expect(tok.thinking).toBe(false);
    expect(tok.applyChatTemplate(ask, { addGenerationPrompt: true }).text.endsWith(`${HEADER}<think>\n\n</think>\n\n`)).toBe(true);
    expect(log).toEqual([]);
  });

  it('--thinking leaves the prompt open for a thought, and warns when the adapter was trained without', async () => {
    const log: string[] = [];
    const v = parseFlags('eval', ['--thinking'], THINKING_FLAG);
    const dir = adapterDir('off', false);
    const tok = await loadCliTokenizer('eval', qwen3, thinkingFlag('eval', v), await adapterThinking(dir), (l) => log.push(l));
    expect(tok.thinking).toBe(true);
    const text = tok.applyChatTemplate(ask, { addGenerationPrompt: true }).text;
    expect(text.endsWith(HEADER)).toBe(true);
    expect(text).not.toContain('<think>');
    expect(log.join('')).toMatch(/warning: .*off.* was made with thinking off, but runs now with thinking on/);
  });

  it("an adapter's or a dataset's recorded mode is the default", async () => {
    const log: string[] = [];
    const dir = adapterDir('on', true);
    expect(await adapterThinking(dir)).toEqual({ what: dir, thinking: true });
    expect(await adapterThinking(tmp)).toBeNull(); // no genpi_adapter.json
    const records = [{ settings: { prompt: 'P' } }, { settings: { prompt: 'P', thinking: true } }] as unknown as GenpiRecord[];
    expect(datasetThinking(records, 'data.jsonl')).toEqual({ what: 'data.jsonl', thinking: true });
    expect(datasetThinking(records.slice(0, 1), 'data.jsonl')).toBeNull();

    const tok = await loadCliTokenizer('train', qwen3, undefined, datasetThinking(records, 'data.jsonl'), (l) => log.push(l));
    expect(tok.thinking).toBe(true);
    expect(tok.applyChatTemplate(ask, { addGenerationPrompt: true }).text.endsWith(HEADER)).toBe(true);
    expect(log).toEqual(['train: thinking on, as data.jsonl was made with it\n']);
  });

  it('--no-thinking overrides a recorded "on", with a warning; both flags at once are refused', async () => {
    const log: string[] = [];
    const v = parseFlags('generate', ['--no-thinking'], THINKING_FLAG);
    const tok = await loadCliTokenizer('generate', qwen3, thinkingFlag('generate', v), await adapterThinking(adapterDir('on-2', true)), (l) => log.push(l));
    expect(tok.thinking).toBe(false);
    expect(tok.applyChatTemplate(ask, { addGenerationPrompt: true }).text.endsWith(`${HEADER}<think>\n\n</think>\n\n`)).toBe(true);
    expect(log.join('')).toMatch(/^warning: .*on-2 was made with thinking on, but runs now with thinking off/);
    expect(() => thinkingFlag('eval', parseFlags('eval', ['--thinking', '--no-thinking'], THINKING_FLAG))).toThrow(/^eval: give --thinking or --no-thinking, not both$/);
  });
});
