// The tokenizer as llama.cpp reads it from GGUF: every token's text and type by id, the BPE merges, the special ids,
// whether to add BOS/EOS, the chat template, and the name of the pre-tokenizer (llama.cpp does not read the split
// regex from the file; it knows a fixed list of them by name). Only byte-level BPE tokenizers whose pre-tokenizer
// is one llama.cpp names are written; any other is refused by name rather than exported to tokenize differently.
import type { ModelFiles } from '../model/open';
import { readJson, readText } from '../model/source';
import { gguf, type GgufValue } from './gguf-container';
import { GgufExportError } from './gguf-arch';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** llama.cpp's token types (llama_token_type). */
const TOKEN_TYPE = { normal: 1, control: 3, userDefined: 4, unused: 5 } as const;

/** transformers' GPT-2 ByteLevel split, and the patterns of the Split pre-tokenizers llama.cpp knows by name. */
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const SPLIT_PATTERNS: Record<string, string> = {
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": 'qwen2',
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": 'llama-bpe',
};

const describe = (v: unknown) => JSON.stringify(v).slice(0, 200);

/**
 * llama.cpp's name for a tokenizer.json pre_tokenizer: GPT-2's byte-level split alone ("gpt-2"), digits split one
 * by one before it (SmolLM's, "smollm"), or Qwen 2's or Llama 3's regex split before a byte-level mapping.
 */
export function preTokenizerName(pre: unknown): string {
  const byteLevel = (p: unknown, regex: boolean) => isObject(p) && p.type === 'ByteLevel' && (p.use_regex ?? true) === regex && !p.add_prefix_space;
  if (byteLevel(pre, true)) return 'gpt-2';
  if (isObject(pre) && pre.type === 'Sequence' && Array.isArray(pre.pretokenizers)) {
    const [first, second, ...rest] = pre.pretokenizers as unknown[];
    if (rest.length === 0 && isObject(first) && first.type === 'Digits' && first.individual_digits === true && byteLevel(second, true)) return 'smollm';
    const pattern = isObject(first) && first.type === 'Split' && isObject(first.pattern) ? first.pattern.Regex : undefined;
    const name = typeof pattern === 'string' ? SPLIT_PATTERNS[pattern] : undefined;
    if (rest.length === 0 && name && (first as Json).behavior === 'Isolated' && byteLevel(second, false)) return name;
  }
  if (isObject(pre) && pre.type === 'Split' && isObject(pre.pattern) && pre.pattern.Regex === GPT2_PATTERN) return 'gpt-2';
  throw new GgufExportError(`gguf: the tokenizer's pre-tokenizer ${describe(pre)} is not one llama.cpp knows by name (it knows GPT-2's byte-level split, SmolLM's, Qwen 2's and Llama 3's), so llama.cpp would split text differently; not exported`);
}

async function optionalJson(model: ModelFiles, name: string): Promise<Json | null> {
  const src = await model.files.open(name);
  const v = src ? await readJson(src) : null;
  return isObject(v) ? v : null;
}

/** A token in tokenizer_config.json is a string or an AddedToken object {content, ...}. */
const content = (v: unknown) => (typeof v === 'string' ? v : isObject(v) && typeof v.content === 'string' ? v.content : undefined);

/** The `tokenizer.*` keys for this model's tokenizer.json, tokenizer_config.json and chat template. */
export async function tokenizerMetadata(model: ModelFiles): Promise<[string, GgufValue][]> {
  const tok = await optionalJson(model, 'tokenizer.json');
  if (!tok) throw new GgufExportError(`gguf: ${model.files.name} has no tokenizer.json, which the GGUF tokenizer is made from`);
  const m = tok.model;
  if (!isObject(m) || m.type !== 'BPE' || !isObject(m.vocab)) {
    throw new GgufExportError(`gguf: the tokenizer is ${isObject(m) ? String(m.type) : 'unknown'}, not a byte-level BPE; only byte-level BPE tokenizers are exported to GGUF`);
  }
  // Qwen's NFC normalizer leaves the text llama.cpp sees alone (its converter drops it too); any other one rewrites it.
  const nfc = isObject(tok.normalizer) && tok.normalizer.type === 'NFC';
  if (m.byte_fallback === true || (tok.normalizer != null && !nfc)) {
    throw new GgufExportError('gguf: the tokenizer is a SentencePiece-style BPE (byte fallback or a normalizer, as Gemma\'s and Llama 2\'s), which this export does not write yet');
  }
  const pre = preTokenizerName(tok.pre_tokenizer);
  const cfg = model.config;

  const ids = new Map<number, { text: string; type: number }>();
  for (const [text, id] of Object.entries(m.vocab)) ids.set(id as number, { text, type: TOKEN_TYPE.normal });
  for (const t of Array.isArray(tok.added_tokens) ? tok.added_tokens : []) {
    if (!isObject(t) || typeof t.id !== 'number' || typeof t.content !== 'string') continue;
    ids.set(t.id, { text: t.content, type: t.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined });
  }
  const count = Math.max(cfg.vocabSize, [...ids.keys()].reduce((a, b) => Math.max(a, b + 1), 0));
  const tokens: string[] = [];
  const types: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = ids.get(i) ?? { text: `[PAD${i}]`, type: TOKEN_TYPE.unused };
    tokens.push(t.text);
    types.push(t.type);
  }
  const merges = (Array.isArray(m.merges) ? m.merges : []).map((x) => (Array.isArray(x) ? x.join(' ') : String(x)));

  const config = (await optionalJson(model, 'tokenizer_config.json')) ?? {};
  const idOf = (name: string) => {
    const text = content(config[name]);
    const i = text === undefined ? -1 : tokens.indexOf(text);
    return i >= 0 ? i : null;
  };
  const kv: [string, GgufValue][] = [
    ['tokenizer.ggml.model', gguf.str('gpt2')],
    ['tokenizer.ggml.pre', gguf.str(pre)],
    ['tokenizer.ggml.tokens', gguf.strs(tokens)],
    ['tokenizer.ggml.token_type', gguf.i32s(types)],
    ['tokenizer.ggml.merges', gguf.strs(merges)],
  ];
  const bos = idOf('bos_token') ?? cfg.bosTokenId;
  const eos = idOf('eos_token') ?? cfg.eosTokenIds[0] ?? null;
  for (const [key, id] of [['bos', bos], ['eos', eos], ['unknown', idOf('unk_token')], ['padding', idOf('pad_token')]] as const) {
    if (id !== null && id !== undefined) kv.push([`tokenizer.ggml.${key}_token_id`, gguf.u32(id)]);
  }
  kv.push(['tokenizer.ggml.add_bos_token', gguf.bool(config.add_bos_token === true)]);
  kv.push(['tokenizer.ggml.add_eos_token', gguf.bool(config.add_eos_token === true)]);
  const jinja = await model.files.open('chat_template.jinja');
  const template = jinja ? await readText(jinja) : config.chat_template;
  if (typeof template === 'string') kv.push(['tokenizer.chat_template', gguf.str(template)]);
  return kv;
}
