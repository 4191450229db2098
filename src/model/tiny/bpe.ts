// Builds a small byte-level BPE tokenizer.json (GPT-2/SmolLM2 style) for tiny models: every byte is a token, so
// any text round-trips, and merges learned from a fixed corpus make common words shorter than their bytes.

/** Special tokens at ids 0, 1, 2, as in SmolLM2. */
export const SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

/** The same pre-tokenizer pattern the `ByteLevel` pre-tokenizer uses, so learned merges fit what it splits. */
const PRE_TOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

// Our own text (English prose and code with newlines, tabs and indentation), written for this file.
const CORPUS = `The small model reads the text one token at a time. Each token is a piece of a word, and the most common
pieces are whole words: the, and, of, to, in, is, that, for, it, with, as, on, was, this. When the model has
read the prompt, it writes the answer one token after another, and it stops when it writes the end of the turn.
A tokenizer that knows only bytes can still write every string, but the strings are long; merging the pairs that
appear most often makes the common words short and keeps the rare words possible.

We train the adapter on the answers that the teacher gives when it can see the long prompt, and the student
learns to give the same answers without it. The training loop reads a batch, computes the loss, takes the
gradient, clips it, and updates the weights. Then it reads the next batch, and the loss goes down over time.
The learning rate starts small, rises during the warmup, and then decays towards the end of the training run.

function train(model, batches, steps) {
\tfor (let step = 0; step < steps; step++) {
\t\tconst batch = batches.next();
\t\tconst loss = model.forward(batch);
\t\tmodel.backward(loss);
\t\tif (step % 10 === 0) console.log(\`step \${step} loss \${loss.toFixed(3)}\`);
\t}
\treturn model;
}

def tokenize(text: str) -> list[int]:
    ids = []
    for word in text.split():
        ids.extend(vocab[word] if word in vocab else bytes_of(word))
    return ids

const config = { hidden_size: 64, num_heads: 4, num_layers: 2, vocab_size: 387 };
export async function load(files) {
  const text = await files.read("config.json");
  return JSON.parse(text);
}

The user asks a question, the assistant answers it, and the system message tells the assistant who it is.
The answer should be short, correct and kind. If the question is not clear, the assistant asks what the user
means. In the end, the model that was trained on these answers should behave the same as the model that read
the whole prompt, while the prompt itself is no longer needed at the start of every conversation.
`;

/** GPT-2's byte -> printable character table: printable Latin-1 bytes map to themselves, the rest to U+0100+. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const table: string[] = new Array(256);
  for (const b of bs) table[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (table[b] === undefined) table[b] = String.fromCharCode(256 + n++);
  return table;
}

/** The byte order of GPT-2's base vocabulary: the printable bytes first, then the rest (its ids 0..255). */
function byteOrder(): number[] {
  const order: number[] = [];
  for (let b = 0; b < 256; b++) if (b >= 0x21 && b <= 0x7e) order.push(b);
  for (let b = 0; b < 256; b++) if ((b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)) order.push(b);
  for (let b = 0; b < 256; b++) if (!order.includes(b)) order.push(b);
  return order;
}

/** A tokenizer.json as the Rust `tokenizers` library writes it (only the parts a byte-level BPE uses). */
export interface TokenizerJson {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: {
    id: number;
    content: string;
    single_word: boolean;
    lstrip: boolean;
    rstrip: boolean;
    normalized: boolean;
    special: boolean;
  }[];
  normalizer: null;
  pre_tokenizer: Record<string, unknown>;
  post_processor: Record<string, unknown>;
  decoder: Record<string, unknown>;
  model: {
    type: 'BPE';
    vocab: Record<string, number>;
    /** Pair arrays, the form `tokenizers` >= 0.20 writes; transformers.js also reads the older "a b" strings. */
    merges: [string, string][];
    [key: string]: unknown;
  };
}

/** Learns up to `numMerges` merges from the corpus: the most frequent adjacent pair each round, ties by string order. */
function learnMerges(numMerges: number, corpus: string): [string, string][] {
  const table = bytesToUnicode();
  const enc = new TextEncoder();
  const counts = new Map<string, number>();
  for (const piece of corpus.match(PRE_TOKENIZE) ?? []) {
    const mapped = Array.from(enc.encode(piece), (b) => table[b]).join('');
    counts.set(mapped, (counts.get(mapped) ?? 0) + 1);
  }
  // Sorted so the result does not depend on Map insertion order details.
  const words = [...counts.keys()].sort().map((w) => ({ symbols: Array.from(w), count: counts.get(w)! }));
  const merges: [string, string][] = [];
  while (merges.length < numMerges) {
    const pairs = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]}\u0000${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + count);
      }
    }
    let best = '';
    let bestCount = 1; // a pair seen once is not worth a token
    for (const [key, c] of pairs) {
      if (c > bestCount || (c === bestCount && best !== '' && key < best)) {
        best = key;
        bestCount = c;
      }
    }
    if (best === '') break;
    const [a, b] = best.split('\u0000') as [string, string];
    merges.push([a, b]);
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (i + 1 < w.symbols.length && w.symbols[i] === a && w.symbols[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(w.symbols[i]);
      }
      w.symbols = out;
    }
  }
  return merges;
}

const cache = new Map<number, TokenizerJson>();

/**
 * The tokenizer.json object: specials at 0..2, the 256 byte tokens in GPT-2's order, then one token per merge.
 * Deterministic; a fresh deep copy each call so callers may edit it. `corpus` replaces our default text, for a
 * model trained on text of its own (the testbed), whose words should be single tokens.
 */
export function buildBpeTokenizer(numMerges = 128, corpus?: string): TokenizerJson {
  if (corpus !== undefined) return build(numMerges, corpus);
  let tok = cache.get(numMerges);
  if (!tok) {
    tok = build(numMerges, CORPUS);
    cache.set(numMerges, tok);
  }
  return structuredClone(tok);
}

function build(numMerges: number, corpus: string): TokenizerJson {
  const vocab: Record<string, number> = {};
  let next = 0;
  const add = (t: string) => {
    if (!Object.hasOwn(vocab, t)) vocab[t] = next++;
  };
  SPECIAL_TOKENS.forEach(add);
  const table = bytesToUnicode();
  for (const b of byteOrder()) add(table[b]);
  const merges = learnMerges(numMerges, corpus);
  for (const [a, b] of merges) add(a + b);
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
    post_processor: { type: 'ByteLevel', ...byteLevel, trim_offsets: false },
    decoder: { type: 'ByteLevel', ...byteLevel },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}
