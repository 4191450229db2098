// GenPI's data synthesis from the prompt alone (docs/METHOD.md "Data synthesis"): pseudo inputs, TO-BE answers and
// role-played conversations, with the quality figures, for any prompt; the AS-IS answers and reasons only
// prompt generation reads are made only when asked for (record-parts.ts).
import type { Generator } from '../llama/generator';
import { Rng } from '../util/rng';
import type { Tokenizer } from '../model/tokenizer';
import { OPTIONAL_PARTS, recordParts, type OptionalPart } from '../train/sequences';
import type { BehaviourChecker } from './behaviour';
import { GREEDY, runChatReplies } from './chat';
import { coverageOf } from './coverage';
import type { DatasetFigures, GenpiRecord, SkippedRequests } from './dataset';
import { gatherInputs } from './gather-inputs';
import { MAX_INPUT_POOL } from './input-spread';
import type { GeneratedSource, InputSource } from './input-mix';
import { finalAssistantTurn, validActionShare } from './metrics';
import { splitHeldOut } from './pseudo-inputs';
import type { ParsedPrompt } from './prompt';
import { promptRoom } from './prompt-room';
import { makeParts } from './record-parts';
import { DEFAULT_ENVIRONMENT, rolePlay, type Environment } from './roleplay';
import { checkFloor, SynthesisError, type Shortfall } from './shortfall';
import { chainPlan, chainTurns } from './chain-turns';
import { DEFAULT_SYNTHESIS } from './synthesis-defaults';
import type { SynthesisStage } from './synthesis-stages';

export interface SynthesisOptions {
  samples: number; // N unique pseudo inputs (held-out ones included)
  heldout: number; // fraction kept for evaluation [0.1]
  maxTurns: number; // teacher turns per conversation
  seed: number;
  seedInputs?: string[]; // typed or imported by the user; used first, and as demonstrations
  environment?: Environment;
  actionPattern?: RegExp;
  maxNewTokens?: number; // per answer [256]
  reasonTokens?: number; // per reason [512]
  maxInputChars?: number; // longer pseudo inputs are dropped [1000]
  inputsPerRequest?: number; // [8]
  maxRounds?: number; // retry budget for pseudo inputs [max(4, 2·N/inputsPerRequest)]; 0: seed inputs only
  sources?: readonly GeneratedSource[]; // what the model writes inputs by [user-turn sampling and the list request]
  userTurnTokens?: number; // longest user turn sampled [256]
  userTurnTopP?: number; // nucleus of the user-turn sampling [DEFAULT_SYNTHESIS.userTurnTopP]
  userTurnMinP?: number; // min-p of the user-turn sampling [DEFAULT_SYNTHESIS]
  inputPool?: number; // unique inputs gathered per input kept, spread over their traits [DEFAULT_SYNTHESIS.inputPool]
  /** The parts only prompt generation reads, made too [none: the default variant reads neither]. */
  parts?: readonly OptionalPart[];
  /** Most user turns a training conversation is continued to with other training inputs [3]; 1 is off (chain-turns.ts). */
  chainTurns?: number;
  /** Share of the training conversations continued so [0.5]. */
  chainShare?: number;
  /** What P asks, on a testbed model: the figures then count the inputs per branch (coverage.ts). */
  checker?: BehaviourChecker | null;
  signal?: AbortSignal;
  onProgress?: (p: SynthesisStage) => void;
}

