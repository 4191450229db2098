// Loads a model's tokenizer through our FileSet (local folder, dropped folder, hub cache), never through
// transformers.js's own downloading, and wraps it in the few calls the engine needs: encode, decode, chat, stops.
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { ModelError } from './errors';
import { openRequired, readJson, type FileSet } from './source';

export interface ChatMessage {
  role: string;
  content: string;
}

/** Tokens that end a turn in the model families we run; whichever exist are stop tokens, besides eos. */
const END_OF_TURN_TOKENS = ['<|im_end|>', '<|eot_id|>', '<|end_of_text|>', '<|endoftext|>', '<|eom_id|>', '<end_of_turn>'];

type Json = Record<string, unknown>;

/**
 * What Qwen3's template writes for a turn without thoughts. Thinking is off unless the user turns it on: the
 * generation prompt then ends with this block (the template's enable_thinking=false), so the model answers at
 * once, and every assistant turn of a rendered conversation opens with it too, though the template itself drops it
 * from turns before the last user message. So a conversation reads exactly as the model wrote it, turn by turn,
 * and synthesis, training, evaluation and chat, which all render through applyChatTemplate, see the same text.
 */
const EMPTY_THOUGHT = '<think>\n\n</think>\n\n';

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A token in tokenizer_config.json is a string or an AddedToken object {content, ...}. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return undefined;
}

export class Tokenizer {
  /** Ids of the end-of-sequence token(s): tokenizer_config's eos_token and generation_config's eos_token_id. */
  readonly eosTokenIds: number[];
  /** Every id that ends an assistant turn: the eos ids plus whichever known end-of-turn tokens exist. */
  readonly endOfTurnIds: number[];
  /** Number of ids the tokenizer can produce (highest id + 1, added tokens included). */
  readonly vocabSize: number;
  /** The template has a thinking mode (Qwen3's enable_thinking); with `thinking` off, turns carry EMPTY_THOUGHT. */
  readonly hasThinkingMode: boolean;
  private readonly vocab: Map<string, number>;
  private assistantHeader: string | undefined;
  private unaskedPrompt: string | undefined;

  constructor(
    private readonly inner: PreTrainedTokenizer,
    /** Where the chat template came from, for error messages. */
    private readonly configName: string,
    private readonly generationEos: number[] = [],
    /** Let a thinking model think before it answers (off by default: see EMPTY_THOUGHT). */
    readonly thinking = false,
  ) {
    this.hasThinkingMode = typeof inner.chat_template === 'string' && inner.chat_template.includes('enable_thinking');
    this.vocab = inner.get_vocab();
    let max = -1;
    for (const id of this.vocab.values()) if (id > max) max = id;
    this.vocabSize = max + 1;
    const eos = tokenContent((inner.config as Json).eos_token);
    const eosId = eos === undefined ? undefined : this.tokenToId(eos);
    this.eosTokenIds = [...new Set([...(eosId === undefined ? [] : [eosId]), ...generationEos])];
    const turnIds = END_OF_TURN_TOKENS.map((t) => this.tokenToId(t)).filter((id): id is number => id !== undefined);
    this.endOfTurnIds = [...new Set([...turnIds, ...this.eosTokenIds])];
  }

  /** Whether tokenizer_config.json has a chat template (a base model may have none). */
  get hasChatTemplate(): boolean {
    return typeof this.inner.chat_template === 'string' && this.inner.chat_template !== '';
  }

  /** The same tokenizer with thinking on or off: the app's setting changes it without reading the files again. */
  withThinking(on: boolean): Tokenizer {
    return on === this.thinking ? this : new Tokenizer(this.inner, this.configName, this.generationEos, on);
  }

  /** Ids of `text`; `addSpecialTokens` (default true, as in HF) adds what the post-processor adds, e.g. Llama 3's bos. */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.inner.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true });
  }

  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return ''; // transformers.js throws on an empty list
    return this.inner.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  /** The model's chat template rendered for `messages`, and its ids (no extra special tokens, as HF does). */
  applyChatTemplate(messages: readonly ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): { text: string; ids: number[] } {
    const addPrompt = opts.addGenerationPrompt ?? false;
    let text = this.render(messages, addPrompt);
    const unasked = addPrompt ? '' : this.promptWrittenUnasked();
    if (unasked && text.endsWith(unasked)) text = text.slice(0, -unasked.length);
    if (this.hasThinkingMode && !this.thinking) {
      // Every assistant header not already followed by a thought gets the empty one (see EMPTY_THOUGHT).
      const header = this.headerOfAssistant();
      text = text.split(header).map((part, i) => (i === 0 || part.startsWith('<think>') ? part : EMPTY_THOUGHT + part)).join(header);
    }
    return { text, ids: this.encode(text, { addSpecialTokens: false }) };
  }

  private render(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
    if (!this.inner.chat_template) {
      throw new ModelError(this.configName, 'has no chat template; this model cannot be used for chat', 'chat_template');
    }
    try {
      return this.inner.apply_chat_template(
        messages.map((m) => ({ role: m.role, content: m.content })),
        { tokenize: false, add_generation_prompt: addGenerationPrompt, ...(this.hasThinkingMode ? { enable_thinking: this.thinking } : {}) },
      ) as string;
    } catch (e) {
      throw new ModelError(this.configName, `the chat template failed: ${(e as Error).message}`, 'chat_template');
    }
  }

  /**
   * The generation prompt a template writes even when not asked ('' for templates that honour the flag). The first
   * Llama 3 Instruct template ends every conversation with the assistant header; without this, a conversation
   * that ends in an assistant turn would not be a prefix of a longer one, and no turn boundary could be found.
   */
  private promptWrittenUnasked(): string {
    if (this.unaskedPrompt === undefined) {
      const turn = [{ role: 'user', content: 'x' }];
      const without = this.render(turn, false);
      let prompt = '';
      if (without === this.render(turn, true)) {
        // After an assistant turn come its end-of-turn token and then the prompt the template always adds.
        const mark = 'GENPI_TURN_MARK';
        const two = this.render([...turn, { role: 'assistant', content: mark }], false);
        const after = two.slice(two.indexOf(mark) + mark.length);
        let cut = -1;
        for (const t of END_OF_TURN_TOKENS) if (after.lastIndexOf(t) >= 0) cut = Math.max(cut, after.lastIndexOf(t) + t.length);
        const tail = cut >= 0 ? after.slice(cut) : '';
        if (tail.trim() && without.endsWith(tail)) prompt = tail;
      }
      this.unaskedPrompt = prompt;
    }
    return this.unaskedPrompt;
  }

  /** What the template's generation prompt writes before the empty thought ("<|im_start|>assistant\n" for Qwen3). */
  private headerOfAssistant(): string {
    if (this.assistantHeader === undefined) {
      const turn = [{ role: 'user', content: 'x' }];
      const prompt = this.render(turn, true).slice(this.render(turn, false).length);
      if (!prompt.endsWith(EMPTY_THOUGHT) || prompt.length === EMPTY_THOUGHT.length) {
        throw new ModelError(this.configName, `has a thinking mode whose generation prompt does not end with an empty thought block (${JSON.stringify(prompt)}); thinking cannot be turned off for it`, 'chat_template');
      }
      this.assistantHeader = prompt.slice(0, -EMPTY_THOUGHT.length);
    }
    return this.assistantHeader;
  }

  /** Every id at or past `first` in the vocabulary (added tokens included). */
  idsFrom(first: number): number[] {
    return [...this.vocab.values()].filter((id) => id >= first);
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }
}

