// Evaluation metrics over the held-out inputs (docs/METHOD.md "Evaluation"): how closely base and student answers agree
// with the teacher's (exact match, token F1, ROUGE-L, per-token KL) and how often final actions are valid.
import type { ChatMessage } from '../model/tokenizer';

/**
 * 1 when the two texts are equal after trimming and collapsing runs of whitespace, else 0 (a number, to average). An
 * empty answer matches nothing, another empty one included: two models that both said nothing did not agree on an
 * answer, and a dataset of empty answers must not score 1.0.
 */
export function exactMatch(a: string, b: string): number {
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ');
  return norm(a) !== '' && norm(a) === norm(b) ? 1 : 0;
}

/** Python's string.punctuation, which SQuAD's normalization removes (ASCII only, as there). */
const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/** SQuAD v1.1's normalize_answer: lowercase, drop punctuation, drop articles, collapse whitespace; as tokens. */
export function squadTokens(s: string): string[] {
  const t = s.toLowerCase().replace(PUNCTUATION, '').replace(/\b(a|an|the)\b/g, ' ');
  return t.split(/\s+/).filter((w) => w !== '');
}

/**
 * SQuAD's bag-of-words F1 over normalized tokens. When either side has no tokens, 0: unlike SQuAD v2, where "no
 * answer" is a valid answer, two empty answers here are two failures to answer, not agreement (see exactMatch).
 */
export function tokenF1(pred: string, ref: string): number {
  const p = squadTokens(pred);
  const r = squadTokens(ref);
  if (p.length === 0 || r.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const w of r) counts.set(w, (counts.get(w) ?? 0) + 1);
  let same = 0;
  for (const w of p) {
    const c = counts.get(w) ?? 0;
    if (c > 0) {
      same++;
      counts.set(w, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / p.length;
  const recall = same / r.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Length of the longest common subsequence of two token lists (two rows of the usual table). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/**
 * ROUGE-L as F1 (beta = 1, the usual choice in recent papers; the rouge-score package's `fmeasure` is also F1) over
 * lowercased whitespace tokens, without stemming: P = LCS/|pred|, R = LCS/|ref|. Empty sides as in tokenF1.
 */
export function rougeL(pred: string, ref: string): number {
  const tokens = (s: string) => s.toLowerCase().split(/\s+/).filter((w) => w !== '');
  const p = tokens(pred);
  const r = tokens(ref);
  if (p.length === 0 || r.length === 0) return 0;
  const lcs = lcsLength(p, r);
  if (lcs === 0) return 0;
  const precision = lcs / p.length;
  const recall = lcs / r.length;
  return (2 * precision * recall) / (precision + recall);
}

/** The content of the last assistant turn, or '' when there is none: where an agent's final action is. */
export function finalAssistantTurn(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === 'assistant') return messages[i].content;
  return '';
}

/**
 * Share of final teacher turns holding a valid action, where valid means `pattern` matches somewhere in the turn
 * (anchor it, e.g. /^Act: (finish|answer)/m, to demand more). `texts` are final turns (see finalAssistantTurn).
 * Null for no texts. A g or y flag is ignored: RegExp.test with them carries state from one call to the next.
 */
export function validActionShare(texts: readonly string[], pattern: RegExp): number | null {
  if (texts.length === 0) return null;
  const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  return texts.filter((t) => re.test(t)).length / texts.length;
}

/** log(sum(exp(x))) of one row, computed in float64 from its maximum. */
function logSumExp(x: Float32Array, start: number, V: number): number {
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (x[start + i] > max) max = x[start + i];
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(x[start + i] - max);
  return max + Math.log(sum);
}

/**
 * Mean over `positions` rows of KL(softmax(p) || softmax(q)), from logits laid out [positions, V]: the teacher's
 * logits as p and the student's (or base's) as q, both with the teacher's tokens forced. Float64 and log-sum-exp, so
 * large logits do not overflow; tokens p gives probability 0 add nothing; tokens q rules out but p does not give
 * Infinity, as KL does.
 */
export function klDivergence(pLogits: Float32Array, qLogits: Float32Array, V: number, positions: number): number {
  if (!(Number.isInteger(V) && V > 0 && Number.isInteger(positions) && positions > 0)) {
    throw new RangeError(`klDivergence needs V > 0 and positions > 0 (integers), got V = ${V}, positions = ${positions}`);
  }
  if (pLogits.length < positions * V || qLogits.length < positions * V) {
    throw new RangeError(
      `klDivergence: logits hold ${pLogits.length} and ${qLogits.length} values, fewer than positions·V = ${positions * V}`,
    );
  }
  let total = 0;
  for (let t = 0; t < positions; t++) {
    const start = t * V;
    const lp = logSumExp(pLogits, start, V);
    const lq = logSumExp(qLogits, start, V);
    let kl = 0;
    for (let i = 0; i < V; i++) {
      const logP = pLogits[start + i] - lp;
      if (logP === -Infinity) continue;
      kl += Math.exp(logP) * (logP - (qLogits[start + i] - lq));
    }
    total += Math.max(0, kl); // rounding can leave -1e-17 for identical rows
  }
  return total / positions;
}

/** Mean of the values, or null for none (so "no data" is never shown as 0). */
export function meanOf(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Agreement of one answer with the teacher's. */
export function agreement(pred: string, teacher: string): { exactMatch: number; tokenF1: number; rougeL: number } {
  return { exactMatch: exactMatch(pred, teacher), tokenF1: tokenF1(pred, teacher), rougeL: rougeL(pred, teacher) };
}
