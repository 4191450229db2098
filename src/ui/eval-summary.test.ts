// The evaluation in words: the sentence, the answers table's caption against its rows, and tokens saved explained.
import { describe, expect, it } from 'vitest';
import type { EvalFigures } from '../genpi/evaluate';
import { evalSentence, samplesCaption, savedExplanation } from './eval-summary';

function figures(inputs: number, over: Partial<EvalFigures> = {}): EvalFigures {
  const samples = Array.from({ length: Math.min(5, inputs) }, (_, i) => ({ input: `q${i}`, teacher: 't', student: 's', base: 'b' }));
  return {
    inputs, exact_match: 0.5, token_f1: 0.75, rouge_l: 0.7, base: { exact_match: 0, token_f1: 0.25, rouge_l: 0.2 },
    kl_teacher_student: 0.1, kl_teacher_base: 1, valid_action: null, rule_accuracy: null, prompt_tokens: 64,
    tokens_saved_per_turn: 22, prefill_ms_with_prompt: 10, prefill_ms_without_prompt: 5, flops_saved_5_turns: 1e9, samples,
    ...over,
  };
}

describe('evaluation in words', () => {
  it('says how many of the inputs the answers table shows: 5 rows of 6 inputs is "the first 5 of the 6"', () => {
    const f = figures(6);
    expect(f.samples).toHaveLength(5);
    expect(samplesCaption(f)).toBe('Answers side by side, the first 5 of the 6 inputs');
    expect(samplesCaption(figures(3))).toBe('Answers side by side, all 3 inputs');
  });

  it('explains tokens saved per turn beside the prompt\'s own count', () => {
    expect(savedExplanation(figures(6))).toBe(
      'Each request is 22 tokens shorter without the prompt: the prompt is 64 tokens, but without it the chat template adds 42 tokens of its own (its default system message).',
    );
    expect(savedExplanation(figures(6, { tokens_saved_per_turn: 64 }))).toMatch(/the whole prompt \(64 tokens\) is left out/);
  });

  it('sums up in one sentence: the rule on the demo, agreement with the teacher otherwise', () => {
    const rule = { rule: { kind: 'first-word' }, teacher: 1, student: 5 / 6, base: 0, retention: 5 / 6, misses: [] };
    expect(evalSentence(figures(6, { rule_accuracy: rule as unknown as EvalFigures['rule_accuracy'] }))).toBe(
      'Without the prompt, the student applies the rule in 83.3% of 6 inputs; the model with the prompt does in 100.0%, the base model without it in 0.0%.',
    );
    expect(evalSentence(figures(1))).toBe(
      'Without the prompt, the student matches the model with the prompt exactly on 50.0% of 1 input (token F1 0.750; the base model 0.0%, F1 0.250).',
    );
  });
});
