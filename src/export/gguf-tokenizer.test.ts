// The GGUF tokenizer of real families' vocabularies (Llama 3's and Qwen3's tokenizer.json around random weights), read
// by llama.cpp itself: its tokenizer must give our ids for text with digits, whitespace runs, accents, emoji, code
// and the chat template's special tokens. Gemma 3's SentencePiece-style tokenizer is refused by name.
import { describe, expect, it } from 'vitest';
import { memoryFiles } from '../llama/testing';
import { openModel } from '../model/open';
import { realVocabModel, type RealFamily } from '../model/testing/real-tokenizers';
import { GEMMA3_270M } from '../testing/model-configs';
import { loadTokenizer } from '../model/tokenizer';
import { exportGguf, loadGguf } from './testing';

const TEXTS = [
  'Hello world! 12345 + 67 = 12412',
  "  leading spaces,\ttabs\n\nand blank lines;  don't we'll I'M",
  'Ünïcödé — “quotes” 日本語のテキスト 🤖👍 café',
  'def f(x):\n    return x ** 2  # squared\n',
];

/** Two layers at small widths: the vocabulary is what is under test. */
const CONFIGS: Record<Exclude<RealFamily, 'gemma3'>, Record<string, unknown>> = {
  llama3: {
    architectures: ['LlamaForCausalLM'], hidden_size: 64, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2,
    num_key_value_heads: 1, head_dim: 32, rms_norm_eps: 1e-5, rope_theta: 500000, vocab_size: 128256, max_position_embeddings: 1024,
    tie_word_embeddings: true, bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], torch_dtype: 'bfloat16',
  },
  qwen3: {
    architectures: ['Qwen3ForCausalLM'], attention_bias: false, head_dim: 32, hidden_size: 64, intermediate_size: 64,
    num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, rms_norm_eps: 1e-6, rope_theta: 1000000,
    vocab_size: 151936, max_position_embeddings: 1024, tie_word_embeddings: true, bos_token_id: 151643, eos_token_id: 151645,
    torch_dtype: 'bfloat16', use_sliding_window: false,
  },
};

describe('GGUF tokenizer of real vocabularies, read by llama.cpp', { timeout: 120_000 }, () => {
  it.each(['llama3', 'qwen3'] as const)('%s: llama.cpp tokenizes text and the chat template as we do', async (family) => {
    const files = realVocabModel(family, CONFIGS[family]);
    const model = await openModel(memoryFiles(files));
    const tok = await loadTokenizer(memoryFiles(files));
    const g = await loadGguf(await exportGguf(model, null, { type: 'f16', name: family }));
    try {
      const pre = (g.model.fileInfo.metadata.tokenizer?.ggml as { pre?: string }).pre;
      console.log(`${family}: pre-tokenizer ${pre}, ${g.model.tokens.bos ?? 'no'} bos, eos ${g.model.tokens.eos}`);
      for (const text of TEXTS) expect(g.model.tokenize(text, false), text).toEqual(tok.encode(text, { addSpecialTokens: false }));
      const chat = tok.applyChatTemplate([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: TEXTS[0] }], { addGenerationPrompt: true });
      expect(g.model.tokenize(chat.text, true)).toEqual(chat.ids);
      expect(g.model.fileInfo.metadata.tokenizer?.chat_template).toBeTruthy();
    } finally {
      await g.done();
    }
  });

  it("refuses Gemma 3's SentencePiece-style tokenizer by name", async () => {
    const files = realVocabModel('gemma3', {
      ...GEMMA3_270M, num_hidden_layers: 1, layer_types: ['full_attention'], hidden_size: 64, intermediate_size: 64, head_dim: 64, query_pre_attn_scalar: 64,
    });
    const model = await openModel(memoryFiles(files));
    await expect(exportGguf(model, null, { type: 'f16', name: 'gemma3' })).rejects.toThrow(/SentencePiece-style BPE .* Gemma's/);
  });
});
