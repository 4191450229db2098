// The SFT and PG sequences, stops and streaming on the real tokenizers and chat templates of Llama 3, Qwen3 and
// Gemma 3 (not our tiny ChatML one): labels checked by decoding what they cover, the end-of-turn and EOS ids,
// Qwen3's thinking mode (off: every assistant turn opens with the empty thought, never labelled) and Gemma's
// template folding the system text into the first user turn. Each tokenizer is loaded once for the whole file.
import { beforeAll, describe, expect, it } from 'vitest';
import { TextStream } from '../llama/text-stream';
import { realTokenizerFiles, type RealFamily } from '../model/testing/real-tokenizers';
import { loadTokenizer, type Tokenizer } from '../model/tokenizer';
import { pgAssistantText, pgSequence, sftSequence, type PromptText, type TrainingRecord } from './sequences';
import { labelledSpans } from '../testing/sequences';
import { testRecord } from '../testing/records';

const FAMILIES: RealFamily[] = ['llama3', 'qwen3', 'gemma3'];
const toks = new Map<RealFamily, Tokenizer>();
beforeAll(async () => {
  await Promise.all(FAMILIES.map(async (f) => toks.set(f, await loadTokenizer(realTokenizerFiles(f)))));
}, 120_000);

/** Per family: the end-of-turn token, the eos ids, and what opens an assistant turn in the rendered text. */
const EXPECT: Record<RealFamily, { eot: string; eos: number[]; turnIds: number[]; header: string }> = {
  llama3: { eot: '<|eot_id|>', eos: [128001], turnIds: [128009, 128001], header: '<|start_header_id|>assistant<|end_header_id|>\n\n' },
  qwen3: { eot: '<|im_end|>', eos: [151645], turnIds: [151645, 151643], header: '<|im_start|>assistant\n<think>\n\n</think>\n\n' },
  gemma3: { eot: '<end_of_turn>', eos: [106], turnIds: [106], header: '<start_of_turn>model\n' },
};

const record: TrainingRecord = testRecord('r1', {
  input: 'list the files', as_is: 'I cannot.', reason: 'The prompt makes it a shell agent.',
  later: [
    { role: 'user', content: 'a.txt  b.txt\nnotes — été.md' },
    { role: 'assistant', content: 'Two files and a note: a.txt, b.txt, notes — été.md 🙂' },
    { role: 'user', content: '[END]' },
  ],
});
const prompt: PromptText = {
  text: 'You are a shell agent. Answer with one command.',
  messages: [{ role: 'system', content: 'You are a shell agent. Answer with one command.' }],
};

describe.each(FAMILIES)('%s', (family) => {
  const want = EXPECT[family];
  const tok = () => toks.get(family)!;

  it('eos and end-of-turn ids are the family\'s own tokens', () => {
    expect(tok().eosTokenIds).toEqual(want.eos);
    expect([...tok().endOfTurnIds].sort()).toEqual([...want.turnIds].sort());
    expect(tok().tokenToId(want.eot)).toBe(want.turnIds[0]);
  });

  it('SFT labels cover each assistant turn and its end-of-turn token, nothing else', () => {
    const seq = sftSequence(tok(), record);
    expect(labelledSpans(tok(), seq)).toEqual([`Act: bash ls${want.eot}`, `Two files and a note: a.txt, b.txt, notes — été.md 🙂${want.eot}`]);
    const text = tok().decode(seq.input_ids);
    // Both turns open with the same header: what the generation prompt ends with.
    expect(text.split(want.header).length - 1).toBe(2);
    expect(tok().applyChatTemplate(record.conversation.slice(0, 1), { addGenerationPrompt: true }).text.endsWith(want.header)).toBe(true);
    expect(text).not.toContain('[END]'); // the environment's end marker is not trained on
  });

  it('with P prepended, P is context (unlabelled) and the labels are unchanged', () => {
    const seq = sftSequence(tok(), record, { prependPrompt: true, prompt });
    expect(labelledSpans(tok(), seq)).toEqual(labelledSpans(tok(), sftSequence(tok(), record)));
    expect(tok().decode(seq.input_ids)).toContain(prompt.text);
  });

  it('PG labels cover the whole assistant text (P and the reason) and the end-of-turn token', () => {
    const seq = pgSequence(tok(), record, prompt);
    expect(labelledSpans(tok(), seq)).toEqual([pgAssistantText(record, prompt) + want.eot]);
  });

  it('a stop string cuts the streamed text, multi-byte characters arrive whole', () => {
    const ids = tok().encode('Act: bash ls 🙂 été\n[END] and more', { addSpecialTokens: false });
    const stream = new TextStream(tok(), ['[END]']);
    let streamed = '';
    let stoppedAt = -1;
    for (const [i, id] of ids.entries()) {
      if (stream.push(id, false)) {
        stoppedAt = i;
        break;
      }
      streamed += stream.takeFinal();
    }
    streamed += stream.flush();
    expect(stoppedAt).toBeGreaterThan(0);
    expect(streamed).toBe('Act: bash ls 🙂 été\n');
    expect(streamed).not.toContain('\ufffd');
  });
});

describe('qwen3 thinking mode: off unless turned on', () => {
  it('the generation prompt and every assistant turn carry the empty thought, which is never labelled', () => {
    const tok = toks.get('qwen3')!;
    expect(tok.hasThinkingMode).toBe(true);
    expect(tok.thinking).toBe(false);
    const gen = tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true });
    expect(gen.text).toBe('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
    // <think> and </think> are single tokens, so the model writes (or here skips) a thought in two tokens.
    for (const t of ['<think>', '</think>']) expect(tok.encode(t, { addSpecialTokens: false })).toEqual([tok.tokenToId(t)]);
    // Qwen3's own template drops the thought from turns before the last user message; ours keeps every turn as written.
    const text = tok.decode(sftSequence(tok, record).input_ids);
    expect(text.match(/<think>\n\n<\/think>\n\n/g)).toHaveLength(2);
    const labelled = labelledSpans(tok, sftSequence(tok, record)).join('');
    expect(labelled).not.toContain('<think>');
  });

  it('a tokenizer with thinking on leaves the prompt open for a thought', async () => {
    const on = await loadTokenizer(realTokenizerFiles('qwen3'), { thinking: true });
    expect(on.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true }).text).toBe('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');
  }, 60_000);
});

describe('gemma3 has no system role: the template folds it into the first user turn', () => {
  it('"with P" is P\'s text at the head of the first user turn; "without P" is the input alone', () => {
    const tok = toks.get('gemma3')!;
    const withP = tok.decode(sftSequence(tok, record, { prependPrompt: true, prompt }).input_ids);
    expect(withP.startsWith(`<bos><start_of_turn>user\n${prompt.text}\n\nlist the files<end_of_turn>\n`)).toBe(true);
    expect(withP).not.toContain('system');
    const without = tok.decode(sftSequence(tok, record).input_ids);
    expect(without.startsWith('<bos><start_of_turn>user\nlist the files<end_of_turn>\n<start_of_turn>model\n')).toBe(true);
  });
});

describe('llama3: a template that always ends with the assistant header', () => {
  it('a conversation ending in an assistant turn ends with its end-of-turn token, a generation prompt only when asked', () => {
    const tok = toks.get('llama3')!;
    const msgs = record.conversation.slice(0, 2);
    expect(tok.applyChatTemplate(msgs).text.endsWith('Act: bash ls<|eot_id|>')).toBe(true);
    expect(tok.applyChatTemplate(msgs, { addGenerationPrompt: true }).text.endsWith('<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n')).toBe(true);
  });
});
