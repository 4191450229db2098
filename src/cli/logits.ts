// genpi logits: float32 little-endian logits [T x V] for every position of a token sequence.
import { parseFlags, required } from './args';
import { writeFileAtomic } from './atomic-write';
import { checkOutputFile } from './output-folder';
import { openCliEngine } from './engine';
import { UsageError } from './fail';

/** --tokens 1,2,3 of `command`: whole ids, no empty item (a typo such as "1,,2" is not read as [1, 2]). */
export function parseTokens(command: string, text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.every((s) => s === '')) throw new UsageError(`${command}: --tokens is empty; give comma-separated token ids, e.g. --tokens 1,2,3`);
  return parts.map((p, i) => {
    if (p === '') throw new UsageError(`${command}: --tokens has an empty item at position ${i + 1}; give comma-separated token ids, e.g. --tokens 1,2,3`);
    if (!/^\d+$/.test(p)) throw new UsageError(`${command}: --tokens has "${p}", not a token id (a whole number >= 0)`);
    return Number(p);
  });
}

export async function logits(argv: string[]): Promise<void> {
  const v = parseFlags('logits', argv, { model: { type: 'string' }, adapter: { type: 'string' }, tokens: { type: 'string' }, out: { type: 'string' } });
  const modelDir = required('logits', v, 'model');
  const out = required('logits', v, 'out');
  const tokens = parseTokens('logits', required('logits', v, 'tokens'));
  await checkOutputFile(out, [{ flag: '--model', path: modelDir }, { flag: '--adapter', path: v.adapter as string | undefined }]);
  const { model, engine, adapter } = await openCliEngine(modelDir, v.adapter as string | undefined);
  engine.checkTokens(tokens, '--tokens');
  const values = await engine.logits(tokens, adapter);
  await writeFileAtomic(out, new Uint8Array(values.buffer, values.byteOffset, values.byteLength), 'logits');
  const V = model.config.vocabSize;
  process.stdout.write(`${JSON.stringify({ out, tokens: tokens.length, vocab: V, dtype: 'float32', shape: [tokens.length, V] })}\n`);
}
