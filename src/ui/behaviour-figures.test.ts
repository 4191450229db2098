// The per-branch figures as the page renders them (Svelte's server renderer): the evaluation panel's teacher,
// student and base per branch and turn side by side with the worst branch, and the dataset figures' coverage line.
import { render } from 'svelte/server';
import { describe, expect, it } from 'vitest';
import { compoundChecker } from '../genpi/behaviour';
import type { ChatReply } from '../genpi/chat';
import { expectedAnswer, type CompoundRules } from '../genpi/compound-testbed';
import { coverageOf } from '../genpi/coverage';
import type { DatasetFigures as Figures } from '../genpi/dataset';
import { scoreBehaviour, turnInput } from '../genpi/eval-turns';
import type { EvalFigures as Eval } from '../genpi/evaluate';
import { parsePrompt } from '../genpi/prompt';
import DatasetFigures from './DatasetFigures.svelte';
import EvalFigures from './EvalFigures.svelte';

const RULES: CompoundRules = { branches: [{ when: 'please', action: 'first' }], otherwise: 'last', prefix: null };
const text = (html: string) => html.replace(/<!--[^]*?-->/g, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
const replies = (xs: string[]): ChatReply[] => xs.map((t) => ({ text: t, tokens: [], context: [], cut: false }));

describe('per-branch figures on the page', () => {
  it('shows teacher, student and base per branch and turn, and names the worst branch', () => {
    const inputs = ['please a b', 'please c d', 'please e f', 'please g h', 'a b', 'c d', 'e f', 'g h'];
    const right = (t: number) => inputs.map((_, i) => expectedAnswer(RULES, turnInput(inputs, i, t)));
    // The student misses every "other" input on turn 2.
    const student2 = right(1).map((x, i) => (turnInput(inputs, i, 1).startsWith('please') ? x : 'no'));
    const behaviour = scoreBehaviour(compoundChecker(RULES), inputs, {
      teacher: [replies(right(0)), replies(right(1))], student: [replies(right(0)), replies(student2)], base: [replies(inputs), replies(inputs)],
    });
    const figures: Eval = {
      inputs: 8, exact_match: 1, token_f1: 1, rouge_l: 1, base: { exact_match: 0, token_f1: 0, rouge_l: 0 }, kl_teacher_student: 0,
      kl_teacher_base: 1, valid_action: null, rule_accuracy: null, behaviour, prompt_tokens: 40, tokens_saved_per_turn: 40,
      prefill_ms_with_prompt: 2, prefill_ms_without_prompt: 1, flops_saved_5_turns: 1, samples: [],
    };
    const { body } = render(EvalFigures, { props: { figures } });
    const row = (branch: string, turn: number) => {
      const m = body.match(new RegExp(`<tr[^>]*data-branch="${branch}" data-turn="${turn}"[^>]*>([^]*?)</tr>`));
      return m ? text(m[1]) : null;
    };
    expect(row('please', 1)).toBe('please 1 4 100.0% 100.0% 0.0% 100.0%');
    expect(row('other', 2)).toBe('other 2 4 100.0% 0.0% 0.0% 0.0%');
    expect(row('all branches', 2)).toBe('all branches 2 8 100.0% 50.0% 0.0% 50.0%');
    expect(text(body)).toContain('worst branch other at turn 2, retention 0.0%');
  });

  it('shows what the inputs cover in the dataset figures', () => {
    const coverage = coverageOf(['please a b', 'c d e', 'f g'], parsePrompt('Be brief.\nuser: c d e\nassistant: e'), compoundChecker(RULES));
    const figures: Figures = { records: 3, mean_turns: 1, share_turn_limit: 0, share_no_end_marker: 1, duplicates_dropped: 0, share_invalid_action: null, coverage };
    const { body } = render(DatasetFigures, { props: { figures } });
    expect(text(body)).toContain("Inputs cover by branch: please 1 (33%), other 2 (67%); 3 distinct of 3; 2–3 words (median 3); 1 of P's 1 example user turns have a near input");
  });
});
