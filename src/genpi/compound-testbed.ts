// The compound-prompt testbed: system prompts as applications write them (a persona, policy sentences that change
// nothing, conditional rules keyed on what a small model can see in a message, a reply prefix, example turns),
// which a tiny model of our own was trained to follow over conversations of one to three turns
// (public/compound-model, scripts/testbed/make-compound-data.ts). The exact checker says which branch of P an input
// falls in and whether an answer follows it, so coverage, retention and evaluation can be reported per branch and
// per turn. Phrasings, policy sentences and rule pairs are split: the held-out ones were never in training.
import type { ChatMessage } from '../model/tokenizer';
import { Rng } from '../util/rng';
import { parsePrompt } from './prompt';
import { applyRule, RULE_PHRASINGS } from './testbed';

/** What a conditional rule is keyed on: a leading "please", a trailing "?", a digit anywhere. */
export const CONDITIONS = ['please', 'question', 'digit'] as const;
export type Condition = (typeof CONDITIONS)[number];
/** A branch of P: one of its conditions, or every other message. */
export type Branch = Condition | 'other';
/** What a branch does to the message (the single-rule testbed's rules the base model does not apply). */
export const ACTIONS = ['first', 'last', 'count', 'double', 'reverse'] as const;
export type Action = (typeof ACTIONS)[number];
export const PREFIXES = ['OK:', 'Sure:', 'Bot:', '>>'] as const;

/** A compound P's rule set: conditional branches in P's order (the first that holds wins), the rest, a prefix. */
export interface CompoundRules {
  branches: { when: Condition; action: Action }[];
  otherwise: Action;
  prefix: string | null;
}

function words(input: string): string[] {
  return input.trim().split(/\s+/).filter((w) => w !== '');
}

/** Whether a message meets a condition (words split on spaces; "please" in any case, as the first word). */
export function meets(cond: Condition, input: string): boolean {
  const w = words(input);
  if (!w.length) return false;
  if (cond === 'please') return w[0].toLowerCase().replace(/[,.!]$/, '') === 'please';
  if (cond === 'question') return input.trim().endsWith('?');
  return /[0-9]/.test(input);
}

/** The branch of P an input falls in: the first of P's conditions it meets, else 'other'. */
export function branchOf(rules: CompoundRules, input: string): Branch {
  return rules.branches.find((b) => meets(b.when, input))?.when ?? 'other';
}

/** The answer a model following P gives to `input`. */
export function expectedAnswer(rules: CompoundRules, input: string): string {
  const branch = branchOf(rules, input);
  const action = branch === 'other' ? rules.otherwise : rules.branches.find((b) => b.when === branch)!.action;
  const answer = applyRule(action, input);
  return rules.prefix ? `${rules.prefix} ${answer}` : answer;
}

/** The exact checker: the input's branch, and whether the output is that branch's answer (end spacing forgiven). */
export function checkAnswer(rules: CompoundRules, input: string, output: string): { branch: Branch; follows: boolean } {
  const follows = words(input).length > 0 && words(output).join(' ') === expectedAnswer(rules, input);
  return { branch: branchOf(rules, input), follows };
}

interface Split {
  train: string[];
  heldout: string[];
}

/** How each condition is named in P ('#' the rule's action follows a colon); the held-out ones never in training. */
export const CONDITION_PHRASINGS: Record<Condition | 'other', Split> = {
  please: {
    train: ['Messages that start with "please"', 'If the message begins with "please"', 'When a message starts with the word "please"', 'Messages beginning with "please"', 'For a message whose first word is "please"', 'If the user starts with "please"'],
    heldout: ['Whenever "please" is the first word', 'Messages opening with "please"'],
  },
  question: {
    train: ['Messages ending with "?"', 'If the message ends with a question mark', 'When a message ends in "?"', 'Questions (messages that end with "?")', 'For a message whose last character is "?"', 'If the user ends with "?"'],
    heldout: ['Whenever the message finishes with "?"', 'Messages closing with a question mark'],
  },
  digit: {
    train: ['Messages that contain a digit', 'If the message has a digit in it', 'When a message includes a number', 'Messages with a digit anywhere', 'For a message that contains a number', 'If the user writes a digit'],
    heldout: ['Whenever a digit appears in the message', 'Messages holding a number'],
  },
  other: {
    train: ['Any other message', 'All other messages', 'Otherwise', 'For every other message', 'Everything else', 'In any other case'],
    heldout: ['Every remaining message', 'For all remaining messages'],
  },
};

