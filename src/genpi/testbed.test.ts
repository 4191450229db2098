// The testbed's exact checkers and its phrasing split: a checker that accepted a near miss, or a held-out phrasing
// that leaked into training, would make every retention figure measured on the testbed meaningless.
import { describe, expect, it } from 'vitest';
import { DEMO_PRESETS } from './presets';
import { parsePrompt } from './prompt';
import { applyRule, CLOSERS, followsRule, HARD_RULES, heldoutPrompt, PERSONAS, RULE_PHRASINGS, ruleAccuracy, ruleOfPrompt, TESTBED_RULES } from './testbed';

describe('testbed rules', () => {
  it('apply as stated', () => {
    expect(applyRule('upper', 'red fox')).toBe('RED FOX');
    expect(applyRule('reverse', 'cat dog bird')).toBe('bird dog cat');
    expect(applyRule('count', 'cat dog bird')).toBe('3');
    expect(applyRule('double', 'cat dog')).toBe('cat cat dog dog');
    expect(applyRule('first', 'cat dog bird')).toBe('cat');
    expect(applyRule('last', 'cat dog bird')).toBe('bird');
    expect(applyRule('echo', '  cat   dog ')).toBe('cat dog');
  });

  it('checkers are exact: spacing at the ends is forgiven, a near miss is not', () => {
    expect(followsRule('upper', 'red fox', ' RED FOX\n')).toBe(true);
    expect(followsRule('upper', 'red fox', 'RED FOX.')).toBe(false);
    expect(followsRule('upper', 'red fox', 'red fox')).toBe(false);
    expect(followsRule('reverse', 'a b c', 'c b a')).toBe(true);
    expect(followsRule('reverse', 'a b c', 'c a b')).toBe(false);
    expect(followsRule('count', 'a b c', '3')).toBe(true);
    expect(followsRule('count', 'a b c', '3 words')).toBe(false);
    expect(followsRule('double', 'a b', 'a a b')).toBe(false);
    expect(followsRule('upper', '', '')).toBe(false); // an empty input is nothing to follow
    expect(ruleAccuracy('count', [{ input: 'a b', output: '2' }, { input: 'a', output: '2' }])).toBe(0.5);
    expect(ruleAccuracy('count', [])).toBeNull();
  });

  it('held-out phrasings, personas and closers never appear among the trained ones', () => {
    const rules = [...TESTBED_RULES, ...HARD_RULES];
    const trained = new Set([...PERSONAS.train, ...CLOSERS.train, ...rules.flatMap((r) => RULE_PHRASINGS[r].train)]);
    for (const s of [...PERSONAS.heldout, ...CLOSERS.heldout, ...rules.flatMap((r) => RULE_PHRASINGS[r].heldout)]) {
      expect(trained.has(s), s).toBe(false);
    }
  });

  it('each demo preset states its rule in a held-out phrasing, with one example turn that follows it', () => {
    for (const rule of TESTBED_RULES) {
      const preset = DEMO_PRESETS.find((p) => p.id === `demo-${rule}`)!;
      expect(preset.text).toBe(heldoutPrompt(rule, { examples: ['green lamp'] }));
      expect(ruleOfPrompt(preset.text)).toBe(rule);
      const p = parsePrompt(preset.text);
      expect(RULE_PHRASINGS[rule].heldout.some((s) => p.system.includes(s))).toBe(true);
      expect(p.examples).toEqual([{ role: 'user', content: 'green lamp' }, { role: 'assistant', content: applyRule(rule, 'green lamp') }]);
    }
    expect(ruleOfPrompt('You are a helpful assistant.')).toBeNull();
    expect(ruleOfPrompt(heldoutPrompt('upper'))).toBe('upper');
  });
});
