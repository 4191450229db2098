// GenPI's data synthesis from the prompt alone (GENPI.md "Data synthesis"): pseudo inputs, AS-IS and TO-BE
// answers, reasons, and role-played conversations, with the quality figures, for any prompt.
import type { Generator } from '../llama/generator';
import { Rng } from '../model/tiny/random';
import type { ChatMessage, Tokenizer } from '../model/tokenizer';
import { GREEDY, runChatReplies, runChats } from './chat';
import type { DatasetFigures, GenpiRecord } from './dataset';
import { finalAssistantTurn, validActionShare } from './metrics';
import { acceptInputs, buildPseudoInputRequest, parseGeneratedInputs, splitHeldOut } from './pseudo-inputs';
import { demonstrationInputs, type ParsedPrompt } from './prompt';
import { DEFAULT_ENVIRONMENT, rolePlay, type Environment } from './roleplay';

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
  maxRounds?: number; // retry budget for pseudo inputs [max(4, 2·N/inputsPerRequest)]
  signal?: AbortSignal;
  onProgress?: (p: { stage: 'inputs' | 'answers' | 'reasons' | 'roleplay'; done: number; total: number }) => void;
}

export class SynthesisError extends Error {
  override name = 'SynthesisError';
}

export function reasonRequest(p: ParsedPrompt, input: string, asIs: string, toBe: string): ChatMessage[] {
  return [{
    role: 'user',
    content: `An assistant answered the same input twice: once without the context below (AS-IS) and once with it ` +
      `(TO-BE). In about five sentences, explain with reference to the context why the answer should change from ` +
      `AS-IS to TO-BE.\n\n## Context\n${p.text}\n\n## Input\n${input}\n\n## AS-IS\n${asIs}\n\n## TO-BE\n${toBe}`,
  }];
}

/** Step 1: unique pseudo inputs, model-written with demonstrations, until N or the retry budget is spent. */
async function pseudoInputs(gen: Generator, tok: Tokenizer, p: ParsedPrompt, o: SynthesisOptions) {
  const seen = new Set<string>();
  const inputs: string[] = [];
  const dropped = { empty: 0, tooLong: 0, duplicate: 0 };
  let emptyReplies = 0;
  const take = (candidates: string[]) => {
    const r = acceptInputs(candidates, seen, { maxChars: o.maxInputChars ?? 1000 });
    for (const a of r.accepted) if (inputs.length < o.samples) inputs.push(a);
    dropped.empty += r.dropped.empty;
    dropped.tooLong += r.dropped.tooLong;
    dropped.duplicate += r.dropped.duplicate;
  };
  take(o.seedInputs ?? []);
  const perRequest = o.inputsPerRequest ?? 8;
  const rounds = o.maxRounds ?? Math.max(4, Math.ceil((2 * o.samples) / perRequest));
  const rng = new Rng(o.seed).fork('demos');
  const pool = [...demonstrationInputs(p), ...(o.seedInputs ?? [])];
  for (let round = 0; round < rounds && inputs.length < o.samples; round++) {
    const parallel = Math.min(4, Math.ceil((o.samples - inputs.length) / perRequest));
    const jobs = Array.from({ length: parallel }, (_, j) => {
      // A few demonstrations, drawn afresh per request so the model does not copy one list.
      const demos = pool.length ? Array.from({ length: Math.min(3, pool.length) }, () => pool[Math.floor(rng.next() * pool.length)]) : [];
      return { messages: buildPseudoInputRequest(p, [...new Set(demos)], perRequest), sampling: { temperature: 1, topP: 0.9, maxNewTokens: 40 * perRequest, seed: o.seed + 1000 * round + j } };
    });
    for (const text of await runChats(gen, tok, jobs, o.signal)) {
      if (!text.trim()) emptyReplies++;
      take(parseGeneratedInputs(text));
    }
    o.onProgress?.({ stage: 'inputs', done: inputs.length, total: o.samples });
  }
  if (!inputs.length) {
    throw new SynthesisError(
      `the model wrote no usable inputs in ${rounds} rounds (${emptyReplies} replies were empty; of the inputs it did ` +
        `write, ${dropped.empty} were empty, ${dropped.tooLong} too long, ${dropped.duplicate} duplicates): add example ` +
        'turns to the prompt, give seed inputs, or use a stronger model',
    );
  }
  return { inputs, dropped };
}

export async function synthesize(gen: Generator, tok: Tokenizer, p: ParsedPrompt, o: SynthesisOptions): Promise<{ records: GenpiRecord[]; figures: DatasetFigures }> {
  const env = o.environment ?? DEFAULT_ENVIRONMENT;
  const maxNew = o.maxNewTokens ?? 256;
  const reasonTokens = o.reasonTokens ?? 512;
  const { inputs, dropped } = await pseudoInputs(gen, tok, p, o);
  const n = inputs.length;

  // Step 2: AS-IS without P, TO-BE with P, greedy.
  o.onProgress?.({ stage: 'answers', done: 0, total: n });
  const asIs = await runChats(gen, tok, inputs.map((input) => ({ messages: [{ role: 'user', content: input }], sampling: GREEDY(maxNew) })), o.signal);
  const toBeReplies = await runChatReplies(gen, tok, inputs.map((input) => ({
    messages: [...p.messages, { role: 'user', content: input }], prefixMessages: p.messages.length, sampling: GREEDY(maxNew),
  })), o.signal);
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
    settings: { ...settings, cut_turns: convs[i].cutTurns },
  }));
  const turns = convs.map((c) => c.conversation.filter((m) => m.role === 'assistant').length);
  const share = (k: number) => (n ? k / n : 0);
  const figures: DatasetFigures = {
    records: n,
    mean_turns: turns.reduce((a, b) => a + b, 0) / Math.max(1, n),
    share_turn_limit: share(convs.filter((c) => c.stoppedByLimit).length),
    share_no_end_marker: share(convs.filter((c) => !c.endMarker).length),
    duplicates_dropped: dropped.duplicate,
    share_invalid_action: o.actionPattern ? 1 - validActionShare(convs.map((c) => finalAssistantTurn(c.conversation)), o.actionPattern)! : null,
  };
  return { records, figures };
}