/**
 * Added for the compound model's v6/v7 stage, as the single-rule testbed's stage 5 did for actions: every sentence
 * frame joined with every key phrase of a condition (training split only), so the frame is shared by all conditions
 * and only the key phrase tells them apart. Trained on six fixed sentences each, v5 missed most digit inputs under
 * the held-out "Whenever a digit appears in the message"; v7, trained with these, reads every held-out "please"
 * phrasing and still misses that one (scripts/testbed/make-compound-data.ts). Each key is [plural, singular].
 */
const CONDITION_FRAMES = { plural: ['Messages that #', 'User messages that #'], singular: ['If the message #', 'When a message #', 'For a message that #', "If the user's message #", 'Any message that #'] };
const CONDITION_KEYS: Record<Condition, [string, string][]> = {
  please: [['start with "please"', 'starts with "please"'], ['begin with "please"', 'begins with "please"'], ['have "please" as the first word', 'has "please" as the first word']],
  question: [['end with "?"', 'ends with "?"'], ['end with a question mark', 'ends with a question mark'], ['end in "?"', 'ends in "?"']],
  digit: [['contain a digit', 'contains a digit'], ['have a digit in them', 'has a digit in it'], ['include a number', 'includes a number'], ['contain a number', 'contains a number']],
};
for (const cond of CONDITIONS) {
  const p = CONDITION_PHRASINGS[cond];
  const framed = CONDITION_KEYS[cond].flatMap(([many, one]) => [
    ...CONDITION_FRAMES.plural.map((f) => f.replace('#', many)),
    ...CONDITION_FRAMES.singular.map((f) => f.replace('#', one)),
  ]);
  p.train = [...new Set([...p.train, ...framed])].filter((s) => !p.heldout.includes(s));
}

/** An action as the second half of a rule line: the single-rule testbed's sentences, first letter lowered. */
export function actionPhrasings(action: Action): Split {
  const lower = (s: string) => s[0].toLowerCase() + s.slice(1);
  const { train, heldout } = RULE_PHRASINGS[action];
  return { train: train.map(lower), heldout: heldout.map(lower) };
}

/** The format rule; '#' is the prefix. */
export const PREFIX_PHRASINGS: Split = {
  train: ['Start every answer with "#".', 'Begin each reply with "#".', 'Every reply starts with "#".', 'Always put "#" before your answer.', 'Prefix each answer with "#".'],
  heldout: ['Open every reply with "#".', 'Each answer must begin with "#".'],
};

export const PERSONAS: Split = {
  train: ['You are Ada, the assistant of a small shop.', 'You are a friendly support bot.', 'You are Kit, a word game helper.', 'You are the help desk of a bakery.', 'You are a polite chat assistant.', 'You are Bo, a bot for a bike shop.'],
  heldout: ['You are Max, the helper of a book club.', 'You are the assistant of a garden center.'],
};

/** Policy sentences: a template with '#' for a topic. Held-out templates and topics never met in training. */
const POLICY_TEMPLATES: Split = {
  train: ['Never discuss #.', 'Do not give advice about #.', 'If asked about #, stay calm.', 'Our team handles # by email.', 'Keep notes about # private.', 'Be careful when # comes up.', 'We do not sell #.', 'Questions about # go to the manager.'],
  heldout: ['Stay neutral about #.', 'Refer people to our website for #.', 'We never comment on #.'],
};
const POLICY_TOPICS: Split = {
  train: ['prices', 'the weather', 'sports', 'politics', 'refunds', 'shipping', 'opening hours', 'medical questions', 'legal matters', 'other customers', 'the staff', 'passwords', 'gift cards', 'holidays', 'the news', 'parking'],
  heldout: ['insurance', 'music', 'recipes', 'taxes', 'travel plans', 'pets'],
};
export const POLICIES: Split = {
  train: POLICY_TEMPLATES.train.flatMap((t) => POLICY_TOPICS.train.map((x) => t.replace('#', x))),
  heldout: POLICY_TEMPLATES.heldout.flatMap((t) => POLICY_TOPICS.heldout.map((x) => t.replace('#', x))),
};

/** Rule pairs (condition:action) that training never put in one P; eval prompts use them. */
export const HELDOUT_PAIRS: [string, string][] = [
  ['please:reverse', 'question:first'],
  ['please:count', 'digit:last'],
  ['question:double', 'digit:reverse'],
  ['please:last', 'question:count'],
  ['digit:first', 'question:reverse'],
  ['please:double', 'digit:count'],
];

