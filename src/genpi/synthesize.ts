// GenPI's data synthesis from the prompt alone (GENPI.md "Data synthesis"): pseudo inputs, AS-IS and TO-BE
// answers, reasons, and role-played conversations, with the quality figures, for any prompt.
import type { Generator } from '../llama/generator';
import { Rng } from '../util/rng';
import type { ChatMessage, Tokenizer } from '../model/tokenizer';
import { GREEDY, runChatReplies, runChats } from './chat';
import type { DatasetFigures, GenpiRecord } from './dataset';
import { gatherInputs } from './gather-inputs';
import type { GeneratedSource, InputSource } from './input-mix';
import { finalAssistantTurn, validActionShare } from './metrics';
import { splitHeldOut } from './pseudo-inputs';
import type { ParsedPrompt } from './prompt';
import { DEFAULT_ENVIRONMENT, rolePlay, type Environment } from './roleplay';
import { checkFloor, type Shortfall } from './shortfall';

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
  signal?: AbortSignal;
  onProgress?: (p: { stage: 'inputs' | 'answers' | 'reasons' | 'roleplay'; done: number; total: number }) => void;
}

export function reasonRequest(p: ParsedPrompt, input: string, asIs: string, toBe: string): ChatMessage[] {
  return [{
    role: 'user',
    content: `An assistant answered the same input twice: once without the context below (AS-IS) and once with it ` +
      `(TO-BE). In about five sentences, explain with reference to the context why the answer should change from ` +
      `AS-IS to TO-BE.\n\n## Context\n${p.text}\n\n## Input\n${input}\n\n## AS-IS\n${asIs}\n\n## TO-BE\n${toBe}`,
  }];
}

export async function synthesize(gen: Generator, tok: Tokenizer, p: ParsedPrompt, o: SynthesisOptions): Promise<{ records: GenpiRecord[]; figures: DatasetFigures }> {
  const env = o.environment ?? DEFAULT_ENVIRONMENT;
  const maxNew = o.maxNewTokens ?? 256;
  const reasonTokens = o.reasonTokens ?? 512;
  const got = await gatherInputs(gen, tok, p, { ...o, onProgress: (done) => o.onProgress?.({ stage: 'inputs', done, total: o.samples }) });
  const gathered = got.inputs;
  let emptyAnswers = 0; // TO-BE answers that came back empty or blank (below)
  const short = (k: number): Shortfall | null => k < o.samples
    ? { missing: o.samples - k, dropped: emptyAnswers ? { ...got.dropped, empty_answer: emptyAnswers } : got.dropped, rounds: got.rounds, budget_spent: got.budgetSpent }
    : null;
  // Before any answer is generated: a run with too few inputs stops now, saying what to change.
  if (gathered.length < o.samples) checkFloor(gathered.length, o, short(gathered.length)!, got.userTurnOff);

  // Step 2: TO-BE with P, then AS-IS without P, greedy.
  o.onProgress?.({ stage: 'answers', done: 0, total: gathered.length });
  const answered = await runChatReplies(gen, tok, gathered.map((input) => ({
    messages: [...p.messages, { role: 'user', content: input }], prefixMessages: p.messages.length, sampling: GREEDY(maxNew),
  })), o.signal);
  // An empty or blank answer teaches nothing (train/answers.ts): dropped and counted, as an empty input is, and the
  // floor checked again, so a run of empty answers is an error, never a dataset that looks complete.
  const kept = gathered.map((_, i) => i).filter((i) => answered[i].text.trim() !== '');
  emptyAnswers = gathered.length - kept.length;
  if (emptyAnswers) checkFloor(kept.length, o, short(kept.length)!, null);
  const inputs = kept.map((i) => gathered[i]);
  const sourceOf = kept.map((i) => got.sourceOf[i]);
  const toBeReplies = kept.map((i) => answered[i]);
  const n = inputs.length;
  const asIs = await runChats(gen, tok, inputs.map((input) => ({ messages: [{ role: 'user', content: input }], sampling: GREEDY(maxNew) })), o.signal);
  const toBe = toBeReplies.map((r) => r.text);
  o.onProgress?.({ stage: 'answers', done: n, total: n });

  // Step 3: reasons, sampled.
  const reasons = await runChats(gen, tok, inputs.map((input, i) => ({
    messages: reasonRequest(p, input, asIs[i], toBe[i]), sampling: { temperature: 0.7, topP: 0.9, maxNewTokens: reasonTokens, seed: o.seed + i },
  })), o.signal);
  o.onProgress?.({ stage: 'reasons', done: n, total: n });

  // Step 4: role-play from the TO-BE answer on.
  const convs = await rolePlay(gen, tok, p, inputs, toBeReplies, {
    env, maxTurns: o.maxTurns, maxNewTokens: maxNew, signal: o.signal,
    onTurn: (turn) => o.onProgress?.({ stage: 'roleplay', done: turn, total: o.maxTurns }),
  });

  const { heldout } = splitHeldOut(inputs.map((_, i) => i), o.heldout, new Rng(o.seed).fork('split'));
  const held = new Set(heldout);
  const settings = { seed: o.seed, max_turns: o.maxTurns, environment: env, max_new_tokens: maxNew, inputs: { temperature: 1, top_p: 0.9 }, reasons: { temperature: 0.7, top_p: 0.9, max_new_tokens: reasonTokens } };
  const records: GenpiRecord[] = inputs.map((input, i) => ({
    id: `r${String(i).padStart(5, '0')}`, input, as_is: asIs[i], to_be: toBe[i], reason: reasons[i],
    conversation: convs[i].conversation, split: held.has(i) ? 'heldout' : 'train',
    // Which teacher turns the token limit cut: training must not teach the student to stop where they were cut.
    settings: { ...settings, cut_turns: convs[i].cutTurns, input_source: sourceOf[i] },
  }));
  const turns = convs.map((c) => c.conversation.filter((m) => m.role === 'assistant').length);
  const share = (k: number) => (n ? k / n : 0);
  const count = (s: InputSource) => sourceOf.filter((x) => x === s).length;
  const figures: DatasetFigures = {
    records: n,
    mean_turns: turns.reduce((a, b) => a + b, 0) / Math.max(1, n),
    share_turn_limit: share(convs.filter((c) => c.stoppedByLimit).length),
    share_no_end_marker: share(convs.filter((c) => !c.endMarker).length),
    duplicates_dropped: got.dropped.duplicate,
    share_invalid_action: o.actionPattern ? 1 - validActionShare(convs.map((c) => finalAssistantTurn(c.conversation)), o.actionPattern)! : null,
    requested: o.samples,
    sources: { seed: count('seed'), user_turn: count('user_turn'), list: count('list') },
    inputs_asked: got.asked,
    user_turn_off: got.userTurnOff,
    shortfall: short(n),
  };
  return { records, figures };
}
