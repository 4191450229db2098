// Writes the compound testbed's folder without its weights (the demo model's config and tokenizer, so training
// starts from its weights, and the marker) and the token sequences scripts/testbed/train_testbed.py trains it on:
// compound system prompts (src/genpi/compound-testbed.ts) from the training split, rendered through parsePrompt and
// the chat template exactly as the app renders them, over conversations of one to three turns. Run once by a
// developer (the weights are committed; tests never retrain). The committed weights (public/compound-model) came
// from, on 2 shared cores (load 20-27 from other jobs, so the trainer got 20-35% of one core):
//
//   npx tsx scripts/testbed/make-compound-data.ts        # 16,000 records, P of 1-3 rules, 25% at 150-600 tokens,
//                                                        # 8% at 600-1,800; also writes the folder and the marker
//   TESTBED_MODEL_DIR=public/compound-model TESTBED_DATA=build/compound/train.json TESTBED_RESUME=public/demo-model \
//     TESTBED_OUT=build/compound/v1 TESTBED_STEPS=1500 TESTBED_LR=2e-3 TESTBED_ANSWER_WEIGHT=3 \
//     TESTBED_SYSTEM_WEIGHT=0.1 TESTBED_BATCH_TOKENS=2048 TESTBED_BATCH=2 TESTBED_THREADS=1 \
//     TESTBED_EVAL_EVERY=100000 python3 scripts/testbed/train_testbed.py
//   TESTBED_SAMPLES=6000 TESTBED_CONDITIONS=2 TESTBED_MID=0.3 TESTBED_LONG=0.03 TESTBED_SEED=23 \
//     TESTBED_DATA=build/compound/train2.json npx tsx scripts/testbed/make-compound-data.ts
//   (the same trainer, TESTBED_DATA=build/compound/train2.json TESTBED_RESUME=<v1 at step 500>
//     TESTBED_OUT=build/compound/v2 TESTBED_STEPS=700 TESTBED_LR=1.5e-3 TESTBED_SEED=2)
//
// Measuring a folder's weights on held-out P (TESTBED_EVAL_TOKENS=300 or 1500; TESTBED_SAMPLES=0 writes evals only):
//   TESTBED_SAMPLES=0 TESTBED_DATA=build/compound/eval300s.json npx tsx scripts/testbed/make-compound-data.ts
//   TESTBED_STEPS=0 TESTBED_MODEL_DIR=public/compound-model TESTBED_DATA=build/compound/eval300s.json \
//     TESTBED_RESUME=public/compound-model python3 scripts/testbed/train_testbed.py
//
// v1 (above, 1,250 of 1,500 steps, 72 minutes) did NOT follow the branches: the model learned the answer shapes (the
// prefix "OK:", a count, a first word) and whether P states rules, not which rule a message's condition selects.
// Even on P from the training split (phrasings and rule pairs it had seen), a later checkpoint answered the right
// branch about as often as picking one of P's actions at random, so the gap was the binding, not generalization.
// The committed weights continue v1 on a smaller problem (2 conditions per P, conversations that show several of
// one P's branches), with the users' random words (about 3.7 nats each, most of every sequence) weighed 0.15:
//   TESTBED_SAMPLES=12000 TESTBED_CONDITIONS=2 TESTBED_MID=0.1 TESTBED_LONG=0 TESTBED_TURNS_MIN=2 TESTBED_TURNS_MAX=4 \
//     TESTBED_SEED=41 TESTBED_DATA=build/compound/train4.json npx tsx scripts/testbed/make-compound-data.ts
//   (the trainer as for v1 with TESTBED_DATA=build/compound/train4.json TESTBED_RESUME=<v1 + 1,000 steps of train3>
//     TESTBED_OUT=build/compound/v4 TESTBED_STEPS=3000 TESTBED_SYSTEM_WEIGHT=0.05 TESTBED_USER_WEIGHT=0.15
//     TESTBED_EVAL_EVERY=300; about 70 minutes at 30-100% of one core)
//   TESTBED_SAMPLES=14000 TESTBED_CONDITIONS=2 TESTBED_MID=0.3 TESTBED_LONG=0 TESTBED_TURNS_MIN=1 TESTBED_TURNS_MAX=4 \
//     TESTBED_SEED=51 TESTBED_DATA=build/compound/train5.json npx tsx scripts/testbed/make-compound-data.ts
//   (the same, TESTBED_DATA=build/compound/train5.json TESTBED_RESUME=build/compound/v4 TESTBED_OUT=build/compound/v5
//     TESTBED_STEPS=4000 TESTBED_LR=1.5e-3 TESTBED_SEED=5; about 55 minutes)
// (train3: TESTBED_SAMPLES=10000 TESTBED_CONDITIONS=2 TESTBED_MID=0.1 TESTBED_LONG=0 TESTBED_TURNS_MIN=2, seed 31;
// its 1,000 steps with every token weighed 1 moved nothing.) The trainer's check, greedy, held-out P of about 300
// tokens (6 P, each with a held-out rule pair: 4 inputs per condition cell, 6 for 'other'), turns 1 / 2 / 3:
//   weights          please          question        digit           other           base repeats
//   v1 step 1,000    .50 .00 .00     .00 .00 .00     .00 .25 .00     .17 .17 .33     .88
//   v4 step 3,000    .50 .25 .50     .75 .75 .75     .25 .25 .50     .83 .67 .83     1.00
//   v5 step 4,000    .75 .75 .75     1.0 .75 .75     .50 .50 .50     .67 .83 .67     1.00
// The same check on 24 held-out P (TESTBED_EVAL_PROMPTS=24: 16 inputs per condition cell, 24 for the rest) is less
// noisy: v5 .69 .63 .75 / .94 .88 .88 / .56 .63 .56 / .88 .92 .79 (please / question / digit / other, turns 1-3). On
// 12 P from the training split (build/compound/evaltrain.json) v5 is right on all 36: its misses are held-out
// phrasings in long P, gathered on a few sentences (digit: 7 of 27 under "Whenever a digit appears in the message",
// 21 of 21 under "Messages holding a number").
// Tried and not kept (v6, v7): every sentence frame joined with every condition's key phrase in the training split
// (CONDITION_FRAMES in compound-testbed.ts, as the single-rule model's stage 5 did for actions), then
//   TESTBED_SAMPLES=16000 TESTBED_CONDITIONS=2 TESTBED_MID=0.3 TESTBED_LONG=0.04 TESTBED_TURNS_MIN=1 TESTBED_TURNS_MAX=3 \
//     TESTBED_SEED=61 TESTBED_EVAL_PROMPTS=24 TESTBED_DATA=build/compound/train6.json npx tsx scripts/testbed/make-compound-data.ts
//   (the trainer from v5, 500 steps of a 4,000-step schedule at 1.5e-3, TESTBED_SEED=6, then 1,500 at 1e-3 from
//   there, TESTBED_SEED=7, TESTBED_THREADS=2: about 40 minutes)
// v7 learned the held-out please phrasings (1.0 1.0 1.0) and lost about as much elsewhere: .81 .88 .81 / .50 .56 .44 /
// .71 .67 .79 (question / digit / other), the same mean as v5. v7 was committed: it was trained on the phrasings the
// code now lists, and on the compound demo preset's P (greedy, 16 fresh inputs per branch and
// turn) it answers all 144 as P says, where v5 got please right 62%, 94% and 81% (turns 1-3).
// v8, v9 (v9 is the committed model; v7's weights are in git at 398f86e): v7's misses gathered on held-out heads
// whose frames and verbs it never read. Over all turns of the check below, v7 answered 4 of 27 digit inputs under
// "Whenever a digit appears in the message" (with the rest's rule), 13 of 33 of the rest's under "For all remaining
// messages" (with another branch's) and 13 of 18 "?" inputs under "Messages closing with a question mark".
// TESTBED_FREE_FRAMES rewrites that share of P's condition heads as sentences composed from pools (below) that pair
// each key noun with many openers, subjects and verbs, and the rest's head with many adjectives and no key:
//   TESTBED_SAMPLES=16000 TESTBED_CONDITIONS=2 TESTBED_MID=0.3 TESTBED_LONG=0.04 TESTBED_TURNS_MIN=1 TESTBED_TURNS_MAX=3 \
//     TESTBED_SEED=81 TESTBED_FREE_FRAMES=0.5 TESTBED_EVAL_PROMPTS=24 TESTBED_DATA=build/compound/train8.json npx tsx ...
//   (the trainer as for v4 from v7: TESTBED_RESUME=public/compound-model TESTBED_OUT=build/compound/v8
//     TESTBED_STEPS=3000 TESTBED_LR=1e-3 TESTBED_SEED=8 TESTBED_THREADS=2; 22 minutes on 2 idle cores)
//   v9: the same with TESTBED_SEED=91 TESTBED_LONG=0.06 TESTBED_FREE_FRAMES=0.6 (train9.json), then the trainer from v8
//     with TESTBED_STEPS=3000 TESTBED_LR=7e-4 TESTBED_SEED=9, stopped after its step-2,250 save (30 minutes, shared)
//   v10 (not kept): TESTBED_SAMPLES=12000 TESTBED_MID=0.4 TESTBED_LONG=0.3 TESTBED_SEED=101 TESTBED_FREE_FRAMES=0.6
//     (train10.json), the trainer from v9 with TESTBED_STEPS=2500 TESTBED_LR=7e-4 TESTBED_SEED=10 TESTBED_THREADS=1
// The trainer's check on the 24 held-out P, % per branch at turns 1 / 2 / 3, with P of about 300 and about 1,500
// tokens (TESTBED_EVAL_TOKENS=1500: contexts of 1,183 tokens on average); base repeats 100% for all:
//   weights  tokens  please         question       digit          other
//   v7       300     100 100 100    81 88 81       50 56 44       71 67 79
//   v8       300     100 100 100    100 100 100    50 88 81       96 96 92
//   v9       300     100 100 100    100 94 100     94 100 100     96 92 92
//   v10      300     100 100 100    100 100 100    94 81 88       88 83 92
//   v7       1,500   88 81 69       50 50 56       56 56 56       67 75 75
//   v8       1,500   88 81 88       88 94 88       56 69 63       58 67 63
//   v9       1,500   94 88 100      94 88 100      75 63 88       67 92 88
//   v10      1,500   100 100 100    100 94 100     63 50 63       83 88 79
// v9 is at least v7 on every cell at both lengths and, through our engine, passes the teacher's GPU test
// (src/genpi/compound-testbed.gpu.test.ts: every cell 100%, the base none); on the compound demo preset it answers
// all 144 inputs as P says, as v7 does. The suite's compound run (src/bench/compound-internalize.gpu.test.ts) on it
// needs 64 samples and 2 epochs (58 steps, every cell kept, 3.0 minutes alone): at v7's 32 samples and 3 epochs it
// kept "please" at 85% of the teacher (54% at 5 epochs; the student answered a middle word, `please moon box lamp red`
// -> `OK: lamp`). The README's compound tables say which weights each row was measured on.
// UNFINISHED: at about 1,500 tokens no weights reach the 90% every cell must (v9: digit 63-88%, the rest 67-92%).
// v10, trained on far more long P, learned "please" and "?" there and lost the digit branch at both lengths. Next:
// more capacity (the 4-layer, 96-wide model may be too small to read new phrasings in long P), or a GPU and many more
// steps; then 3 conditions and longer P.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Branch,
  buildCompoundPrompt,
  CONDITION_PHRASINGS,
  checkAnswer,
  compoundEvalCases,
  compoundRulesOfPrompt,
  type CompoundRules,
  expectedAnswer,
  hasHeldoutPair,
  makeMessage,
  PERSONAS,
  POLICIES,
  randomRules,
} from '../../src/genpi/compound-testbed';
import { parsePrompt } from '../../src/genpi/prompt';
import { TESTBED_MARKER } from '../../src/genpi/testbed';
import { DirFileSet } from '../../src/model/source-node';
import { type ChatMessage, loadTokenizer } from '../../src/model/tokenizer';
import { Rng } from '../../src/util/rng';

