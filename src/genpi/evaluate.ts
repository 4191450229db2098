// Evaluation on held-out inputs (the reference code had none): base (no P, no adapter), teacher (P) and student
// (adapter, no P) answers; agreement with the teacher (exact match, token F1, ROUGE-L); mean per-token
// KL(teacher || student) and KL(teacher || base) with the teacher's tokens forced; valid final actions; and what
// dropping P saves (its tokens, time to first token with and without it, FLOPs over a 5-turn conversation).
import type { LlamaEngine } from '../llama/engine';
import type { Generator } from '../llama/generator';
import type { LoraAdapter } from '../llama/peft';
import { sharedPrefixLength, TopLogProbs } from '../llama/top-logprobs';
import type { Tokenizer } from '../model/tokenizer';
import type { BehaviourChecker } from './behaviour';
import { GREEDY, runChatReplies, type ChatReply } from './chat';
import { scoreBehaviour, sideTurn, SIDES, type BehaviourFigures, type Side } from './eval-turns';
import { agreement, finalAssistantTurn, klDivergence, meanOf, validActionShare } from './metrics';
import { promptTokenCount, type ParsedPrompt } from './prompt';
import { ruleAccuracy, type TestbedRule } from './testbed';

/** An evaluation that could not measure anything; the message says why and what to check. */
export class EvalError extends Error {
  override name = 'EvalError';
}

export interface EvalOptions {
  maxNewTokens: number;
  actionPattern?: RegExp;
  /** What P asks, checked exactly on a testbed (behaviour.ts): scores teacher, student and base per branch and turn. */
  checker?: BehaviourChecker | null;
  /** Conversation turns scored where there is a checker [3]; later turns are not run without one. */
  turns?: number;
  signal?: AbortSignal;
  onProgress?: (stage: string) => void;
}

export interface EvalFigures {
  inputs: number;
  exact_match: number | null; // student vs teacher
  token_f1: number | null;
  rouge_l: number | null;
  base: { exact_match: number | null; token_f1: number | null; rouge_l: number | null };
  kl_teacher_student: number | null;
  kl_teacher_base: number | null;
  valid_action: { teacher: number | null; student: number | null; base: number | null } | null;
  /**
   * Share of answers that apply the single-rule testbed's rule on the first turn, and retention = student / teacher;
   * null without such a rule (kept from before `behaviour`, which it is a part of). `misses`: the first few inputs
   * the teacher answered by the rule and the student did not, with the student's answer.
   */
  rule_accuracy: {
    rule: TestbedRule; teacher: number; student: number; base: number; retention: number | null;
    misses: { input: string; student: string }[];
  } | null;
  /** Per branch and per turn, with retention as the worst branch; null without a checker (eval-turns.ts). */
  behaviour?: BehaviourFigures | null;
  prompt_tokens: number;
  tokens_saved_per_turn: number;
  prefill_ms_with_prompt: number; // time to first token of an input with P in front (uncached)
  prefill_ms_without_prompt: number;
  flops_saved_5_turns: number;
  samples: { input: string; teacher: string; student: string; base: string }[];
}

/**
 * The teacher's logits at its own answer tokens, one [tokens,V] array per reply: every reply's context behind P's KV,
 * computed once for all of them (top-logprobs.ts), and only the answer rows read back.
 */
async function teacherAnswerLogits(engine: LlamaEngine, teacher: readonly ChatReply[]): Promise<Float32Array[]> {
  const seqs = teacher.map((r) => ({ ids: [...r.context, ...r.tokens], positions: r.tokens.map((_, i) => r.context.length - 1 + i) }));
  const live = seqs.filter((s) => s.positions.length);
  if (!live.length) return seqs.map(() => new Float32Array(0));
  const prefix = sharedPrefixLength(live);
  const scorer = new TopLogProbs(engine, live[0].ids.slice(0, prefix), Math.max(...live.map((s) => s.ids.length)) - prefix, 1);
  try {
    const rows = await scorer.logits(live);
    return seqs.map((s) => (s.positions.length ? rows.shift()! : new Float32Array(0)));
  } finally {
    scorer.destroy();
  }
}

/** Mean KL over the teacher's answer tokens: the teacher's rows (after P + input), the other's after input alone. */
async function forcedKl(engine: LlamaEngine, teacher: ChatReply, p: Float32Array, otherContext: number[], lora: LoraAdapter | null): Promise<number> {
  const y = teacher.tokens;
  if (!y.length) return 0;
  const V = engine.cfg.vocabSize;
  const q = await engine.logits([...otherContext, ...y], lora);
  return klDivergence(p, q.subarray((otherContext.length - 1) * V, (otherContext.length - 1 + y.length) * V), V, y.length);
}

