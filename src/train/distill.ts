// The teacher's side of logit distillation (docs/METHOD.md "Beyond the paper"): for each SFT sequence, the same
// conversation as the teacher saw it in synthesis (P's messages first, through the chat template), the teacher
// position of each labelled student prediction, checked token by token; then, at the start of training, the
// frozen model's top-K log-probs at those positions, attached to the SFT sequence as its targets.
import type { LlamaEngine } from '../llama/engine';
import { MAX_KL_TOP_K } from '../llama/ops/kl_topk';
import { sharedPrefixLength, TopLogProbs, type TeacherSequence } from '../llama/top-logprobs';
import type { Tokenizer } from '../model/tokenizer';
import { IGNORE } from '../llama/batch';
import { labelledCount, type Sequence } from './batch';
import { ChatTemplateError, sftMessages, sftSequence, type PromptText, type TrainingRecord, type TrainingSet } from './sequences';

/** The template renders the conversation differently once P's messages are in front, so positions cannot be matched. */
export class DistillAlignmentError extends ChatTemplateError {
  override name = 'DistillAlignmentError';
  constructor(record: string, what: string) {
    super(
      `renders record ${record}'s conversation differently when the prompt's messages come first (${what}), so the ` +
        "teacher's next-token distributions cannot be matched to the student's positions; train with a variant " +
        'without distillation (joint, sft_only), or use a model whose template renders turns the same either way',
    );
  }
}

export interface TeacherView {
  name: string;
  /** P's messages, then the record's conversation; labelled on the same assistant turns as the student's. */
  seq: Sequence;
  /**
   * Student position t is teacher position t + offset: the teacher's prefix (P) less the student's (e.g. a default
   * system message the template adds when there is no system message), so it may be negative.
   */
  offset: number;
  /** [N] the teacher positions whose next-token distributions are targets, one per labelled student prediction. */
  positions: number[];
}

/**
 * The teacher's view of one SFT sequence, after checking that the two line up: the teacher's text ends with the
 * student's from the user's input on, and from the first trained prediction on, the tokens and labels are the same.
 */
export function teacherView(tok: Tokenizer, record: TrainingRecord, p: PromptText, student: Sequence, name: string): TeacherView {
  const turns = sftMessages(record);
  const seq = sftSequence(tok, record, { prependPrompt: true, prompt: p });
  // Where the input starts in the student's text: its last occurrence before the first assistant turn opens.
  const opening = tok.applyChatTemplate(turns.slice(0, 1), { addGenerationPrompt: true }).text;
  const inputAt = opening.lastIndexOf(turns[0].content);
  if (inputAt < 0) throw new DistillAlignmentError(name, "the user's input is not in the rendered text");
  const studentText = tok.applyChatTemplate(turns).text;
  const teacherText = tok.applyChatTemplate([...p.messages, ...turns]).text;
  if (!teacherText.endsWith(studentText.slice(inputAt))) throw new DistillAlignmentError(name, 'the text from the input on differs');
  const s = student.input_ids;
  const offset = seq.input_ids.length - s.length;
  const first = student.labels.findIndex((l, i) => i > 0 && l !== IGNORE);
  if (first < 0 || first - 1 + offset < 0 || labelledCount(seq) !== labelledCount(student)) {
    throw new DistillAlignmentError(name, `the teacher has ${labelledCount(seq)} trained tokens and the student ${labelledCount(student)}`);
  }
  for (let t = first - 1; t < s.length; t++) {
    if (seq.input_ids[t + offset] !== s[t] || seq.labels[t + offset] !== student.labels[t]) {
      throw new DistillAlignmentError(name, `student token ${t} is not teacher token ${t + offset}`);
    }
  }
  const positions: number[] = [];
  for (let i = 1; i < s.length; i++) if (student.labels[i] !== IGNORE) positions.push(i - 1 + offset);
  return { name, seq, offset, positions };
}

/** Teacher views of a training set's SFT sequences, in order (for distilling variants), after checking its top-K. */
export function teacherViews(tok: Tokenizer, set: TrainingSet, p: PromptText, vocabSize: number): TeacherView[] {
  const K = set.distill?.topK ?? 0;
  const most = Math.min(MAX_KL_TOP_K, vocabSize);
  if (!(Number.isInteger(K) && K >= 1 && K <= most)) throw new RangeError(`the teacher's top-K must be a whole number from 1 to ${most}, got ${K}`);
  return set.records.map((r, i) => teacherView(tok, r, p, set.sft[i], `teacher[${r.id ?? i}]`));
}

/** A teacher view as the teacher pass scores it: its whole tokens and the positions of its targets. */
export const teacherSequence = (v: TeacherView): TeacherSequence => ({ ids: v.seq.input_ids, positions: v.positions });

/** What a teacher pass did: positions scored, bytes read back, and tokens run through the layers (P counted once). */
export interface TeacherPassStats {
  positions: number;
  bytesRead: number;
  tokensRun: number;
  /** The tokens a pass without the shared prefix would run: every view whole. */
  tokensWhole: number;
  prefix: number;
  seconds: number;
}

/**
 * Runs the frozen model (no adapter) over the teacher views and attaches its top-K at the aligned positions to the
 * matching student sequence (`students[i].teacher`), which the batches then carry to the KL term. P's KV is computed
 * once and shared (top-logprobs.ts), so the pass grows with the records, not with P times the records. Returns what
 * it did: the bytes read back are 8·K per position, the top-K being taken on the GPU.
 */
export async function attachTeacherTargets(engine: LlamaEngine, views: readonly TeacherView[], students: readonly Sequence[], K: number,
  o: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<TeacherPassStats> {
  if (views.length !== students.length) throw new Error(`${views.length} teacher views for ${students.length} student sequences`);
  const seqs = views.map(teacherSequence);
  const prefix = sharedPrefixLength(seqs);
  const tokensWhole = views.reduce((n, v) => n + v.seq.input_ids.length, 0);
  const stats: TeacherPassStats = { positions: 0, bytesRead: 0, tokensRun: 0, tokensWhole, prefix, seconds: 0 };
  const t0 = performance.now();
  if (!views.length) return stats;
  const longest = Math.max(...views.map((v) => v.seq.input_ids.length));
  const scorer = new TopLogProbs(engine, views[0].seq.input_ids.slice(0, prefix), longest - prefix, K);
  try {
    // A pass's worth of views at a time, so progress moves and a cancel is seen between passes.
    const step = scorer.layout.seqSlots;
    for (let i = 0; i < views.length; i += step) {
      if (o.signal?.aborted) break; // the training loop then stops before its first step, as cancelled
      const part = views.slice(i, i + step);
      const got = await scorer.run(seqs.slice(i, i + step));
      got.forEach((t, j) => (students[i + j].teacher = t));
      stats.positions += part.reduce((n, v) => n + v.positions.length, 0);
      o.onProgress?.(i + part.length, views.length);
    }
  } finally {
    stats.bytesRead = scorer.bytesRead;
    stats.tokensRun = scorer.tokensRun;
    stats.seconds = (performance.now() - t0) / 1000;
    scorer.destroy();
  }
  return stats;
}
