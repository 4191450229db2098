// What the pipeline commands share: the model on the GPU with its tokenizer and a generator, and the prompt file.
import { readFile } from 'node:fs/promises';
import { parsePrompt, promptTokenCount, type ParsedPrompt } from '../genpi/prompt';
import { Generator } from '../llama/generator';
import { ModelError } from '../model/errors';
import { DirFileSet } from '../model/source-node';
import { loadTokenizer } from '../model/tokenizer';
import { openCliEngine } from './engine';

export async function readPrompt(file: string): Promise<ParsedPrompt> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new ModelError(file, 'cannot be read');
  }
  try {
    return parsePrompt(text);
  } catch (e) {
    throw new ModelError(file, (e as Error).message);
  }
}

/**
 * The model, its tokenizer and a generator whose cache slots hold P plus `turnTokens` of conversation (KV memory
 * grows with slots x slot length x layers, so slots are sized to the job rather than to the model's context).
 */
export async function openPipeline(modelDir: string, o: { adapterDir?: string; prompt?: ParsedPrompt; slots?: number; turnTokens?: number } = {}) {
  const cli = await openCliEngine(modelDir, o.adapterDir);
  const tokenizer = await loadTokenizer(new DirFileSet(modelDir));
  const pTokens = o.prompt ? promptTokenCount(tokenizer, o.prompt) : 0;
  // Requests that quote P in their text (pseudo inputs, reasons) hold it once more, besides the answers.
  const slotLength = Math.min(cli.model.config.maxPositionEmbeddings, 2 * pTokens + (o.turnTokens ?? 1024));
  const generator = new Generator(cli.engine, { tokenizer, slots: o.slots ?? 16, slotLength });
  return { ...cli, tokenizer, generator, pTokens };
}

/** A progress line on stderr that rewrites itself on a terminal and prints plainly elsewhere. */
export function progress(line: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`);
  else process.stderr.write(`${line}\n`);
}