export async function evaluate(engine: LlamaEngine, gen: Generator, tok: Tokenizer, p: ParsedPrompt, inputs: string[],
  student: { name: string; adapter: LoraAdapter }, o: EvalOptions): Promise<EvalFigures> {
  const user = (input: string) => [{ role: 'user', content: input }];
  // Turn 1 for every side, then (with a checker) the later turns, each model answering after its own answers.
  const turns = o.checker ? Math.max(1, o.turns ?? 3) : 1;
  const answers: Record<Side, ChatReply[][]> = { teacher: [], student: [], base: [] };
  for (let t = 0; t < turns; t++) {
    for (const side of SIDES) {
      o.onProgress?.(`${side} answers${t ? `, turn ${t + 1}` : ''}`);
      answers[side].push(await sideTurn(gen, tok, p, inputs, side, answers[side], { adapter: student.name, maxNewTokens: o.maxNewTokens, signal: o.signal }));
      // Agreement with empty answers scores 0 (metrics.ts); with no answer at all there is nothing to agree with.
      if (t === 0 && side === 'teacher' && answers.teacher[0].every((r) => r.text.trim() === '')) {
        throw new EvalError(`the teacher (the model with P) gave an empty answer to every one of the ${inputs.length} held-out inputs, ` +
          'so there is nothing to compare the student with; check that the model answers with this prompt (genpi generate --prompt)');
      }
    }
  }
  const [teacher, studentOut, base] = SIDES.map((side) => answers[side][0]);

  o.onProgress?.('KL with the teacher tokens forced');
  const klStudent: number[] = [];
  const klBase: number[] = [];
  const teacherRows = await teacherAnswerLogits(engine, teacher);
  for (let i = 0; i < inputs.length; i++) {
    klStudent.push(await forcedKl(engine, teacher[i], teacherRows[i], studentOut[i].context, student.adapter));
    klBase.push(await forcedKl(engine, teacher[i], teacherRows[i], base[i].context, null));
  }
  const agree = (xs: ChatReply[]) => {
    const rows = xs.map((x, i) => agreement(x.text, teacher[i].text));
    return { exact_match: meanOf(rows.map((r) => r.exactMatch)), token_f1: meanOf(rows.map((r) => r.tokenF1)), rouge_l: meanOf(rows.map((r) => r.rougeL)) };
  };
  const valid = (xs: ChatReply[]) => validActionShare(xs.map((x) => finalAssistantTurn([{ role: 'assistant', content: x.text }])), o.actionPattern!);

  // Efficiency: time to first token for one input with P (nothing cached) and without it.
  o.onProgress?.('timing prefill with and without P');
  const ttft = async (messages: { role: string; content: string }[]) => {
    const t0 = performance.now();
    await runChatReplies(gen, tok, [{ messages, sampling: GREEDY(1) }]);
    return performance.now() - t0;
  };
  const x = inputs[0] ?? 'Hello';
  await ttft(user(x)); // warm pipelines
  const withP = await ttft([...p.messages, ...user(x)]);
  const withoutP = await ttft(user(x));
  const promptTokens = promptTokenCount(tok, p);
  // What a request really saves: with P gone the template may add its default system message instead.
  const savedPerTurn = teacher[0] ? teacher[0].context.length - studentOut[0].context.length : 0;
  const params = engine.weights.bytes / (engine.kernels.f16 ? 2 : 4);

  const st = agree(studentOut);
  const behaviour = o.checker ? scoreBehaviour(o.checker, inputs, answers) : null;
  const first = { teacher, student: studentOut, base };
  const rule = o.checker?.rule && behaviour ? ruleFigures(o.checker.rule, inputs, first, behaviour) : null;
  return {
    inputs: inputs.length,
    ...st,
    base: agree(base),
    kl_teacher_student: meanOf(klStudent),
    kl_teacher_base: meanOf(klBase),
    valid_action: o.actionPattern ? { teacher: valid(teacher), student: valid(studentOut), base: valid(base) } : null,
    rule_accuracy: rule,
    behaviour,
    prompt_tokens: promptTokens,
    tokens_saved_per_turn: savedPerTurn,
    prefill_ms_with_prompt: withP,
    prefill_ms_without_prompt: withoutP,
    // A stateless API re-sends P every turn: 2 FLOPs per parameter per token of P, five times.
    flops_saved_5_turns: 5 * 2 * params * savedPerTurn,
    samples: inputs.slice(0, 5).map((input, i) => ({ input, teacher: teacher[i].text, student: studentOut[i].text, base: base[i].text })),
  };
}

/** The single rule's first-turn figures, computed as evaluation did before later turns were scored. */
function ruleFigures(rule: TestbedRule, inputs: string[], first: Record<Side, ChatReply[]>, b: BehaviourFigures): NonNullable<EvalFigures['rule_accuracy']> {
  const [teacher, student, base] = SIDES.map((side) => ruleAccuracy(rule, first[side].map((x, i) => ({ input: inputs[i], output: x.text }))) ?? 0);
  const misses = b.misses.filter((m) => m.turn === 1).map(({ input, student }) => ({ input, student }));
  return { rule, teacher, student, base, retention: teacher > 0 ? student / teacher : null, misses };
}
