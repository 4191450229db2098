// Step 1 of synthesis (docs/METHOD.md "Data synthesis", "Beyond the paper"): unique pseudo inputs from the user's seed
// inputs first, then rounds of model requests mixed between user-turn sampling and the numbered-list request,
// each round's requests given to the sources by what they last yielded, until N inputs (or a pool of K·N, of which
// input-spread.ts keeps N) or the retry budget is spent. Everything dropped is counted, so a shortfall can say why.
import type { Generator } from '../llama/generator';
import { Rng } from '../util/rng';
import type { Tokenizer } from '../model/tokenizer';
import { chatTokens, runChatReplies } from './chat';
import type { SkippedRequests } from './dataset';
import { GENERATED_SOURCES, SourceMix, type GeneratedSource, type InputSource, type RoundTally } from './input-mix';
import { acceptInputs, buildPseudoInputRequest, parseGeneratedInputs } from './pseudo-inputs';
import { demonstrationInputs, type ParsedPrompt } from './prompt';
import { spreadInputs } from './input-spread';
import { DEFAULT_SYNTHESIS } from './synthesis-defaults';
import { sampleUserTurns, userTurnOpener } from './user-turn';

export interface GatherOptions {
  samples: number;
  seed: number;
  seedInputs?: string[];
  maxInputChars?: number; // longer pseudo inputs are dropped [1000]
  inputsPerRequest?: number; // inputs one list request asks for [8]
  maxRounds?: number; // retry budget [max(4, 2·N/inputsPerRequest)]; 0: the seed inputs only
  /** The sources the model writes for [both]; user-turn sampling drops out when the template cannot open a user turn. */
  sources?: readonly GeneratedSource[];
  userTurnTokens?: number; // a user turn longer than this is dropped as too long [256]
  userTurnTopP?: number; // nucleus of the user-turn sampling [DEFAULT_SYNTHESIS.userTurnTopP]
  userTurnMinP?: number; // min-p of the user-turn sampling [DEFAULT_SYNTHESIS.userTurnMinP]
  /** Unique inputs gathered per input kept, the kept spread over their traits (input-spread.ts) [DEFAULT_SYNTHESIS.inputPool]; 1 keeps the first N. */
  inputPool?: number;
  signal?: AbortSignal;
  onProgress?: (done: number) => void;
}

export interface GatheredInputs {
  inputs: string[];
  /** Where each input came from. */
  sourceOf: InputSource[];
  dropped: { duplicate: number; empty: number; too_long: number };
  /** Inputs asked of each source the model writes for (a list request asks for several). */
  asked: Record<GeneratedSource, number>;
  /** Each round's inputs asked and unique ones accepted, per source asked in it. */
  perRound: Partial<Record<GeneratedSource, RoundTally>>[];
  rounds: number;
  maxRounds: number;
  budgetSpent: boolean;
  /** Unique inputs gathered before the N kept were chosen from them (input-spread.ts). */
  pool: number;
  /** Why user-turn sampling was not used although asked for; null when it was (or was not asked for). */
  userTurnOff: string | null;
  /** Why the list request was not used although asked for (P in its instructions does not fit the context); else null. */
  listOff: string | null;
  /** List requests not sent because, with their demonstrations, they do not fit the context. */
  skipped: Pick<SkippedRequests, 'list'>;
}

/** Inputs asked per round at most, in list requests of `inputsPerRequest`: a round stays a few generator batches. */
const ROUND_REQUESTS = 4;
/** A round asks for at most 4x what is missing, however little the sources yielded. */
const MIN_EXPECTED_YIELD = 0.25;

