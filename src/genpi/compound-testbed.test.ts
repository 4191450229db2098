// The compound testbed's exact per-branch checker and its held-out split: a checker that put an input in the wrong
// branch or accepted a near miss, or a held-out part that leaked into training, would make every per-branch figure
// measured on the compound testbed meaningless.
import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng';
import {
  ACTIONS,
  actionPhrasings,
  branchOf,
  buildCompoundPrompt,
  checkAnswer,
  type CompoundRules,
  compoundRulesOfPrompt,
  CONDITION_PHRASINGS,
  CONDITIONS,
  expectedAnswer,
  hasHeldoutPair,
  makeMessage,
  meets,
  PERSONAS,
  POLICIES,
  PREFIX_PHRASINGS,
  randomRules,
} from './compound-testbed';
import { parsePrompt } from './prompt';

const RULES: CompoundRules = {
  branches: [
    { when: 'please', action: 'reverse' },
    { when: 'question', action: 'first' },
  ],
  otherwise: 'count',
  prefix: 'OK:',
};

describe('compound testbed checker', () => {
  it('puts each input in the first branch whose condition it meets, else the rest', () => {
    expect(branchOf(RULES, 'please cat dog')).toBe('please');
    expect(branchOf(RULES, 'Please, cat dog')).toBe('please');
    expect(branchOf(RULES, 'cat dog?')).toBe('question');
    expect(branchOf(RULES, 'please cat dog?')).toBe('please'); // both conditions: P's order decides
    expect(branchOf(RULES, 'cat 7 dog')).toBe('other'); // a digit is no branch of this P
    expect(branchOf(RULES, 'cat please dog')).toBe('other'); // "please" not as the first word
    expect(meets('digit', 'cat 7 dog')).toBe(true);
    expect(meets('question', 'cat? dog')).toBe(false);
    expect(meets('please', '')).toBe(false);
  });

  it('accepts exactly the branch answer with its prefix, spacing at the ends forgiven', () => {
    expect(expectedAnswer(RULES, 'please cat dog')).toBe('OK: dog cat please');
    expect(checkAnswer(RULES, 'please cat dog', ' OK: dog cat please\n')).toEqual({ branch: 'please', follows: true });
    expect(checkAnswer(RULES, 'please cat dog', 'dog cat please')).toEqual({ branch: 'please', follows: false });
    expect(checkAnswer(RULES, 'please cat dog', 'OK: please cat dog')).toEqual({ branch: 'please', follows: false });
    expect(checkAnswer(RULES, 'cat dog?', 'OK: cat')).toEqual({ branch: 'question', follows: true });
    expect(checkAnswer(RULES, 'cat dog?', 'OK: 2')).toEqual({ branch: 'question', follows: false }); // the rest's answer
    expect(checkAnswer(RULES, 'cat 7 dog', 'OK: 3')).toEqual({ branch: 'other', follows: true });
    expect(checkAnswer({ ...RULES, prefix: null }, 'cat 7 dog', '3')).toEqual({ branch: 'other', follows: true });
    expect(checkAnswer(RULES, '', 'OK: 0').follows).toBe(false); // an empty input is nothing to follow
  });

  it('writes messages in exactly the branch asked for', () => {
    const rng = new Rng(3);
    const all: CompoundRules = { branches: CONDITIONS.map((when) => ({ when, action: 'first' })), otherwise: 'last', prefix: null };
    for (const branch of [...CONDITIONS, 'other'] as const) {
      for (let i = 0; i < 50; i++) {
        const x = makeMessage(branch, () => rng.next());
        expect(branchOf(all, x), x).toBe(branch);
        expect(CONDITIONS.filter((c) => meets(c, x)).length, x).toBe(branch === 'other' ? 0 : 1);
      }
    }
  });

  it('reads the rule set back from a P of the target length, with example turns as the app parses them', () => {
    const rng = new Rng(5);
    const count = (s: string) => s.length / 2; // any monotone measure will do for the builder
    for (const split of ['train', 'heldout'] as const) {
      const text = buildCompoundPrompt({ rules: RULES, split, examples: ['please red cat', 'sun moon?'], targetTokens: 750, count, next: () => rng.next() });
      expect(count(text)).toBeGreaterThanOrEqual(750);
      expect(compoundRulesOfPrompt(text)).toEqual(RULES);
      const p = parsePrompt(text);
      expect(p.examples).toEqual([
        { role: 'user', content: 'please red cat' },
        { role: 'assistant', content: 'OK: cat red please' },
        { role: 'user', content: 'sun moon?' },
        { role: 'assistant', content: 'OK: sun' },
      ]);
    }
    expect(compoundRulesOfPrompt('You are a helpful assistant.\nuser: cat\nassistant: cat')).toBeNull();
  });

  it('held-out phrasings, personas, policy sentences and rule pairs never appear in training', () => {
    const disjoint = (s: { train: string[]; heldout: string[] }) => s.heldout.every((x) => !s.train.includes(x));
    for (const c of [...CONDITIONS, 'other'] as const) expect(disjoint(CONDITION_PHRASINGS[c])).toBe(true);
    for (const a of ACTIONS) expect(disjoint(actionPhrasings(a))).toBe(true);
    for (const s of [PREFIX_PHRASINGS, PERSONAS, POLICIES]) expect(disjoint(s)).toBe(true);
    expect(POLICIES.train.some((s) => POLICIES.heldout.some((h) => h.split(' ').at(-1) === s.split(' ').at(-1)))).toBe(false);
    expect(hasHeldoutPair(RULES)).toBe(true); // the pair the evaluation prompts use first
    expect(hasHeldoutPair({ ...RULES, branches: [...RULES.branches].reverse() })).toBe(true);
    expect(hasHeldoutPair({ ...RULES, branches: [{ when: 'please', action: 'count' }, { when: 'question', action: 'last' }] })).toBe(false);
    const rng = new Rng(9);
    const r = randomRules(() => rng.next(), { conditions: 3, prefix: true });
    expect(new Set(r.branches.map((b) => b.when)).size).toBe(3);
    expect(r.prefix).not.toBeNull();
  });
});