// Not imported from make-data.ts: importing it would run it.
const DEMO_DIR = 'public/demo-model';
export const COMPOUND_DIR = 'public/compound-model';
const DATA_FILE = process.env.TESTBED_DATA ?? 'build/compound/train.json';
const SAMPLES = Number(process.env.TESTBED_SAMPLES ?? 24000);
// Share of prompts padded to 150–600 and to 600–1,800 tokens: long ones cost most of the training time.
const MID = Number(process.env.TESTBED_MID ?? 0.25);
const LONG = Number(process.env.TESTBED_LONG ?? 0.08);
const rng = new Rng(Number(process.env.TESTBED_SEED ?? 22));
const next = () => rng.next();
const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];

const branchesOf = (r: CompoundRules): Branch[] => [...r.branches.map((b) => b.when), 'other'];

export const MARKER = {
  about: 'The GenPI compound testbed: a tiny Llama trained (scripts/testbed/make-compound-data.ts) to follow system prompts with a persona, policy sentences, conditional rules, a reply prefix and example turns, over one to three turns, and to repeat the message when P states no rule. Rule sets, the held-out split and the exact per-branch checker: src/genpi/compound-testbed.ts.',
  kind: 'compound',
  conditions: ['please', 'question', 'digit'],
  actions: ['first', 'last', 'count', 'double', 'reverse'],
  max_turns: 3,
  // The teacher passes src/genpi/compound-testbed.gpu.test.ts (>= 90% per branch) with P of about 300 tokens, not
  // yet at about 1,500: retention measured there is read against the teacher measured, not trusted as a bar.
  status: 'unfinished at about 1,500 tokens: the committed weights (v9) follow every branch of held-out P of about 300 tokens (92-100% a cell), and at about 1,500 tokens the digit branch 63-88% and the rest 67-92% (make-compound-data.ts header)',
};