/** Whether a rule set contains a held-out pair (training rejects those). */
export function hasHeldoutPair(rules: CompoundRules): boolean {
  const keys = new Set(rules.branches.map((b) => `${b.when}:${b.action}`));
  return HELDOUT_PAIRS.some(([a, b]) => keys.has(a) && keys.has(b));
}

/** The words users' messages are made of (one token each in the testbed's vocabulary, with a leading space). */
export const MESSAGE_WORDS = ['cat', 'dog', 'bird', 'fish', 'tree', 'rock', 'sun', 'moon', 'star', 'rain', 'snow', 'wind', 'red', 'blue', 'green', 'gold', 'big', 'small', 'fast', 'slow', 'hot', 'cold', 'old', 'new', 'run', 'jump', 'sing', 'read', 'book', 'door', 'road', 'ship', 'king', 'milk', 'bread', 'apple', 'lamp', 'box', 'hill', 'lake'];

/** A message of 2–5 words in exactly one branch: it meets `branch` and no other condition. */
export function makeMessage(branch: Branch, next: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)];
  const n = 2 + Math.floor(next() * 4);
  const w = Array.from({ length: n }, () => pick(MESSAGE_WORDS) as string);
  if (branch === 'please') w[0] = 'please';
  if (branch === 'question') w[n - 1] += '?';
  if (branch === 'digit') w[1 + Math.floor(next() * (n - 1))] = String(1 + Math.floor(next() * 9));
  return w.join(' ');
}

export interface PromptParts {
  rules: CompoundRules;
  split: 'train' | 'heldout';
  /** Example turns inside P (user messages; the answers follow the rules). */
  examples?: string[];
  /** P grows with policy sentences until it has at least this many tokens (as `count` measures P's text). */
  targetTokens?: number;
  count?: (text: string) => number;
  next: () => number;
}

/** One rule line: 'Messages that start with "please": reply with only the first word.' */
function ruleLine(cond: Condition | 'other', action: Action, split: 'train' | 'heldout', next: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)];
  return `${pick(CONDITION_PHRASINGS[cond][split])}: ${pick(actionPhrasings(action)[split])}`;
}

/**
 * A compound P from one split's parts: persona, policy sentences before and after the block of rule lines (the
 * rest last, then the prefix rule), example turns as `user:`/`assistant:` lines (parsePrompt reads them as turns).
 * With `targetTokens`, policy sentences are added until P reaches it.
 */
export function buildCompoundPrompt(o: PromptParts): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(o.next() * xs.length)];
  const persona = pick(PERSONAS[o.split]);
  const rules = [
    ...o.rules.branches.map((b) => ruleLine(b.when, b.action, o.split, o.next)),
    ruleLine('other', o.rules.otherwise, o.split, o.next),
    ...(o.rules.prefix ? [pick(PREFIX_PHRASINGS[o.split]).replace('#', o.rules.prefix)] : []),
  ];
  const turns = (o.examples ?? []).map((x) => `user: ${x}\nassistant: ${expectedAnswer(o.rules, x)}`);
  const before: string[] = [pick(POLICIES[o.split]), pick(POLICIES[o.split])];
  const after: string[] = [pick(POLICIES[o.split])];
  const render = () => [persona + ' ' + before.join(' '), ...rules, after.join(' '), ...turns].join('\n');
  if (o.targetTokens && o.count) {
    // Counted per added sentence (one render per sentence would make long prompts quadratic to build).
    let tokens = o.count(render());
    while (tokens < o.targetTokens) {
      const s = pick(POLICIES[o.split]);
      (o.next() < 0.5 ? before : after).push(s);
      tokens += o.count(' ' + s);
    }
  }
  return render();
}

/**
 * The compound demo's rule set: a held-out pair (training never put the two in one P), the rest a third action; the
 * three rules a short run teaches (the single-rule demo's quick ones). With reverse on the digit branch instead, the
 * student of a 32-sample run kept 40-83% of the teacher there.
 */
const DEMO_RULES: CompoundRules = {
  branches: [{ when: 'please', action: 'last' }, { when: 'question', action: 'count' }],
  otherwise: 'first',
  prefix: 'OK:',
};

/**
 * The compound demo preset's P: persona, policy sentences, rule lines and the prefix rule all in held-out phrasings,
 * with an example turn per branch; the same text on every call (a fixed seed).
 */
