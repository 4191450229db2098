// How much of what P describes the pseudo inputs cover: a student only learns a branch it was shown. With a checker
// (a testbed P, behaviour.ts) the inputs are counted per branch; for any P, what needs no checker: distinct inputs,
// their length spread, and how many of P's own example user turns have a near neighbour among the inputs.
import type { BehaviourChecker } from './behaviour';
import { tokenF1 } from './metrics';
import { demonstrationInputs, type ParsedPrompt } from './prompt';

/** An input is near an example user turn when their token F1 (SQuAD-normalized bag of words) reaches this. */
export const NEAR_F1 = 0.8;

export interface Coverage {
  inputs: number;
  /** Inputs that differ after trimming and collapsing whitespace (case kept). */
  distinct: number;
  /** Words per input; null for no inputs. */
  words: { min: number; median: number; max: number } | null;
  /** P's example user turns, and how many of them have an input with token F1 >= NEAR_F1. */
  examples: { total: number; near: number };
  /** Inputs per branch of P, in P's order, with their share; null without a checker. */
  branches: { branch: string; inputs: number; share: number }[] | null;
  /**
   * P's example exchanges (a user turn and the assistant turn after it) whose answer breaks P's own rules; null
   * without a checker. The teacher sees both the rule and the example, so the student learns whichever the teacher
   * follows: worth telling the user before they blame the training.
   */
  contradictingExamples: { total: number; contradicting: number } | null;
}

function wordCount(s: string): number {
  return s.trim().split(/\s+/).filter((w) => w !== '').length;
}

export function coverageOf(inputs: readonly string[], p: ParsedPrompt, checker: BehaviourChecker | null): Coverage {
  const counts = inputs.map(wordCount).sort((a, b) => a - b);
  const mid = counts.length >> 1;
  const median = counts.length % 2 ? counts[mid] : (counts[mid - 1] + counts[mid]) / 2;
  const examples = demonstrationInputs(p);
  const near = examples.filter((x) => inputs.some((y) => tokenF1(y, x) >= NEAR_F1)).length;
  const branches = checker
    ? checker.branches.map((branch) => {
      const n = inputs.filter((x) => checker.branchOf(x) === branch).length;
      return { branch, inputs: n, share: inputs.length ? n / inputs.length : 0 };
    })
    : null;
  const exchanges = p.examples.flatMap((m, i) => (m.role === 'user' && p.examples[i + 1]?.role === 'assistant' ? [[m.content, p.examples[i + 1].content]] : []));
  return {
    inputs: inputs.length,
    distinct: new Set(inputs.map((x) => x.trim().replace(/\s+/g, ' '))).size,
    words: counts.length ? { min: counts[0], median, max: counts[counts.length - 1] } : null,
    examples: { total: examples.length, near },
    branches,
    contradictingExamples: checker ? { total: exchanges.length, contradicting: exchanges.filter(([x, y]) => !checker.follows(x.trim(), y.trim())).length } : null,
  };
}

/** One line for the figures: "3 branches: please 40%, question 35%, other 25%; 24 distinct; 2–6 words (median 4); ...". */
export function coverageText(c: Coverage): string {
  const parts: string[] = [];
  if (c.branches) parts.push(`by branch: ${c.branches.map((b) => `${b.branch} ${b.inputs} (${Math.round(100 * b.share)}%)`).join(', ')}`);
  parts.push(`${c.distinct} distinct of ${c.inputs}`);
  if (c.words) parts.push(`${c.words.min}–${c.words.max} words (median ${c.words.median})`);
  if (c.examples.total) parts.push(`${c.examples.near} of P's ${c.examples.total} example user turns have a near input (token F1 ≥ ${NEAR_F1})`);
  const bad = c.contradictingExamples;
  if (bad?.contradicting) parts.push(`${bad.contradicting} of P's ${bad.total} example answers break its own rules (the student learns what the teacher does)`);
  // The case measured on the compound testbed: at the default nucleus no sampled message held a digit (user-turn.ts).
  const unseen = c.inputs ? (c.branches ?? []).filter((b) => b.inputs === 0).map((b) => b.branch) : [];
  if (unseen.length) {
    parts.push(`no input for ${unseen.join(', ')}: the student cannot learn ${unseen.length === 1 ? 'that branch' : 'those branches'} ` +
      '(a user-turn top-p of 1 samples messages the default cuts; seed inputs that take the branch cover it too)');
  }
  return parts.join('; ');
}