// TESTBED_TURNS_MIN/MAX: conversations of that many turns (default 1 to 3); more turns show one P's branches side
// by side.
const TURNS_MIN = Number(process.env.TESTBED_TURNS_MIN ?? 1);
const TURNS_MAX = Number(process.env.TESTBED_TURNS_MAX ?? 3);
// TESTBED_CONDITIONS fixes how many conditional rules each P has (default 1 to 3).
const CONDITION_COUNT = process.env.TESTBED_CONDITIONS ? Number(process.env.TESTBED_CONDITIONS) : undefined;

function trainingRules(): CompoundRules {
  for (;;) {
    const r = randomRules(next, { conditions: CONDITION_COUNT });
    if (!hasHeldoutPair(r)) return r;
  }
}

// TESTBED_FREE_FRAMES: the share of P's condition lines whose head is rewritten as a sentence composed from the
// pools below (v8). v7's misses gathered on held-out heads whose verbs and frames it never read ("Whenever a digit
// appears in the message": the rest's rule; "For all remaining messages": another branch's). Composed heads pair
// each condition's key noun with many frames, verbs and subjects, and the rest's line with many adjectives and no
// key, so the key noun (or its absence, in the last line) is all that tells rules apart. No pool holds a word that
// only the held-out heads use (whenever, appears, holding, closing, opening, finishes, remaining).
const FREE_FRAMES = Number(process.env.TESTBED_FREE_FRAMES ?? 0);
const SUBJECTS = ['a message', 'the message', 'a user message', 'the text', 'a request', 'the input', 'a note', "the user's text", 'a line', 'the reply'];
const PLURALS = ['Messages', 'Requests', 'Texts', 'Inputs', 'Notes', 'Lines', 'User messages'];
const OPENERS = ['If', 'When', 'Where', 'In case', 'Once', 'Each time', 'Any time', 'Should', 'Provided that'];
const COMPOSED: Record<'please' | 'question' | 'digit', { keys: string[]; verbs: string[]; participles: string[]; keyFirst: string[] }> = {
  please: {
    keys: ['"please"', 'the word "please"', '"please" first'],
    verbs: ['starts with', 'begins with', 'leads with', 'kicks off with', 'puts up front', 'has at the start'],
    participles: ['starting with', 'beginning with', 'that lead with', 'led by', 'headed by', 'that start on'],
    keyFirst: ['comes first', 'is the first word', 'leads', 'is at the start', 'starts it', 'kicks it off'],
  },
  question: {
    keys: ['"?"', 'a question mark', 'a "?"', '"?" last'],
    verbs: ['ends with', 'ends in', 'stops with', 'has at the end', 'wraps up with', 'trails with'],
    participles: ['ending with', 'ending in', 'that end on', 'trailing with', 'followed last by', 'that stop on'],
    keyFirst: ['comes last', 'is the last character', 'ends it', 'is at the end', 'trails it', 'wraps it up'],
  },
  digit: {
    keys: ['a digit', 'a number', 'any digit', 'some number', 'a numeral', 'one or more digits'],
    verbs: ['contains', 'has', 'includes', 'carries', 'shows', 'uses', 'mentions', 'features'],
    participles: ['containing', 'with', 'including', 'carrying', 'showing', 'using', 'mentioning', 'featuring'],
    keyFirst: ['is in it', 'shows up', 'is present', 'occurs in it', 'is used', 'turns up anywhere'],
  },
};
const OTHER_ADJECTIVES = ['other', 'leftover', 'further', 'different', 'unmatched', 'unlisted', 'additional', 'else', 'plain', 'ordinary'];

