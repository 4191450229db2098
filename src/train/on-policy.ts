// On-policy distillation (On-Policy Context Distillation): the student, the adapter without P, answers the training
// inputs itself, and the teacher, the frozen model with P, scores every token it wrote; the loss is the reverse
// KL(student || teacher) at those positions (kl_reverse_forward), beside the forward KL on the teacher's own answers. Off-policy distillation only ever shows the student
// the teacher's paths; here it is corrected on the paths it actually takes, which later turns of a conversation
// make more unlike the teacher's.
// Cost: one batched generation over every training input plus one teacher pass, once per epoch (not per step): the
// generator decodes all inputs together in one call, and on a few dozen records an epoch is a handful of steps, so
// the samples lag the params by at most an epoch's worth of updates.
import { Generator } from '../llama/generator';
import type { LlamaEngine } from '../llama/engine';
import type { LoraLayout } from '../llama/lora';
import type { Tokenizer } from '../model/tokenizer';
import { labelledCount, type Sequence } from './batch';
import { attachTeacherTargets, DistillAlignmentError, teacherView, type TeacherView } from './distill';
import { sftMessages, sftSequence, type PromptText, type TrainingRecord } from './sequences';

export interface OnPolicyRound {
  /** [records] the student's sample of each record with the teacher's top-K at its tokens (reverse), or null. */
  samples: (Sequence | null)[];
  /** Why some records have no sample, one line per kind of reason with its count. */
  skipped: string[];
}

/** The generator seed of record i's sample in epoch `epoch`: the run's seed, the epoch and the record alone. */
export function sampleSeed(seed: number, epoch: number, i: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35)) >>> 0;
}

/**
 * Samples the student's answer to each record's last teacher turn (the conversation before it as the teacher wrote
 * it; `answers[i]` is the record's SFT sequence, whose length bounds the sample's) at temperature 1, and returns that
 * conversation with the teacher's top-K at each of the student's tokens, marked for the reverse KL. A sample that
 * cannot be used (past the micro-batch or the context, or rendered differently under P) is null, and says why.
 */
export async function sampleOnPolicy(engine: LlamaEngine, tok: Tokenizer, records: readonly TrainingRecord[], answers: readonly Sequence[],
  p: PromptText, student: { layout: LoraLayout; params: Float32Array }, o: { K: number; maxT: number; seed: number; epoch: number;
    signal?: AbortSignal }): Promise<OnPolicyRound> {
  const context = engine.cfg.maxPositionEmbeddings;
  const pLen = tok.applyChatTemplate(p.messages).ids.length;
  const kept = new Map<string, number>();
  const keep = (why: string) => kept.set(why, (kept.get(why) ?? 0) + 1);
  const reqs = records.map((r, i) => {
    const turns = sftMessages(r);
    const before = turns.slice(0, -1);
    const prompt = tok.applyChatTemplate(before, { addGenerationPrompt: true }).ids;
    // Room for twice the teacher's answer tokens, within the micro-batch, and within the context once P is in front.
    const room = Math.min(o.maxT - prompt.length, context - pLen - prompt.length) - 8;
    return { before, prompt, maxNew: Math.min(2 * labelledCount(answers[i]) + 16, room), i };
  });
  const usable = reqs.filter((q) => q.maxNew >= 1);
  for (let n = reqs.length - usable.length; n > 0; n--) keep('no room to sample within the context');
  // Slots sized to the longest request, not the context: the KV cache is allocated (and cleared) per round.
  const slotLength = Math.max(1, ...usable.map((q) => q.prompt.length + q.maxNew + 1));
  const gen = new Generator(engine, { slots: Math.min(16, usable.length || 1), slotLength, tokenizer: tok });
  let results;
  try {
    gen.addAdapter('student', { layout: student.layout, params: student.params, baseModel: '' });
    results = await gen.generate(usable.map((q) => ({
      prompt: q.prompt, adapter: 'student', temperature: 1, seed: sampleSeed(o.seed, o.epoch, q.i), maxNewTokens: q.maxNew, signal: o.signal,
    })));
  } finally {
    gen.destroy();
  }
  const views: TeacherView[] = [];
  const seqs: Sequence[] = [];
  const at: number[] = [];
  for (const [j, q] of usable.entries()) {
    const res = results[j];
    if (res.finishReason === 'cancelled') return { samples: records.map(() => null), skipped: ['cancelled'] };
    const r = records[q.i];
    const cut = res.finishReason === 'length' ? [q.before.length] : [];
    const rec: TrainingRecord = { ...r, conversation: [...q.before, { role: 'assistant', content: res.text }], settings: { ...r.settings, cut_turns: cut } };
    try {
      const seq = sftSequence(tok, rec);
      if (!labelledCount(seq) || seq.input_ids.length > o.maxT) {
        keep('the sample re-tokenized past the micro-batch or to nothing');
        continue;
      }
      const view = teacherView(tok, rec, p, seq, `on-policy[${r.id ?? q.i}]`);
      if (view.seq.input_ids.length > context) {
        keep('the teacher\'s view of the sample is past the context');
        continue;
      }
      views.push(view);
      seqs.push(seq);
      at.push(q.i);
    } catch (e) {
      if (!(e instanceof DistillAlignmentError)) throw e;
      keep('the template renders the sample differently under P');
    }
  }
  await attachTeacherTargets(engine, views, seqs, o.K, { signal: o.signal });
  const samples: (Sequence | null)[] = records.map(() => null);
  for (const [j, i] of at.entries()) {
    const t = seqs[j].teacher;
    if (t) samples[i] = { ...seqs[j], teacher: { ...t, reverse: true } };
  }
  return { samples, skipped: [...kept].map(([why, n]) => `${n}: ${why}`) };
}
