// The evaluation in words: one sentence for the guided flow's last step, the caption that says how many of the
// evaluated inputs the answers table shows (its rows, not the inputs' count), and what "tokens saved per turn" is
// next to P's own token count (the chat template may put its default system message where P was).
import type { EvalFigures } from '../genpi/evaluate';
import { formatFixed, formatShare } from './format';

const inputsWord = (n: number) => `${n} input${n === 1 ? '' : 's'}`;

/** One sentence: the rule the demo's P states when there is one, else agreement with the teacher. */
export function evalSentence(f: EvalFigures): string {
  const r = f.rule_accuracy;
  if (r) {
    return `Without the prompt, the student applies the rule in ${formatShare(r.student)} of ${inputsWord(f.inputs)}; ` +
      `the model with the prompt does in ${formatShare(r.teacher)}, the base model without it in ${formatShare(r.base)}.`;
  }
  return `Without the prompt, the student matches the model with the prompt exactly on ${formatShare(f.exact_match)} of ` +
    `${inputsWord(f.inputs)} (token F1 ${formatFixed(f.token_f1)}; the base model ${formatShare(f.base.exact_match)}, F1 ${formatFixed(f.base.token_f1)}).`;
}

/** The answers table's caption: its rows are the first few inputs, said so when they are not all of them. */
export function samplesCaption(f: EvalFigures): string {
  const k = f.samples.length;
  return k < f.inputs ? `Answers side by side, the first ${k} of the ${inputsWord(f.inputs)}` : `Answers side by side, all ${inputsWord(f.inputs)}`;
}

/** What dropping P saves per request, and why it can be less than P's own length. */
export function savedExplanation(f: EvalFigures): string {
  const gap = f.prompt_tokens - f.tokens_saved_per_turn;
  const base = `Each request is ${f.tokens_saved_per_turn} tokens shorter without the prompt`;
  if (gap > 0) {
    return `${base}: the prompt is ${f.prompt_tokens} tokens, but without it the chat template adds ${gap} tokens of its own (its default system message).`;
  }
  return `${base}: the whole prompt (${f.prompt_tokens} tokens) is left out of every turn.`;
}
