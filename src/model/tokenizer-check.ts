// Whether a model folder's tokenizer files work where they go: they parse, their ids fit config.json's vocab_size,
// and the chat template renders. The ONNX export copies these files byte for byte, so a broken one would make an
// export that says it succeeded and then fails in transformers.js or onnxruntime; the export refuses it, and
// `genpi info` shows the same problems as warnings. One list, so both say the same thing.
import { ModelError } from './errors';
import type { FileSet } from './source';
import { loadTokenizer } from './tokenizer';

/** A short conversation every chat template renders: one user turn, then its answer. */
const PROBE = [{ role: 'user', content: 'Hello' }, { role: 'assistant', content: 'Hi.' }];

/** Each problem as one line naming the file; empty when the tokenizer loads and its template renders. */
export async function tokenizerProblems(files: FileSet): Promise<string[]> {
  let tokenizer;
  try {
    // loadTokenizer parses both files, builds the tokenizer and refuses ids past vocab_size, naming the file.
    tokenizer = await loadTokenizer(files);
  } catch (e) {
    return [e instanceof ModelError ? e.message : `${files.name}/tokenizer.json: ${(e as Error).message}`];
  }
  if (!tokenizer.hasChatTemplate) return [];
  try {
    tokenizer.applyChatTemplate(PROBE.slice(0, 1), { addGenerationPrompt: true });
    tokenizer.applyChatTemplate(PROBE);
  } catch (e) {
    return [(e as Error).message];
  }
  return [];
}
