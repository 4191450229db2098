// genpi generate: text in, streamed text out (the prompt file as system text and example turns, prefilled once as
// a cached prefix), or raw token ids in; --json ends with {"tokens": [prompt and generated ids], "text"}.
import { promptTokenIds } from '../genpi/prompt';
import { Generator } from '../llama/generator';
import { floatFlag, intFlag, parseFlags, required } from './args';
import { openCliEngine } from './engine';
import { UsageError } from './fail';
import { parseTokens } from './logits';
import { readPrompt } from './pipeline';
import { adapterThinking, loadCliTokenizer, THINKING_FLAG, thinkingFlag } from './thinking';

export async function generate(argv: string[]): Promise<void> {
  const v = parseFlags('generate', argv, {
    model: { type: 'string' }, adapter: { type: 'string' }, prompt: { type: 'string' }, input: { type: 'string' },
    tokens: { type: 'string' }, 'max-new-tokens': { type: 'string' }, temperature: { type: 'string' },
    'top-p': { type: 'string' }, 'top-k': { type: 'string' }, 'min-p': { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' },
    ...THINKING_FLAG,
  });
  const modelDir = required('generate', v, 'model');
  if ((v.input === undefined) === (v.tokens === undefined)) throw new UsageError('generate: give exactly one of --input TEXT or --tokens 1,2,3');
  const maxNew = intFlag('generate', v, 'max-new-tokens', 256, 1);
  const temperature = floatFlag('generate', v, 'temperature', 0, 0, 100);
  const topP = floatFlag('generate', v, 'top-p', 1, 0, 1);
  const topK = intFlag('generate', v, 'top-k', 0, 0);
  const minP = floatFlag('generate', v, 'min-p', 0, 0, 1);
  const seed = intFlag('generate', v, 'seed', 0, 0);
  const thinking = thinkingFlag('generate', v);
  // Before the model is read: a typo in the ids is the user's to fix, whatever the model.
  const tokenIds = v.tokens !== undefined ? parseTokens('generate', v.tokens as string) : null;
  // The prompt file as every command reads it: system text and example turns.
  const messages = v.prompt ? (await readPrompt(v.prompt as string)).messages : [];
  const { model, engine, adapter } = await openCliEngine(modelDir, v.adapter as string | undefined);
  const adapterDir = v.adapter as string | undefined;
  const tokenizer = await loadCliTokenizer('generate', modelDir, thinking, adapterDir ? await adapterThinking(adapterDir) : null);

  let prefix: number[] = [];
  let prompt: number[];
  if (tokenIds) {
    prompt = tokenIds;
  } else {
    const full = tokenizer.applyChatTemplate([...messages, { role: 'user', content: v.input as string }], { addGenerationPrompt: true }).ids;
    const pre = promptTokenIds(tokenizer, { messages });
    // P's tokens are a cacheable prefix only if the full conversation really starts with them.
    const isPrefix = pre.length > 0 && pre.length < full.length && pre.every((t, i) => full[i] === t);
    prefix = isPrefix ? pre : [];
    prompt = full.slice(prefix.length);
  }
  const context = model.config.maxPositionEmbeddings;
  const generator = new Generator(engine, { tokenizer, slots: 1, prefixSlots: 1, slotLength: Math.min(context, Math.max(prefix.length, prompt.length + maxNew)) });
  if (adapter) generator.addAdapter('adapter', adapter);
  const ctl = new AbortController();
  process.once('SIGINT', () => ctl.abort());
  const [r] = await generator.generate([{
    prompt, prefix, adapter: adapter ? 'adapter' : null, maxNewTokens: maxNew, temperature, topK, topP, minP, seed, signal: ctl.signal,
    onToken: v.json ? undefined : (_t, text) => process.stdout.write(text),
  }]);
  if (v.json) process.stdout.write(`${JSON.stringify({ tokens: [...prefix, ...prompt, ...r.tokens], text: r.text, prompt_tokens: prefix.length + prompt.length, finish_reason: r.finishReason })}\n`);
  else process.stdout.write('\n');
  process.stderr.write(`${r.tokens.length} tokens, stopped: ${r.finishReason}\n`);
  generator.destroy();
}
