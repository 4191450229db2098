// The tiny model's tokenizer (src/model/tiny: byte-level BPE with a ChatML chat template), the one most tests that
// tokenize without a GPU need, made the same way everywhere.
import { memoryFiles } from '../llama/testing';
import { makeTinyModel, type TinyModelOptions } from '../model/tiny/make';
import { loadTokenizer, type Tokenizer } from '../model/tokenizer';

/** The tokenizer of the tiny model of `arch` (Qwen2's ChatML template by default). */
export function tinyTokenizer(arch: TinyModelOptions['arch'] = 'qwen2'): Promise<Tokenizer> {
  return loadTokenizer(memoryFiles(makeTinyModel({ arch })));
}
