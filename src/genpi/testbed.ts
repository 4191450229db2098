// The prompt-following testbed: a few rules a tiny model of our own was trained to apply when its system prompt
// states them (public/demo-model, scripts/testbed), each with an exact checker. A random model cannot tell whether
// internalization works (P's effect on it is noise); this one follows P for real, so retention (student without P
// over teacher with P) measured on it decides the method's defaults. Phrasings are split: the model never saw the
// held-out ones, which is what the teacher is tested on and what the demo and the benchmark use.

/** The file in a model folder that marks it as the testbed, so evaluation scores the rule P states. */
export const TESTBED_MARKER = 'genpi_testbed.json';

/** The words users' messages are made of: the model writes 2–6 of them as a user turn. */
export const TESTBED_WORDS = [
  'cat', 'dog', 'bird', 'fish', 'tree', 'rock', 'sun', 'moon', 'star', 'rain', 'snow', 'wind', 'red', 'blue', 'green',
  'gold', 'big', 'small', 'fast', 'slow', 'hot', 'cold', 'old', 'new', 'run', 'jump', 'sing', 'read', 'book', 'door',
  'road', 'ship', 'king', 'milk', 'bread', 'apple', 'lamp', 'box', 'hill', 'lake',
] as const;

/**
 * The rules the model follows (teacher >= 90% with held-out phrasings, tested): what the benchmark, the demo and the
 * tests use. The model was also trained on HARD_RULES: with a held-out phrasing it applies `upper` to about 70% of
 * inputs (held-out phrasings, 24 inputs, at the end of stage 5), so it is kept apart: a teacher that fails the rule
 * cannot tell whether a student learned it.
 */
export const TESTBED_RULES = ['first', 'last', 'count', 'double', 'reverse'] as const;
export const HARD_RULES = ['upper'] as const;
export type TestbedRule = (typeof TESTBED_RULES)[number] | (typeof HARD_RULES)[number];

function words(input: string): string[] {
  return input.trim().split(/\s+/).filter((w) => w !== '');
}

/** What a model applying the rule answers to `input`. Without a rule the testbed model repeats the message. */
export function applyRule(rule: TestbedRule | 'echo', input: string): string {
  const w = words(input);
  switch (rule) {
    case 'echo':
      return w.join(' ');
    case 'upper':
      return w.join(' ').toUpperCase();
    case 'reverse':
      return [...w].reverse().join(' ');
    case 'count':
      return String(w.length);
    case 'double':
      return w.flatMap((x) => [x, x]).join(' ');
    case 'first':
      return w.slice(0, 1).join(' ');
    case 'last':
      return w.slice(-1).join(' ');
  }
}

/** The exact checker: the answer is the rule applied to the input (spacing at the ends ignored). */
export function followsRule(rule: TestbedRule, input: string, output: string): boolean {
  return words(output).join(' ') === applyRule(rule, input) && words(input).length > 0;
}

/** Share of (input, output) pairs that follow the rule; null for no pairs. */
export function ruleAccuracy(rule: TestbedRule, pairs: readonly { input: string; output: string }[]): number | null {
  if (!pairs.length) return null;
  return pairs.filter((p) => followsRule(rule, p.input, p.output)).length / pairs.length;
}

