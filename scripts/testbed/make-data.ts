// Writes the testbed model's folder without its weights (config, tokenizer with a vocabulary learned from the
// testbed's own text, chat template) and the token sequences scripts/testbed/train_testbed.py trains it on. Run once
// by a developer (the weights are committed; tests never retrain): `npx tsx scripts/testbed/make-data.ts`.
// The conversations use the same chat template the engine renders, through the same tokenizer code, so the model
// is trained on exactly the token layout synthesis, training and evaluation will show it.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applyRule, CLOSERS, HARD_RULES, PERSONAS, RULE_PHRASINGS, TESTBED_RULES, TESTBED_WORDS, type TestbedRule } from '../../src/genpi/testbed';
import { DirFileSet } from '../../src/model/source-node';
import { makeTinyModel } from '../../src/model/tiny/make';
import { Rng } from '../../src/util/rng';
import { loadTokenizer, type ChatMessage } from '../../src/model/tokenizer';

export const MODEL_DIR = 'public/demo-model';
const DATA_FILE = 'build/testbed/train.json';
const SAMPLES = Number(process.env.TESTBED_SAMPLES ?? 60000);

/**
 * The committed weights come from four stages (see train_testbed.py's header for the commands and what each
 * changed): stage 1 trained the four word-transforming rules from scratch; stage 2 went on from those weights with
 * `first` and `last` added; stage 4 with more phrasings, stage 5 with every sentence frame joined to every rule's key
 * phrases (src/genpi/testbed.ts). Stage 3 was tried and not kept.
 */
const STAGES: Record<string, TestbedRule[]> = {
  '1': ['upper', 'reverse', 'count', 'double'],
  '2': ['upper', 'reverse', 'count', 'double', 'first', 'last'],
  '3': ['upper', 'reverse', 'count', 'double', 'first', 'last'],
  '4': ['upper', 'reverse', 'count', 'double', 'first', 'last'],
  '5': ['upper', 'reverse', 'count', 'double', 'first', 'last'],
};
const STAGE = process.env.TESTBED_STAGE ?? '2';
const ALL_RULES: TestbedRule[] = STAGES[STAGE];
// Stage 3 draws the rules still under 90% (count, double) three times as often, keeping the others in the mix so
// continued training does not forget them.
// Stage 4 (with the phrasings added in other sentence frames) draws upper, count and double more; stage 5 (every
// frame with every key phrase) first, upper and double.
const DRAWS: Record<string, TestbedRule[]> = {
  '3': [...ALL_RULES, 'count', 'count', 'double', 'double'],
  '4': [...ALL_RULES, 'upper', 'count', 'double', 'double'],
  '5': [...ALL_RULES, 'first', 'upper', 'double'],
};
const DRAW: TestbedRule[] = DRAWS[STAGE] ?? ALL_RULES;
if (!ALL_RULES || ![...TESTBED_RULES, ...HARD_RULES].every((r) => STAGES['2'].includes(r))) throw new Error(`TESTBED_STAGE must be 1 to 5`);
const rng = new Rng({ '1': 20261130, '2': 7, '3': 11, '4': 13, '5': 17 }[STAGE] ?? 0);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)];
const chance = (p: number) => rng.next() < p;
const int = (lo: number, hi: number) => lo + Math.floor(rng.next() * (hi - lo + 1));

function message(): string {
  return Array.from({ length: int(2, 6) }, () => pick(TESTBED_WORDS)).join(' ');
}

/** A sentence-like message for plain repetition, so the model also repeats text it was not built around. */
function longMessage(): string {
  const sentences = [...PERSONAS.train, ...CLOSERS.train, ...ALL_RULES.flatMap((r) => RULE_PHRASINGS[r].train)];
  return chance(0.5) ? pick(sentences) : Array.from({ length: int(7, 16) }, () => pick(TESTBED_WORDS)).join(' ');
}

function systemText(rule: TestbedRule | null): string {
  const parts: string[] = [];
  if (chance(0.5)) parts.push(pick(PERSONAS.train));
  if (rule) parts.push(pick(RULE_PHRASINGS[rule].train));
  if (chance(0.4) || !parts.length) parts.push(pick(CLOSERS.train));
  return parts.join(' ');
}

