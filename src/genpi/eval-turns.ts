// Later turns of a conversation, scored per branch: a student can keep P on the first turn and lose it after one
// exchange (issue 22 measured 95% on turn 1 and 15% on turn 2), which single-turn scores never show. Conversation i
// asks inputs i, i+1, ... (mod n) in turn, so every input is asked once at every turn and each turn's branch mix is
// the first turn's; each model answers with its own earlier answers in the context: the teacher with P, the student
// with its adapter and no P, the base with neither. Each turn's answer is scored against that turn's input.
import type { Generator } from '../llama/generator';
import type { Tokenizer } from '../model/tokenizer';
import type { ChatMessage } from '../model/tokenizer';
import type { BehaviourChecker } from './behaviour';
import { GREEDY, runChatReplies, type ChatReply } from './chat';
import type { ParsedPrompt } from './prompt';

export const SIDES = ['teacher', 'student', 'base'] as const;
export type Side = (typeof SIDES)[number];

/** The input conversation `i` asks at turn `t` (0-based). */
export function turnInput(inputs: readonly string[], i: number, t: number): string {
  return inputs[(i + t) % inputs.length];
}

/** Conversation `i` up to turn `t`: the earlier turns with this side's own answers, then turn t's input. */
export function turnMessages(inputs: readonly string[], i: number, t: number, earlier: readonly ChatReply[][]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (let u = 0; u < t; u++) out.push({ role: 'user', content: turnInput(inputs, i, u) }, { role: 'assistant', content: earlier[u][i].text });
  out.push({ role: 'user', content: turnInput(inputs, i, t) });
  return out;
}

/**
 * One side's answers at turn t (= earlier.length) for every conversation, greedy. Turn 1 runs as evaluation always
 * has; a later turn too long for the generator is skipped (reply.skipped), as are the turns after a skipped one.
 */
export async function sideTurn(gen: Generator, tok: Tokenizer, p: ParsedPrompt, inputs: readonly string[], side: Side,
  earlier: readonly ChatReply[][], o: { adapter: string; maxNewTokens: number; signal?: AbortSignal }): Promise<ChatReply[]> {
  const t = earlier.length;
  const head = side === 'teacher' ? p.messages : [];
  const live = inputs.map((_, i) => i).filter((i) => earlier.every((r) => !r[i].skipped));
  const replies = await runChatReplies(gen, tok, live.map((i) => ({
    messages: [...head, ...turnMessages(inputs, i, t, earlier)],
    ...(side === 'teacher' ? { prefixMessages: p.messages.length } : {}),
    sampling: GREEDY(o.maxNewTokens),
    ...(side === 'student' ? { adapter: o.adapter } : {}),
  })), o.signal, { skipTooLong: t > 0 });
  const out: ChatReply[] = inputs.map(() => ({ text: '', tokens: [], context: [], cut: false, skipped: 'an earlier turn of this conversation was skipped' }));
  live.forEach((i, k) => (out[i] = replies[k]));
  return out;
}

/** Teacher, student and base accuracy over some answers, and retention = student / teacher (null when teacher is 0). */
export interface BehaviourCell {
  inputs: number;
  teacher: number;
  student: number;
  base: number;
  retention: number | null;
}

/**
 * Retention per branch and per turn. `retention` is the worst cell (a branch at a turn) with at least
 * MIN_CELL_INPUTS inputs: a student that keeps every branch on turn 1 and loses one on turn 2 scores that turn-2
 * branch. Empty cells (a branch no input fell in) are listed with 0 inputs, so a missing branch is seen.
 */
export interface BehaviourFigures {
  testbed: BehaviourChecker['testbed'];
  turns: number;
  cells: ({ branch: string; turn: number } & BehaviourCell)[];
  per_branch: ({ branch: string } & BehaviourCell)[];
  per_turn: ({ turn: number } & BehaviourCell)[];
  worst: { branch: string; turn: number; retention: number } | null;
  retention: number | null;
  /** The first few answers the teacher got right and the student did not. */
  misses: { branch: string; turn: number; input: string; student: string }[];
}

/** Fewer inputs than this in a cell make its retention too noisy to call it the worst. */
export const MIN_CELL_INPUTS = 4;

/** Scores answers[side][turn][i] (conversation i; skipped replies left out) with the checker. */
export function scoreBehaviour(checker: BehaviourChecker, inputs: readonly string[], answers: Record<Side, readonly ChatReply[][]>): BehaviourFigures {
  const turns = answers.teacher.length;
  const rows: { branch: string; turn: number; input: string; ok: Record<Side, boolean>; student: string }[] = [];
  for (let t = 0; t < turns; t++) {
    for (let i = 0; i < inputs.length; i++) {
      if (SIDES.some((s) => answers[s][t][i].skipped)) continue;
      const input = turnInput(inputs, i, t);
      const ok = Object.fromEntries(SIDES.map((s) => [s, checker.follows(input, answers[s][t][i].text)])) as Record<Side, boolean>;
      rows.push({ branch: checker.branchOf(input), turn: t + 1, input, ok, student: answers.student[t][i].text });
    }
  }
  const cell = (keep: (r: (typeof rows)[number]) => boolean): BehaviourCell => {
    const xs = rows.filter(keep);
    const share = (s: Side) => (xs.length ? xs.filter((r) => r.ok[s]).length / xs.length : 0);
    const [teacher, student, base] = SIDES.map(share);
    return { inputs: xs.length, teacher, student, base, retention: teacher > 0 ? student / teacher : null };
  };
  const turnList = Array.from({ length: turns }, (_, t) => t + 1);
  const cells = checker.branches.flatMap((branch) => turnList.map((turn) => ({ branch, turn, ...cell((r) => r.branch === branch && r.turn === turn) })));
  let worst: BehaviourFigures['worst'] = null;
  for (const c of cells) {
    if (c.inputs < MIN_CELL_INPUTS || c.retention === null) continue;
    if (!worst || c.retention < worst.retention) worst = { branch: c.branch, turn: c.turn, retention: c.retention };
  }
  return {
    testbed: checker.testbed,
    turns,
    cells,
    per_branch: checker.branches.map((branch) => ({ branch, ...cell((r) => r.branch === branch) })),
    per_turn: turnList.map((turn) => ({ turn, ...cell((r) => r.turn === turn) })),
    worst,
    retention: worst?.retention ?? null,
    misses: rows.filter((r) => r.ok.teacher && !r.ok.student).slice(0, 8).map(({ branch, turn, input, student }) => ({ branch, turn, input, student })),
  };
}
