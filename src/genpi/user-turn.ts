// User-turn sampling (Magpie, Xu et al. 2024; docs/METHOD.md "Beyond the paper"): P rendered with the model's own chat
// template, a user turn opened after it, and the model left to write the user's message up to its end of turn.
// It is GenPI's role swap applied to the first turn and needs no instruction following, so it yields inputs on
// models too small to answer "write 8 new messages as a numbered list".
import type { GenRequest, Generator } from '../llama/generator';
import type { Tokenizer } from '../model/tokenizer';
import { promptTokenIds, type ParsedPrompt } from './prompt';
import { DEFAULT_SYNTHESIS } from './synthesis-defaults';

/** Stands in for a user message's text, so the template's own text before it can be found; letters only, so
 * byte-level pre-tokenizers start a new piece at it rather than merging it into what precedes. */
export const USER_TURN_SENTINEL = 'GenpiUserTurnSentinelQx';

/** The tokens that open a user turn after P: P itself (a shareable prefix) and the template's turn opener. */
export type UserTurnOpener =
  | { ok: true; prefix: number[]; prompt: number[] }
  | { ok: false; reason: string };

function isPrefix(a: readonly number[], b: readonly number[]): boolean {
  return a.length < b.length && a.every((t, i) => b[i] === t);
}

/**
 * Renders P plus a user message holding the sentinel, and cuts the text at the sentinel: for any template, what
 * comes before a user's words. The cut is used only if its tokens really begin the whole rendering's tokens (a
 * merge across the cut would make the model continue from tokens it never sees in a real conversation).
 */
export function userTurnOpener(tok: Tokenizer, p: ParsedPrompt): UserTurnOpener {
  let rendered: { text: string; ids: number[] };
  try {
    rendered = tok.applyChatTemplate([...p.messages, { role: 'user', content: USER_TURN_SENTINEL }], { addGenerationPrompt: false });
  } catch (e) {
    return { ok: false, reason: `the chat template cannot add a user turn after the prompt (${(e as Error).message})` };
  }
  const at = rendered.text.lastIndexOf(USER_TURN_SENTINEL);
  if (at < 0) return { ok: false, reason: "the chat template does not show a user message's text as written" };
  const opener = tok.encode(rendered.text.slice(0, at), { addSpecialTokens: false });
  if (!opener.length || !isPrefix(opener, rendered.ids)) {
    return { ok: false, reason: 'the text before a user message does not tokenize to the start of the rendered turn' };
  }
  // P alone, as the TO-BE answers send it: a prefix the generator prefills once and every request reuses.
  const pIds = promptTokenIds(tok, p);
  if (pIds.length && isPrefix(pIds, opener)) return { ok: true, prefix: pIds, prompt: opener.slice(pIds.length) };
  return { ok: true, prefix: [], prompt: opener };
}

/** One sampled user turn: its text, or `cut` when the token limit stopped it before its end of turn. */
export interface UserTurn {
  text: string;
  cut: boolean;
}

/*
 * The nucleus of the user-turn sampling (DEFAULT_SYNTHESIS.userTurnTopP, a synthesis setting), measured both ways and
 * kept at 0.9, docs/METHOD.md's value for inputs. A branch keyed on a digit spreads its mass over nine tokens, each
 * likely below every one of the testbed's 40 words, so the nucleus cuts them: on the compound testbed that branch got
 * 0 of 32 inputs (its student 0% of the teacher) and, on another P, 3 of 64; at top-p 1, 16-19% (the student 83%).
 * But the single-rule testbed's hardest rule fell as the nucleus widened: `reverse` (quality bench, kl_only, default
 * run, turns 1 / 2) kept 96% / 88% at 0.9, 82% / 74% at 0.95, 71% / 67% at 1; run over the whole plan, 92% / 88% at
 * 0.9 and 75% / 71% at 1, so early stopping is not the cause. The inputs at 1 are as long and as clean (the model's
 * words, 2-13 of them, median 4, in both), so what differs is which inputs were drawn; and with another synthesis
 * seed, top-p 1 kept 100% / 96% and 0.9 96% / 96% (126 steps each), so much of that gap is the draw. Those are
 * kl_only's; on_policy, the default since, kept 96% / 96% at top-p 1 on the first dataset (100% / 100% at 0.9) and
 * 100% on every cell of a 314-token compound P. A P with a digit branch the teacher follows (100%; quality bench
 * --compound-pair 1 --compound-seed 2, 300 tokens, on_policy, default plan) then ran at both: at 0.9 the digit
 * branch got 1 of 64 inputs and the student 33% / 67% / 33% of the teacher on it (turns 1-3); at 1, 4 inputs and
 * 100% on every turn; the other branches alike at both. But 1 cost the suite's small runs: the compound preset at
 * 32 samples and 3 epochs of on_policy kept the "?" branch at 42% / 67% (100% at 0.9, the same coverage; 75% / 75%
 * at 5 epochs, so not the run's size alone), and a
 * random tiny model's user turns ran past the token limit more often (23 unique of 32 and 7 too long, against 30 and
 * 2 at 0.9). On the single rules on_policy at 1 kept `first` 100% / 100%, `double` 100% / 96%, `reverse` 96% / 96%
 * (one input under 0.9 on the last two), `count` and `last` 100% / 100%. So the default stays at 0.9 for now: the
 * small runs the suite can afford fell, and the seed-2 `reverse` has not run at 1. A P whose branch hangs on rare
 * tokens can widen it. min-p
 * (userTurnMinP) cut nothing to clean at top-p 1 on these models and cost the digit branch a little (0.05: 16%, 0.1:
 * 11%, 0.2: 9%). The coverage line gives each branch's share of the inputs.
 */

/**
 * `count` user turns sampled after the opener [temperature 1.0, top-p DEFAULT_SYNTHESIS.userTurnTopP], each with its
 * own seed, each stopped at the model's end of turn (the generator's default stops).
 */
export async function sampleUserTurns(gen: Generator, opener: { prefix: number[]; prompt: number[] }, count: number,
  o: { seed: number; maxNewTokens: number; topP?: number; minP?: number; signal?: AbortSignal }): Promise<UserTurn[]> {
  if (count <= 0) return [];
  const reqs: GenRequest[] = Array.from({ length: count }, (_, i) => ({
    prompt: opener.prompt, prefix: opener.prefix, maxNewTokens: o.maxNewTokens,
    temperature: 1, topP: o.topP ?? DEFAULT_SYNTHESIS.userTurnTopP, minP: o.minP ?? DEFAULT_SYNTHESIS.userTurnMinP, seed: (o.seed + i * 7919) >>> 0, signal: o.signal,
  }));
  const out = await gen.generate(reqs);
  if (o.signal?.aborted) throw o.signal.reason ?? new Error('cancelled');
  return out.map((r) => ({ text: r.text.trim(), cut: r.finishReason === 'length' }));
}