export function compoundDemoPrompt(): string {
  const rng = new Rng(7);
  return buildCompoundPrompt({ rules: DEMO_RULES, split: 'heldout', examples: ['please red cat', 'sun moon?', 'bird lamp'], next: () => rng.next() });
}

/** A random rule set: 1–3 distinct conditions in random order, each an action, the rest another, maybe a prefix. */
export function randomRules(next: () => number, opts: { conditions?: number; prefix?: boolean } = {}): CompoundRules {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)];
  const conds = [...CONDITIONS].sort(() => next() - 0.5).slice(0, opts.conditions ?? 1 + Math.floor(next() * 3));
  const prefix = (opts.prefix ?? next() < 0.5) ? pick(PREFIXES) : null;
  return { branches: conds.map((when) => ({ when, action: pick(ACTIONS) })), otherwise: pick(ACTIONS), prefix };
}

/** The rule set P states, read back from the testbed's phrasings (either split); null when P states no branch. */
export function compoundRulesOfPrompt(text: string): CompoundRules | null {
  const branches: CompoundRules['branches'] = [];
  let otherwise: Action | null = null;
  let prefix: string | null = null;
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(': ');
    const head = line.slice(0, colon);
    const tail = line.slice(colon + 2);
    for (const cond of [...CONDITIONS, 'other'] as const) {
      const { train, heldout } = CONDITION_PHRASINGS[cond];
      if (colon < 0 || ![...train, ...heldout].includes(head)) continue;
      const action = ACTIONS.find((a) => [...actionPhrasings(a).train, ...actionPhrasings(a).heldout].includes(tail));
      if (!action) continue;
      if (cond === 'other') otherwise = action;
      else branches.push({ when: cond, action });
    }
    for (const p of [...PREFIX_PHRASINGS.train, ...PREFIX_PHRASINGS.heldout]) {
      const [a, b] = p.split('#');
      if (line.startsWith(a) && line.endsWith(b) && line.length > a.length + b.length) prefix = line.slice(a.length, line.length - b.length);
    }
  }
  return otherwise && branches.length ? { branches, otherwise, prefix } : null;
}

/** One evaluation conversation: P's messages, earlier turns that follow P, then the input in a known branch. */
export interface CompoundCase {
  rules: CompoundRules;
  /** How many leading messages are P (its system text and example turns). */
  promptMessages: number;
  messages: ChatMessage[];
  input: string;
  branch: Branch;
  turn: number;
}

/**
 * Held-out evaluation: `prompts` P of about `tokens` tokens from the held-out split, each stating a held-out rule
 * pair (training never put the two together), the rest a third action, a prefix on every other P and 0–2 example
 * turns; `perBranch` inputs per branch and turn, the earlier turns answered as P says.
 */
export function compoundEvalCases(o: { prompts: number; tokens: number; perBranch: number; turns: number[]; count: (text: string) => number; seed: number }): CompoundCase[] {
  const rng = new Rng(o.seed);
  const next = () => rng.next();
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)];
  const cases: CompoundCase[] = [];
  for (let i = 0; i < o.prompts; i++) {
    const pair = HELDOUT_PAIRS[(o.seed + i) % HELDOUT_PAIRS.length].map((s) => s.split(':') as [Condition, Action]);
    const used = pair.map(([, a]) => a);
    const rules: CompoundRules = {
      branches: pair.map(([when, action]) => ({ when, action })),
      otherwise: pick(ACTIONS.filter((a) => !used.includes(a))),
      prefix: i % 2 ? pick(PREFIXES) : null,
    };
    const all: Branch[] = [...rules.branches.map((b) => b.when), 'other'];
    const examples = Array.from({ length: i % 3 }, () => makeMessage(pick(all), next));
    const p = parsePrompt(buildCompoundPrompt({ rules, split: 'heldout', examples, targetTokens: o.tokens, count: o.count, next }));
    for (const branch of all) {
      for (const turn of o.turns) {
        for (let k = 0; k < o.perBranch; k++) {
          const messages = [...p.messages];
          for (let t = 1; t < turn; t++) {
            const h = makeMessage(pick(all), next);
            messages.push({ role: 'user', content: h }, { role: 'assistant', content: expectedAnswer(rules, h) });
          }
          const input = makeMessage(branch, next);
          messages.push({ role: 'user', content: input });
          cases.push({ rules, promptMessages: p.messages.length, messages, input, branch, turn });
        }
      }
    }
  }
  return cases;
}