export async function gatherInputs(gen: Generator, tok: Tokenizer, p: ParsedPrompt, o: GatherOptions): Promise<GatheredInputs> {
  const seen = new Set<string>();
  const out: GatheredInputs = {
    inputs: [], sourceOf: [], dropped: { duplicate: 0, empty: 0, too_long: 0 }, asked: { user_turn: 0, list: 0 }, perRound: [],
    pool: 0, rounds: 0, maxRounds: 0, budgetSpent: false, userTurnOff: null, listOff: null, skipped: {},
  };
  // The pool the N inputs are chosen from: only inputs the model writes are drawn beyond N.
  const target = Math.max(o.samples, Math.ceil(o.samples * (o.inputPool ?? DEFAULT_SYNTHESIS.inputPool)));
  const report = () => o.onProgress?.(Math.min(o.samples, Math.floor((out.inputs.length * o.samples) / target)));
  /** Keeps the unique candidates (up to the pool's size); returns how many were unique, kept or not, for the source's yield. */
  const take = (candidates: string[], source: InputSource): number => {
    const r = acceptInputs(candidates, seen, { maxChars: o.maxInputChars ?? 1000 });
    for (const a of r.accepted) {
      if (out.inputs.length >= target) break;
      out.inputs.push(a);
      out.sourceOf.push(source);
    }
    out.dropped.empty += r.dropped.empty;
    out.dropped.too_long += r.dropped.tooLong;
    out.dropped.duplicate += r.dropped.duplicate;
    return r.accepted.length;
  };
  take(o.seedInputs ?? [], 'seed');

  const wanted = o.sources ?? GENERATED_SOURCES;
  const opener = wanted.includes('user_turn') ? userTurnOpener(tok, p) : null;
  if (opener && !opener.ok) out.userTurnOff = opener.reason;
  const open = opener?.ok ? opener : null;
  const perRequest = o.inputsPerRequest ?? 8;
  // The list request wraps P in instructions: a P that fits the context may leave no room for them. Measured without
  // demonstrations (the shortest it gets), it is left out rather than failing the run, and user turns are sampled.
  if (wanted.includes('list') || !open) {
    const why = gen.tooLong(chatTokens(tok, buildPseudoInputRequest(p, [], perRequest)));
    if (why) out.listOff = `the list request does not fit: ${why}`;
  }
  let available = wanted.filter((s) => (s !== 'user_turn' || open) && (s !== 'list' || !out.listOff));
  // The template cannot open a user turn: the list request alone, if it fits.
  if (!available.length && !out.listOff) available = ['list'];
  const mix = new SourceMix(available);

  out.maxRounds = o.maxRounds ?? Math.max(4, Math.ceil((2 * target) / perRequest));
  const rng = new Rng(o.seed).fork('demos');
  const pool = [...demonstrationInputs(p), ...(o.seedInputs ?? [])];
  for (let round = 0; available.length && round < out.maxRounds && out.inputs.length < target; round++) {
    // Enough to fill what is missing at the yield the sources last showed: a surplus costs less than another round.
    const missing = target - out.inputs.length;
    const alloc = mix.allocate(Math.min(ROUND_REQUESTS * perRequest, Math.ceil(missing / Math.max(MIN_EXPECTED_YIELD, mix.expectedYield()))));
    const tally: Partial<Record<GeneratedSource, RoundTally>> = {};

    const turns = alloc.get('user_turn') ?? 0;
    if (open && turns) {
      const replies = await sampleUserTurns(gen, open, turns, {
        seed: o.seed + 1000 * round + 500, maxNewTokens: o.userTurnTokens ?? 256, topP: o.userTurnTopP, minP: o.userTurnMinP, signal: o.signal,
      });
      // A turn the token limit cut has no end: it is not the user's whole message.
      const whole = replies.filter((r) => !r.cut).map((r) => r.text);
      out.dropped.too_long += replies.length - whole.length;
      tally.user_turn = { asked: turns, accepted: take(whole, 'user_turn') };
    }

    // Rounded, not rounded up: a few inputs' share must not buy a whole list more than was given.
    const listShare = alloc.get('list') ?? 0;
    const requests = listShare ? Math.max(1, Math.round(listShare / perRequest)) : 0;
    if (requests) {
      const jobs = Array.from({ length: requests }, (_, j) => {
        // A few demonstrations, drawn afresh per request so the model does not copy one list.
        const demos = pool.length ? Array.from({ length: Math.min(3, pool.length) }, () => pool[Math.floor(rng.next() * pool.length)]) : [];
        return { messages: buildPseudoInputRequest(p, [...new Set(demos)], perRequest), sampling: { temperature: 1, topP: 0.9, maxNewTokens: 40 * perRequest, seed: o.seed + 1000 * round + j } };
      });
      let accepted = 0;
      for (const r of await runChatReplies(gen, tok, jobs, o.signal, { skipTooLong: true })) {
        if (r.skipped) {
          out.skipped.list = { count: (out.skipped.list?.count ?? 0) + 1, why: `the list request does not fit: ${r.skipped}` };
          continue;
        }
        if (!r.text.trim()) out.dropped.empty++; // an empty reply: no list at all
        accepted += take(parseGeneratedInputs(r.text), 'list');
      }
      tally.list = { asked: requests * perRequest, accepted };
    }
    for (const s of GENERATED_SOURCES) out.asked[s] += tally[s]?.asked ?? 0;
    mix.record(tally);
    out.perRound.push(tally);
    out.rounds = round + 1;
    report();
  }
  out.pool = out.inputs.length;
  if (out.inputs.length > o.samples) {
    const kept = spreadInputs(out.inputs, o.samples, { keep: out.sourceOf.filter((s) => s === 'seed').length });
    out.inputs = kept.map((i) => out.inputs[i]);
    out.sourceOf = kept.map((i) => out.sourceOf[i]);
  }
  out.budgetSpent = out.inputs.length < o.samples && out.rounds >= out.maxRounds;
  return out;
}