/** One training conversation: a rule's system prompt with 0–2 example turns, a plain system prompt, or none. */
function conversation(): ChatMessage[] {
  const kind = rng.next();
  const rule: TestbedRule | null = kind < 0.6 ? pick(DRAW) : null;
  const msgs: ChatMessage[] = [];
  if (rule || kind < 0.78) msgs.push({ role: 'system', content: systemText(rule) });
  const answer = (x: string) => applyRule(rule ?? 'echo', x);
  const turns = rule ? int(0, 2) + 1 + (chance(0.2) ? 1 : 0) : chance(0.2) ? 2 : 1;
  for (let t = 0; t < turns; t++) {
    const x = !rule && chance(0.35) ? longMessage() : message();
    msgs.push({ role: 'user', content: x }, { role: 'assistant', content: answer(x) });
  }
  return msgs;
}

function corpus(): string {
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) {
    const x = message();
    lines.push(x, ' ' + x, x.toUpperCase(), ' ' + x.toUpperCase());
  }
  for (const s of [...PERSONAS.train, ...CLOSERS.train, ...ALL_RULES.flatMap((r) => RULE_PHRASINGS[r].train)]) {
    for (let i = 0; i < 6; i++) lines.push(s);
  }
  for (let n = 0; n < 30; n++) lines.push('1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16');
  return lines.join('\n');
}

async function main() {
  // Stage 2 keeps the folder's vocabulary, so training continues from stage 1's weights (train_testbed.py with
  // TESTBED_RESUME=1) with rules added; their new words split into smaller tokens.
  if (STAGE === '1') {
    const files = makeTinyModel({
      arch: 'llama', hiddenSize: 96, intermediateSize: 256, numLayers: 4, numHeads: 3, numKvHeads: 3, headDim: 32,
      numMerges: 640, corpus: corpus(), maxPositionEmbeddings: 2048, dtype: 'f16',
    });
    await mkdir(MODEL_DIR, { recursive: true });
    for (const [name, bytes] of files) if (name !== 'model.safetensors') await writeFile(join(MODEL_DIR, name), bytes);
  }
  const tok = await loadTokenizer(new DirFileSet(MODEL_DIR));
  const single = TESTBED_WORDS.flatMap((w) => [w, ' ' + w, w.toUpperCase(), ' ' + w.toUpperCase()]);
  const split = single.filter((w) => tok.encode(w, { addSpecialTokens: false }).length !== 1);
  if (split.length) console.error(`words that are not one token: ${split.join('|')}`);
  const seqs: number[][] = [];
  for (let i = 0; i < SAMPLES; i++) seqs.push(tok.applyChatTemplate(conversation()).ids);
  // What the trainer checks as it goes: greedy answers with held-out phrasings (teacher) and with no P (base).
  const evals: { name: string; ctx: number[]; want: number[] }[] = [];
  const end = tok.eosTokenIds[0];
  for (const rule of [...ALL_RULES, 'echo' as const]) {
    for (let i = 0; i < 24; i++) {
      const x = message();
      const system = rule === 'echo' ? [] : [{ role: 'system', content: `${PERSONAS.heldout[0]} ${RULE_PHRASINGS[rule].heldout[i % 2]} ${CLOSERS.heldout[0]}` }];
      const ctx = tok.applyChatTemplate([...system, { role: 'user', content: x }], { addGenerationPrompt: true }).ids;
      evals.push({ name: rule, ctx, want: [...tok.encode(applyRule(rule, x), { addSpecialTokens: false }), end] });
    }
  }
  await mkdir('build/testbed', { recursive: true });
  await writeFile(DATA_FILE, JSON.stringify({ vocab_size: tok.vocabSize, pad_id: end, assistant_prefix: tok.encode('<|im_start|>assistant\n', { addSpecialTokens: false }), seqs, evals }));
  const lens = seqs.map((s) => s.length);
  console.log(`vocab ${tok.vocabSize}, ${seqs.length} sequences, mean ${(lens.reduce((a, b) => a + b, 0) / lens.length).toFixed(1)} tokens, max ${Math.max(...lens)}`);
  console.log(tok.applyChatTemplate(conversation()).text);
}

await main();