/** Sentences that state each rule: `train` were in the model's training data, `heldout` never were. */
export const RULE_PHRASINGS: Record<TestbedRule, { train: string[]; heldout: string[] }> = {
  upper: {
    train: [
      'Reply in uppercase.', 'Answer in capital letters.', 'Always write your answer in CAPITALS.',
      'Use only upper case letters.', 'Write every reply in uppercase letters.', 'Your answers must be in capital letters.',
      'Respond in all caps.', 'Turn the message into uppercase.',
      // Added for stage 4: the same rule in other sentence frames, so no frame belongs to one rule.
      'Answer in uppercase letters only.', 'Respond in capitals.', 'Your reply is the message in capital letters.', 'Give the words back in capitals.', 'Write the message in all capitals.', 'Say the words in uppercase.', 'Output the message in capital letters.', 'Keep the words but write them in capitals.',
    ],
    // 'Answer the user in block capitals.' was held out until stage 4: no stage taught the model to read it (it
    // answered as if another rule were stated), since its key words were never in training. The model reads a new
    // sentence around a known key word, not a new key word; this phrasing tests the former.
    heldout: ['Make each reply all uppercase.', 'Put your whole reply in uppercase.'],
  },
  reverse: {
    train: [
      'Reply with the words in reverse order.', 'Reverse the order of the words.', 'Say the words backwards, last word first.',
      'Answer with the message reversed word by word.', 'Write the words of the message from last to first.',
      'Repeat the words in reverse order.', 'Give the words back in reverse.', 'Flip the order of the words.',
    ],
    heldout: ["Return the user's words in reverse order.", 'Your reply lists the words backwards.'],
  },
  count: {
    train: [
      'Reply only with the number of words.', 'Count the words and answer with the count.', 'Say how many words the message has.',
      'Answer with a single number: the word count.', 'Tell the user how many words they wrote.',
      'Respond with the number of words in the message.', 'Just count the words.', 'Give only the word count.',
      // Added for stage 4: the same rule in other sentence frames, so no frame belongs to one rule.
      'Answer with how many words the message has.', 'Respond with the count of words.', 'Your reply is the number of words.', 'Output only the number of words.', 'Write how many words the user sent.', 'Say the count of the words and nothing more.', 'Keep only the word count.', 'Give back the number of words.',
    ],
    heldout: ['Reply with how many words there are.', 'Your answer is the count of the words.'],
  },
  double: {
    train: [
      'Repeat every word twice.', 'Say each word two times.', 'Double every word of the message.', 'Write each word twice in a row.',
      'Answer by repeating each word two times.', 'Echo the message with every word doubled.', 'Say every word twice.',
      'Duplicate each word.',
      // Added for stage 4: the same rule in other sentence frames, so no frame belongs to one rule.
      'Answer with each word twice.', 'Respond by saying every word two times.', 'Your reply has every word twice.', 'Output each word two times.', 'Give back each word twice.', 'Write every word of the message two times.', 'Keep every word but say it twice.', 'Repeat each word of the message twice.',
    ],
    heldout: ['Reply with each word said twice.', 'Make every word appear two times.'],
  },
  first: {
    train: [
      'Reply with only the first word.', 'Answer with the first word of the message.', 'Say just the first word.',
      'Give back only the first word.', 'Repeat only the first word.', 'Write the first word and nothing more.',
      'Your reply is the first word alone.', 'Keep only the first word.',
      // Added for stage 4: the same rule in other sentence frames, so no frame belongs to one rule.
      'Answer with just the first word.', 'Reply with the first word and nothing else.', 'Say only the first word of the message.', 'Write back the first word only.',
    ],
    heldout: ['Respond with the first word only.', 'Output the first word of the message.'],
  },
  last: {
    train: [
      'Reply with only the last word.', 'Answer with the last word of the message.', 'Say just the last word.',
      'Give back only the last word.', 'Repeat only the last word.', 'Write the last word and nothing more.',
      'Your reply is the last word alone.', 'Keep only the last word.',
      // Added for stage 4: the same rule in other sentence frames, so no frame belongs to one rule.
      'Answer with just the last word.', 'Reply with the last word and nothing else.', 'Say only the last word of the message.', 'Write back the last word only.',
    ],
    heldout: ['Respond with the last word only.', 'Output the last word of the message.'],
  },
};

/**
 * Stage 5 adds, to each rule's trained phrasings, every sentence frame joined with every key phrase of the rule
 * (minus the held-out sentences): the frames are shared by all rules, so only the key phrase tells them apart, and a
 * tiny model trained on a few fixed sentences per rule otherwise learns to read the frame ("Output ...") instead.
 */
const FRAMES = ['Reply with #.', 'Answer with #.', 'Respond with #.', 'Give back #.', 'Your reply is #.', 'Output #.', 'Write #.', 'Say #.', 'Always answer with #.', 'You must reply with #.'];
const RULE_KEYS: Record<TestbedRule, string[]> = {
  upper: ['the words in uppercase', 'every word in capitals', 'the message in capital letters', 'the message in uppercase'],
  reverse: ['the words in reverse order', 'the words backwards', 'the message reversed'],
  count: ['the number of words', 'the word count', 'the count of words', 'only the number of words'],
  double: ['each word twice', 'every word two times', 'every word doubled', 'each word two times'],
  first: ['the first word', 'only the first word', 'just the first word', 'the first word alone'],
  last: ['the last word', 'only the last word', 'just the last word', 'the last word alone'],
};
for (const [rule, p] of Object.entries(RULE_PHRASINGS) as [TestbedRule, { train: string[]; heldout: string[] }][]) {
  const framed = FRAMES.flatMap((f) => RULE_KEYS[rule].map((k) => f.replace('#', k)));
  p.train = [...new Set([...p.train, ...framed])].filter((s) => !p.heldout.includes(s));
}

/** Sentences around the rule that do not change what the model does; the last of each list is held out. */
export const PERSONAS = {
  train: ['You are a helpful assistant.', 'You are a friendly bot.', 'You work for a small shop.', 'You are a word game assistant.', 'You are Ada, a chat bot.', 'Be kind to the user.'],
  heldout: ['You are Max, a helper in a word game.'],
};
export const CLOSERS = {
  train: ['Do not add anything else.', 'Keep it short.', 'Never explain your answer.', 'Nothing else.'],
  heldout: ['Add no other text.'],
};

/**
 * A prompt P stating `rule` in a held-out phrasing, with a held-out persona and closer and `examples` example turns
 * (user/assistant lines, as parsePrompt reads them). `variant` picks among the held-out phrasings.
 */
export function heldoutPrompt(rule: TestbedRule, opts: { examples?: string[]; variant?: number } = {}): string {
  const phr = RULE_PHRASINGS[rule].heldout;
  const system = [PERSONAS.heldout[0], phr[(opts.variant ?? 0) % phr.length], CLOSERS.heldout[0]].join(' ');
  const turns = (opts.examples ?? []).map((x) => `user: ${x}\nassistant: ${applyRule(rule, x)}`);
  return [system, ...turns].join('\n');
}

/** The rule a prompt states, when it uses one of the testbed's phrasings (either split); null otherwise. */
export function ruleOfPrompt(text: string): TestbedRule | null {
  for (const rule of [...TESTBED_RULES, ...HARD_RULES]) {
    const { train, heldout } = RULE_PHRASINGS[rule];
    if ([...train, ...heldout].some((s) => text.includes(s))) return rule;
  }
  return null;
}
