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
 * The nucleus of the user-turn sampling (DEFAULT_SYNTHESIS.userTurnTopP, a synthesis setting) is 1, the whole
 * distribution. A branch keyed on a digit spreads its mass over nine tokens, each likely below every one of the
 * testbed's 40 words, so a nucleus cuts them. On the compound testbed, a 300-token P with a digit branch the teacher
 * follows (quality bench --compound-pair 1 --compound-seed 2) got 1, 0 and 3 digit inputs of 64 at top-p 0.9 (synthesis
 * seeds 0, 1, 2), and 4, 15 and 12 at 1; the default variant (on_policy, default plan) kept 33% / 67% / 33% of the
 * teacher on that branch at 0.9 (turns 1-3) and 100% on every turn at 1. At the default size 1 held elsewhere too:
 * on_policy kept >= 95% of the teacher on every cell of the single rules (worst: `reverse` with synthesis seed 2, 95% /
 * 95% on turns 1 / 2, where 0.9 kept 100% / 96%; `double` 100% / 96% and seed-0 `reverse` 96% / 96% against 100% at
 * 0.9) and 100% on every cell of the 314-token compound P. On the 1,509-token compound P, where the teacher itself
 * follows "?" 71-86% of the time, synthesis seed 1 kept every cell, seed 0 two "?" inputs short at turns 2-3 (67% of
 * the teacher; 100% at 0.9) and seed 2 one input of the rest short at turn 3 (87% of a teacher at 80%). What 1 costs:
 * kl_only's seed-0 `reverse` fell from 96% / 88% to 71% / 67% (with synthesis seed 1 it was 100% / 96% at 1, so much of
 * it is the draw); runs far below the default size stand on which few inputs were drawn (the suite's compound run at 32
 * samples and 3 epochs kept "?" at 42% / 67% at 1, 100% at 0.9, with the same coverage; that test samples at 0.9); and
 * a random tiny model's user turns ran past the token limit more often (7 of 32 against 2). min-p (userTurnMinP) cut
 * nothing to clean at top-p 1 on these models and cost the digit branch a little (0.05: 16% of the inputs, 0.1: 11%,
 * 0.2: 9%, against 17% without). The coverage line gives each branch's share of the inputs.
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
