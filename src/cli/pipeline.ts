// What the pipeline commands share: the model on the GPU with its tokenizer and a generator, and the prompt file.
import { parsePrompt, PromptError, promptTokenCount, type ParsedPrompt } from '../genpi/prompt';
import { Generator } from '../llama/generator';
import { ModelError } from '../model/errors';
import { readTextFile } from '../model/source-node';
import type { Tokenizer } from '../model/tokenizer';
import { openCliEngine } from './engine';
import { adapterThinking, loadCliTokenizer } from './thinking';

/**
 * A prompt file, for every command that takes one: decoded as every text file is (readTextFile: UTF-8 with or
 * without a BOM, UTF-16 with one, binary refused), then read by parsePrompt, as the app reads a pasted prompt.
 */
export async function readPrompt(file: string): Promise<ParsedPrompt> {
  const text = await readTextFile(file);
  try {
    return parsePrompt(text);
  } catch (e) {
    if (e instanceof PromptError) throw new ModelError(file, e.message);
    throw e;
  }
}

/**
 * The model, its tokenizer and a generator whose cache slots hold P plus `turnTokens` of conversation, or the
 * `slotTokens` a job measures with the tokenizer (KV memory grows with slots x slot length x layers, so slots are
 * sized to the job rather than to the model's context). `thinking` is the thinkingFlag of `command` (see thinking.ts).
 */
export async function openPipeline(modelDir: string, o: { adapterDir?: string; prompt?: ParsedPrompt; slots?: number; turnTokens?: number;
  slotTokens?: (tokenizer: Tokenizer) => number; command?: string; thinking?: boolean } = {}) {
  const cli = await openCliEngine(modelDir, o.adapterDir);
  const tokenizer = await loadCliTokenizer(o.command ?? 'genpi', modelDir, o.thinking, o.adapterDir ? await adapterThinking(o.adapterDir) : null);
  const pTokens = o.prompt ? promptTokenCount(tokenizer, o.prompt) : 0;
  // Requests that quote P in their text (pseudo inputs, reasons) hold it once more, besides the answers.
  const slotLength = Math.min(cli.model.config.maxPositionEmbeddings, o.slotTokens ? o.slotTokens(tokenizer) : 2 * pTokens + (o.turnTokens ?? 1024));
  const generator = new Generator(cli.engine, { tokenizer, slots: o.slots ?? 16, slotLength });
  return { ...cli, tokenizer, generator, pTokens };
}

/** A progress line on stderr that rewrites itself on a terminal and prints plainly elsewhere. */
export function progress(line: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`);
  else process.stderr.write(`${line}\n`);
}