async function readEosFromGenerationConfig(files: FileSet): Promise<number[]> {
  const src = await files.open('generation_config.json');
  if (!src) return [];
  const gen = await readJson(src);
  const eos = isObject(gen) ? gen.eos_token_id : undefined;
  const list = Array.isArray(eos) ? eos : eos === undefined || eos === null ? [] : [eos];
  if (!list.every((x) => Number.isInteger(x))) {
    throw new ModelError(src.name, 'must be an integer or a list of integers', 'eos_token_id');
  }
  return list as number[];
}

/**
 * Reads tokenizer.json and tokenizer_config.json (both required) and builds the tokenizer class that
 * transformers.js's AutoTokenizer would pick; transformers.js itself is imported only on first use.
 */
export async function loadTokenizer(files: FileSet, opts: { thinking?: boolean } = {}): Promise<Tokenizer> {
  const jsonSrc = await openRequired(files, 'tokenizer.json');
  const configSrc = await openRequired(files, 'tokenizer_config.json');
  const [tokenizerJson, config, generationEos] = await Promise.all([
    readJson(jsonSrc),
    readJson(configSrc),
    readEosFromGenerationConfig(files),
  ]);
  if (!isObject(tokenizerJson)) throw new ModelError(jsonSrc.name, 'must be a JSON object');
  if (!isObject(config)) throw new ModelError(configSrc.name, 'must be a JSON object');

  const tf = await import('@huggingface/transformers');
  // As AutoTokenizer: "LlamaTokenizerFast" -> LlamaTokenizer, unknown names -> the base class.
  const className = typeof config.tokenizer_class === 'string' ? config.tokenizer_class.replace(/Fast$/, '') : '';
  const candidate = (tf as unknown as Record<string, unknown>)[className];
  const Base = tf.PreTrainedTokenizer;
  const Cls =
    typeof candidate === 'function' && (candidate === Base || candidate.prototype instanceof Base)
      ? (candidate as typeof Base)
      : Base;
  let inner: PreTrainedTokenizer;
  try {
    inner = new Cls(tokenizerJson, config);
  } catch (e) {
    throw new ModelError(jsonSrc.name, `transformers.js cannot build this tokenizer: ${(e as Error).message}`);
  }
  const tokenizer = new Tokenizer(inner, configSrc.name, generationEos, opts.thinking ?? false);
  await checkFitsModel(files, tokenizer, jsonSrc.name, tokenizerJson.added_tokens);
  return tokenizer;
}

/**
 * A tokenizer that can produce ids past the model's vocab_size (another model's tokenizer.json) would fail later,
 * on some input, with an id "outside the vocabulary" and no hint why; it is refused here, naming both files.
 * Special added tokens past it are let through: Gemma 3's text models (vocab_size 262,144) ship the family's
 * tokenizer, whose <image_soft_token> is id 262,144; no template writes it, and text that spells it out is refused by
 * the engine's id check, naming the token's position.
 */
async function checkFitsModel(files: FileSet, tokenizer: Tokenizer, tokenizerFile: string, addedTokens: unknown): Promise<void> {
  const src = await files.open('config.json');
  if (!src) return; // a tokenizer on its own (tests): nothing to fit
  const config = await readJson(src);
  const V = isObject(config) ? config.vocab_size : undefined;
  if (typeof V !== 'number' || tokenizer.vocabSize <= V) return;
  const specialIds = new Set((Array.isArray(addedTokens) ? addedTokens : []).filter((t) => isObject(t) && t.special === true).map((t) => (t as Json).id));
  const pastV = [...new Set(tokenizer.idsFrom(V))];
  if (pastV.every((id) => specialIds.has(id))) return;
  throw new ModelError(
    tokenizerFile,
    `has token ids up to ${tokenizer.vocabSize - 1}, but config.json's vocab_size is ${V}, so the model has no embedding for ` +
      `the last ${tokenizer.vocabSize - V}: the tokenizer and the weights come from different models`,
  );
}
