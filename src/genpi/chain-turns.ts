// Later turns for the training conversations, from the pseudo inputs themselves. A student trained on one-turn
// conversations meets a second user turn it never saw: P's rules held on turn 1 and were lost on turn 2 (issue 22:
// 100% on the first turn, 15-25% on the second, teacher 95-100%). Role-play writes later user turns with the
// environment's voice, which a small model does badly ("[pen] [cow] [cow]"); the pseudo inputs are already what a
// user of P writes, so a conversation is continued with other training inputs, each answered by the teacher with P
// after the conversation so far. Held-out inputs are never used, so evaluation stays on inputs training never saw.
import type { Generator } from '../llama/generator';
import type { Tokenizer } from '../model/tokenizer';
import { Rng } from '../util/rng';
import { GREEDY, runChatReplies } from './chat';
import type { ParsedPrompt } from './prompt';
import type { RoleplayResult } from './roleplay';

export interface ChainPlanOptions {
  /** Most user turns a conversation reaches [3]; 1 turns chaining off. */
  turns: number;
  /** Share of the eligible conversations continued [0.5]; the rest stay one turn, as users also ask once. */
  share: number;
  seed: number;
}

export interface ChainOptions {
  maxNewTokens: number;
  seed: number;
  signal?: AbortSignal;
  /** Called after each later turn is answered, with the number of user turns reached. */
  onTurn?: (turn: number, of: number) => void;
}

/**
 * How many user turns each conversation is to reach: 1 for those not chosen, else uniform in 2..turns. Seeded by
 * the synthesis seed alone, so a rerun writes the same conversations.
 */
export function chainPlan(eligible: readonly boolean[], o: ChainPlanOptions): number[] {
  const rng = new Rng(o.seed).fork('chain');
  return eligible.map((ok) => {
    const pick = rng.next();
    const length = rng.next();
    if (!ok || o.turns < 2 || pick >= o.share) return 1;
    return 2 + Math.floor(length * (o.turns - 1));
  });
}

/**
 * Continues the conversations the plan picks, in place: a user turn drawn from `pool` (never the conversation's own
 * inputs), then the teacher's greedy answer with P. All conversations advance together, one batch per turn. A turn
 * whose request no longer fits the context is not added, and the conversation ends on its last teacher turn.
 * Returns how many conversations got at least one later turn.
 */
export async function chainTurns(gen: Generator, tok: Tokenizer, p: ParsedPrompt, convs: RoleplayResult[], pool: readonly string[],
  plan: readonly number[], o: ChainOptions): Promise<number> {
  if (pool.length < 2) return 0;
  const rng = new Rng(o.seed).fork('chain-inputs');
  const userTurns = (c: RoleplayResult) => c.conversation.filter((m) => m.role === 'user').length;
  const target = Math.max(1, ...plan);
  const chained = new Set<number>();
  for (let turn = 2; turn <= target; turn++) {
    const going = convs.map((_, i) => i).filter((i) => plan[i] >= turn && userTurns(convs[i]) === turn - 1 && !convs[i].skipped);
    if (!going.length) break;
    const asked = going.map((i) => {
      const seen = new Set(convs[i].conversation.filter((m) => m.role === 'user').map((m) => m.content));
      let input = pool[Math.floor(rng.next() * pool.length)];
      for (let tries = 0; seen.has(input) && tries < 8; tries++) input = pool[Math.floor(rng.next() * pool.length)];
      return input;
    });
    const replies = await runChatReplies(gen, tok, going.map((i, k) => ({
      messages: [...p.messages, ...convs[i].conversation, { role: 'user', content: asked[k] }],
      prefixMessages: p.messages.length,
      sampling: GREEDY(o.maxNewTokens),
    })), o.signal, { skipTooLong: true });
    going.forEach((i, k) => {
      const c = convs[i];
      const r = replies[k];
      if (r.skipped || r.text.trim() === '') return; // not added: the conversation ends on its last teacher turn
      c.conversation.push({ role: 'user', content: asked[k] });
      if (r.cut) c.cutTurns.push(c.conversation.length);
      c.conversation.push({ role: 'assistant', content: r.text });
      chained.add(i);
    });
    o.onTurn?.(turn, target);
  }
  return chained.size;
}
