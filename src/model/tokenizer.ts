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
const END_OF_TURN_TOKENS = ['<|im_end|>', '<|eot_id|>', '<|end_of_text|>', '<|endoftext|>', '<|eom_id|>'];

type Json = Record<string, unknown>;

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
  private readonly vocab: Map<string, number>;

  constructor(
    private readonly inner: PreTrainedTokenizer,
    /** Where the chat template came from, for error messages. */
    private readonly configName: string,
    generationEos: number[] = [],
  ) {
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
    if (!this.inner.chat_template) {
      throw new ModelError(this.configName, 'has no chat template; this model cannot be used for chat', 'chat_template');
    }
    let text: string;
    try {
      text = this.inner.apply_chat_template(
        messages.map((m) => ({ role: m.role, content: m.content })),
        { tokenize: false, add_generation_prompt: opts.addGenerationPrompt ?? false },
      ) as string;
    } catch (e) {
      throw new ModelError(this.configName, `the chat template failed: ${(e as Error).message}`, 'chat_template');
    }
    return { text, ids: this.encode(text, { addSpecialTokens: false }) };
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
export async function loadTokenizer(files: FileSet): Promise<Tokenizer> {
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
  const tokenizer = new Tokenizer(inner, configSrc.name, generationEos);
  await checkFitsModel(files, tokenizer, jsonSrc.name);
  return tokenizer;
}

/**
 * A tokenizer that can produce ids past the model's vocab_size (another model's tokenizer.json) would fail later,
 * on some input, with an id "outside the vocabulary" and no hint why; it is refused here, naming both files.
 */
async function checkFitsModel(files: FileSet, tokenizer: Tokenizer, tokenizerFile: string): Promise<void> {
  const src = await files.open('config.json');
  if (!src) return; // a tokenizer on its own (tests): nothing to fit
  const config = await readJson(src);
  const V = isObject(config) ? config.vocab_size : undefined;
  if (typeof V !== 'number' || tokenizer.vocabSize <= V) return;
  throw new ModelError(
    tokenizerFile,
    `has token ids up to ${tokenizer.vocabSize - 1}, but config.json's vocab_size is ${V}, so the model has no embedding for ` +
      `the last ${tokenizer.vocabSize - V}: the tokenizer and the weights come from different models`,
  );
}