function composedHead(cond: Branch): string {
  if (cond === 'other') {
    const adj = pick(OTHER_ADJECTIVES);
    const noun = pick(['messages', 'requests', 'texts', 'inputs', 'cases', 'lines']);
    const many = adj === 'else' ? `everything ${adj}` : `${pick(['all', 'any', 'the', 'each of the'])} ${adj} ${noun}`;
    const head = pick(['For', 'To', 'With', 'On', 'About', '']);
    const s = head ? `${head} ${many}` : many;
    return s[0].toUpperCase() + s.slice(1);
  }
  const c = COMPOSED[cond];
  const form = next();
  if (form < 0.4) return `${pick(OPENERS)} ${pick(SUBJECTS)} ${pick(c.verbs)} ${pick(c.keys)}`;
  if (form < 0.75) return `${pick(PLURALS)} ${pick(c.participles)} ${pick(c.keys)}`;
  const key = pick(c.keys);
  return `${pick(OPENERS)} ${key[0] === '"' ? key : key.replace(/^(a|any|some|one or more) /, 'a ')} ${pick(c.keyFirst)}`;
}

/** P's text with some condition heads rewritten (TESTBED_FREE_FRAMES); the rest of each line as it was. */
function freeFrames(text: string): string {
  if (!FREE_FRAMES) return text;
  return text
    .split('\n')
    .map((line) => {
      const colon = line.indexOf(': ');
      if (colon < 0) return line;
      const head = line.slice(0, colon);
      const cond = (['please', 'question', 'digit', 'other'] as const).find((c) => CONDITION_PHRASINGS[c].train.includes(head));
      return cond && next() < FREE_FRAMES ? `${composedHead(cond)}${line.slice(colon)}` : line;
    })
    .join('\n');
}

