// A tokenizer is refused when it can produce ids past config.json's vocab_size (another model's tokenizer), unless
// every such id is a special added token: Gemma 3's text models pair vocab_size 262,144 with the family's tokenizer,
// whose <image_soft_token> is id 262,144 (that case loads in src/llama/real-vocab.gpu.test.ts). Qwen3's tokenizer ends
// with added tokens that are not special (<tool_call> ... </think>), so a vocab_size below them is refused.
import { describe, expect, it } from 'vitest';
import { ModelError } from './errors';
import { BytesSource, type FileSet } from './source';
import { realTokenizerFiles } from './testing/real-tokenizers';
import { loadTokenizer } from './tokenizer';

function withConfig(files: FileSet, config: Record<string, unknown>): FileSet {
  const bytes = new TextEncoder().encode(JSON.stringify(config));
  return { name: 'model', open: async (f) => (f === 'config.json' ? new BytesSource('model/config.json', bytes) : files.open(f)) };
}

describe('loadTokenizer against config.json vocab_size', () => {
  it('refuses ids past vocab_size that are not special tokens, naming the files', async () => {
    const files = withConfig(realTokenizerFiles('qwen3'), { vocab_size: 151660 });
    const err = await loadTokenizer(files).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toMatch(/token ids up to 151668, but config.json's vocab_size is 151660/);
  });
});