export async function synthesize(gen: Generator, tok: Tokenizer, p: ParsedPrompt, o: SynthesisOptions): Promise<{ records: GenpiRecord[]; figures: DatasetFigures }> {
  const env = o.environment ?? DEFAULT_ENVIRONMENT;
  const maxNew = o.maxNewTokens ?? 256;
  const reasonTokens = o.reasonTokens ?? 512;
  const context = gen.engine.cfg.maxPositionEmbeddings;
  const topP = o.userTurnTopP;
  // Out of range, every user turn would come from one token, or none: refused up front (an empty field is the default).
  if (topP != null && !(topP > 0 && topP <= 1)) throw new SynthesisError(`the user-turn top-p must be in (0, 1], got ${topP}: ${DEFAULT_SYNTHESIS.userTurnTopP} is the default`);
  const minP = o.userTurnMinP;
  if (minP != null && !(minP >= 0 && minP <= 1)) throw new SynthesisError(`the user-turn min-p must be in [0, 1], got ${minP}: 0 is off`);
  const pool = o.inputPool ?? DEFAULT_SYNTHESIS.inputPool;
  if (!(pool >= 1 && pool <= MAX_INPUT_POOL)) throw new SynthesisError(`the input pool must be from 1 to ${MAX_INPUT_POOL} inputs gathered per input kept, got ${pool}: 1 keeps the first N drawn, 2 keeps N of twice as many, spread over their traits`);
  // P so long that no request holding it can run: nothing to synthesize, and the error says by how much.
  promptRoom(tok, p, context, maxNew).check();
  o.onProgress?.({ stage: 'inputs', done: 0, total: o.samples });
  const got = await gatherInputs(gen, tok, p, { ...o, onProgress: (done) => o.onProgress?.({ stage: 'inputs', done, total: o.samples }) });
  const gathered = got.inputs;
  const n = gathered.length;
  let emptyAnswers = 0; // TO-BE answers that came back empty or blank (below)
  const short = (k: number): Shortfall | null => k < o.samples
    ? { missing: o.samples - k, dropped: emptyAnswers ? { ...got.dropped, empty_answer: emptyAnswers } : got.dropped, rounds: got.rounds, budget_spent: got.budgetSpent }
    : null;
  // Before any answer is generated: a run with too few inputs stops now, saying what to change.
  if (n < o.samples) {
    const off = [got.userTurnOff && `user-turn sampling was off: ${got.userTurnOff}`, got.listOff];
    checkFloor(n, o, short(n)!, off.filter(Boolean).join('; ') || null);
  }
  const skipped: SkippedRequests = { ...got.skipped };

  // Step 2: TO-BE with P, greedy. An input too long to answer with P in the context is skipped, not fatal.
  o.onProgress?.({ stage: 'answers', done: 0, total: n });
  const answered = await runChatReplies(gen, tok, gathered.map((input) => ({
    messages: [...p.messages, { role: 'user', content: input }], prefixMessages: p.messages.length, sampling: GREEDY(maxNew),
  })), o.signal, { skipTooLong: true, onDone: (done) => o.onProgress?.({ stage: 'answers', done, total: n }) });
  const keep = answered.map((r, i) => (r.skipped ? -1 : i)).filter((i) => i >= 0);
  const skippedAnswer = answered.find((r) => r.skipped)?.skipped;
  if (skippedAnswer) skipped.answer = { count: n - keep.length, why: `the answer request does not fit: ${skippedAnswer}` };
  if (!keep.length) throw new SynthesisError(`no input could be answered with the prompt: ${skipped.answer!.why}. ${promptRoom(tok, p, context, maxNew).sentence}`);
  // An empty or blank answer teaches nothing (train/answers.ts): dropped and counted, as an empty input is, and the
  // floor checked again, so a run of empty answers is an error, never a dataset that looks complete.
  const kept = keep.filter((i) => answered[i].text.trim() !== '');
  emptyAnswers = keep.length - kept.length;
  if (emptyAnswers) checkFloor(kept.length, o, short(kept.length)!, null);
  const inputs = kept.map((i) => gathered[i]);
  const sourceOf = kept.map((i) => got.sourceOf[i]);
  const toBeReplies = kept.map((i) => answered[i]);
  const toBe = toBeReplies.map((r) => r.text);

  // Step 3: role-play from the TO-BE answer on.
  const convs = await rolePlay(gen, tok, p, inputs, toBeReplies, {
    env, maxTurns: o.maxTurns, maxNewTokens: maxNew, signal: o.signal,
    onTurn: (turn) => o.onProgress?.({ stage: 'roleplay', done: turn, total: o.maxTurns }),
  });
  const ended = convs.filter((c) => c.skipped);
  if (ended.length) skipped.roleplay = { count: ended.length, why: ended[0].skipped! };

  const { heldout } = splitHeldOut(inputs.map((_, i) => i), o.heldout, new Rng(o.seed).fork('split'));
  const held = new Set(heldout);

  // Step 3b: later turns from other training inputs, for training conversations the role-play left at one turn.
  const chainTo = o.chainTurns ?? DEFAULT_SYNTHESIS.chainTurns;
  const plan = chainPlan(convs.map((c, i) => !held.has(i) && !c.endMarker && !c.skipped && c.conversation.length === 2), {
    turns: chainTo, share: o.chainShare ?? DEFAULT_SYNTHESIS.chainShare, seed: o.seed,
  });
  if (plan.some((t) => t > 1)) {
    await chainTurns(gen, tok, p, convs, inputs.filter((_, i) => !held.has(i)), plan, {
      maxNewTokens: maxNew, seed: o.seed, signal: o.signal,
      onTurn: (turn, of) => o.onProgress?.({ stage: 'later_turns', done: turn, total: of }),
    });
  }
  // `inputs`: the list request's sampling, then the user turns' (which the user can set), so a dataset says how its
  // inputs were drawn.
  const inputSampling = { temperature: 1, top_p: 0.9, user_turn_top_p: topP ?? DEFAULT_SYNTHESIS.userTurnTopP, user_turn_min_p: minP ?? DEFAULT_SYNTHESIS.userTurnMinP, pool };
  const settings = { seed: o.seed, max_turns: o.maxTurns, chain_turns: chainTo, environment: env, max_new_tokens: maxNew, inputs: inputSampling, reasons: { temperature: 0.7, top_p: 0.9, max_new_tokens: reasonTokens } };
  const records: GenpiRecord[] = inputs.map((input, i) => ({
    id: `r${String(i).padStart(5, '0')}`, input, as_is: '', to_be: toBe[i], reason: '',
    conversation: convs[i].conversation, split: held.has(i) ? 'heldout' : 'train',
    // Which teacher turns the token limit cut: training must not teach the student to stop where they were cut.
    // `parts`: which of the optional parts (AS-IS answer, reason) the record holds; makeParts adds them.
    settings: { ...settings, cut_turns: convs[i].cutTurns, input_source: sourceOf[i], parts: [] },
  }));
  // Steps 2 and 3 of the paper for prompt generation only: AS-IS answers without P, then reasons, when asked for.
  if (o.parts?.length) {
    const r = await makeParts(gen, tok, p, records, o.parts, { maxNewTokens: maxNew, reasonTokens, seed: o.seed, signal: o.signal, onProgress: o.onProgress });
    if (r) skipped.reason = r;
  }
  const turns = convs.map((c) => c.conversation.filter((m) => m.role === 'assistant').length);
  const m = inputs.length;
  const share = (k: number) => (m ? k / m : 0);
  const count = (s: InputSource) => sourceOf.filter((x) => x === s).length;
  const figures: DatasetFigures = {
    records: m,
    mean_turns: turns.reduce((a, b) => a + b, 0) / Math.max(1, m),
    share_turn_limit: share(convs.filter((c) => c.stoppedByLimit).length),
    share_no_end_marker: share(convs.filter((c) => !c.endMarker).length),
    duplicates_dropped: got.dropped.duplicate,
    share_invalid_action: o.actionPattern ? 1 - validActionShare(convs.map((c) => finalAssistantTurn(c.conversation)), o.actionPattern)! : null,
    requested: o.samples,
    sources: { seed: count('seed'), user_turn: count('user_turn'), list: count('list') },
    inputs_asked: got.asked,
    input_pool: got.pool,
    user_turn_off: got.userTurnOff,
    list_off: got.listOff,
    shortfall: short(m),
    parts: OPTIONAL_PARTS.filter((x) => records.every((r) => recordParts(r).includes(x))),
    skipped_requests: skipped,
    coverage: coverageOf(inputs, p, o.checker ?? null),
  };
  return { records, figures };
}