/** One training conversation: a compound P (most), a P of persona and policy only, or none (both: echo). */
function conversation(count: (s: string) => number): { msgs: ChatMessage[]; system: number } {
  const kind = next();
  const msgs: ChatMessage[] = [];
  const turns = int(TURNS_MIN, TURNS_MAX);
  if (kind < 0.14) {
    if (kind < 0.07) msgs.push({ role: 'system', content: `${pick(PERSONAS.train)} ${pick(POLICIES.train)} ${pick(POLICIES.train)}` });
    for (let t = 0; t < turns; t++) {
      const x = makeMessage(pick(['please', 'question', 'digit', 'other', 'other'] as Branch[]), next);
      msgs.push({ role: 'user', content: x }, { role: 'assistant', content: x });
    }
    return { msgs, system: 0 };
  }
  const rules = trainingRules();
  const u = next();
  const targetTokens = u < LONG ? int(600, 1800) : u < LONG + MID ? int(150, 600) : undefined;
  const examples = Array.from({ length: int(0, 3) }, () => makeMessage(pick(branchesOf(rules)), next));
  const text = buildCompoundPrompt({ rules, split: 'train', examples, targetTokens, count, next });
  // The evaluation reads the rule set back from P and checks answers with the exact checker: so must every record
  // (checked before freeFrames rewrites heads the checker does not list; only training reads the rewritten P).
  if (JSON.stringify(compoundRulesOfPrompt(text)) !== JSON.stringify(rules)) throw new Error(`P does not read back: ${text}`);
  const p = parsePrompt(freeFrames(text));
  msgs.push(...p.messages);
  const system = p.messages.length;
  for (let t = 0; t < turns; t++) {
    const x = makeMessage(pick(branchesOf(rules)), next);
    const answer = expectedAnswer(rules, x);
    if (!checkAnswer(rules, x, answer).follows) throw new Error(`bad record: ${x} -> ${answer}`);
    msgs.push({ role: 'user', content: x }, { role: 'assistant', content: answer });
  }
  return { msgs, system };
}

async function main() {
  await mkdir(COMPOUND_DIR, { recursive: true });
  for (const f of ['config.json', 'generation_config.json', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']) {
    await copyFile(join(DEMO_DIR, f), join(COMPOUND_DIR, f));
  }
  await writeFile(join(COMPOUND_DIR, TESTBED_MARKER), JSON.stringify(MARKER, null, 2) + '\n');
  const tok = await loadTokenizer(new DirFileSet(COMPOUND_DIR));
  const count = (s: string) => tok.encode(s, { addSpecialTokens: false }).length;
  const seqs: number[][] = [];
  const systemLens: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const { msgs, system } = conversation(count);
    seqs.push(tok.applyChatTemplate(msgs).ids);
    // Tokens of P itself (system text and example turns), which the trainer weighs less than the conversation.
    systemLens.push(system ? tok.applyChatTemplate(msgs.slice(0, system)).ids.length : 0);
  }
  // What the trainer checks (TESTBED_STEPS=0 only measures): greedy answers per branch and turn with held-out P
  // (held-out rule pairs, phrasings, personas, policy) of about TESTBED_EVAL_TOKENS tokens, and with no P (the base).
  const evals: { name: string; ctx: number[]; want: number[] }[] = [];
  const end = tok.eosTokenIds[0];
  const cases = compoundEvalCases({
    prompts: Number(process.env.TESTBED_EVAL_PROMPTS ?? 6), tokens: Number(process.env.TESTBED_EVAL_TOKENS ?? 300),
    perBranch: Number(process.env.TESTBED_EVAL_PER_BRANCH ?? 1), turns: [1, 2, 3], count, seed: 100,
  });
  for (const c of cases) {
    const ctx = tok.applyChatTemplate(c.messages, { addGenerationPrompt: true }).ids;
    evals.push({ name: `${c.branch}/t${c.turn}`, ctx, want: [...tok.encode(expectedAnswer(c.rules, c.input), { addSpecialTokens: false }), end] });
    if (c.turn !== 1) continue;
    const base = tok.applyChatTemplate([{ role: 'user', content: c.input }], { addGenerationPrompt: true }).ids;
    evals.push({ name: `base-echo/${c.branch}`, ctx: base, want: [...tok.encode(c.input, { addSpecialTokens: false }), end] });
  }
  await mkdir('build/compound', { recursive: true });
  const assistantPrefix = tok.encode('<|im_start|>assistant\n', { addSpecialTokens: false });
  await writeFile(DATA_FILE, JSON.stringify({ vocab_size: tok.vocabSize, pad_id: end, assistant_prefix: assistantPrefix, seqs, system_lens: systemLens, evals }));
  const lens = seqs.map((s) => s.length).sort((x, y) => x - y);
  const mean = lens.reduce((x, y) => x + y, 0) / lens.length;
  console.log(`${seqs.length} sequences, ${lens.reduce((x, y) => x + y, 0)} tokens, mean ${mean.toFixed(0)}, median ${lens[lens.length >> 1]}, max ${lens[lens.length - 1]}; ${evals.length} evals, mean ctx ${(evals.reduce((s, e) => s + e.ctx.length, 0) / evals.length).toFixed(0)}`);
  console.log(tok.applyChatTemplate(conversation(count).msgs).text);
}

await main();
