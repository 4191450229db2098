// How long the generator's cache slots must be for a synthesis run, from its settings and the model's tokenizer.
// A request that does not fit its slot fails the whole run, so the slots are sized from the requests synthesis
// makes (the list request, the reasons, the role-played conversations with P or the environment's framing), each
// measured through the chat template with the longest input it can carry, plus the tokens it may generate. A fixed
// margin instead once left no room for the list request when --max-new-tokens and --reason-tokens were small.
import type { ChatMessage, Tokenizer } from '../model/tokenizer';
import { demonstrationInputs, type ParsedPrompt } from './prompt';
import { buildPseudoInputRequest } from './pseudo-inputs';
import { DEFAULT_ENVIRONMENT, environmentMessages, type Environment } from './roleplay';
import type { OptionalPart } from '../train/sequences';
import { reasonRequest } from './record-parts';
import { DEFAULT_SYNTHESIS } from './synthesis-defaults';

/** What gather-inputs asks for: inputs per list request, 40 new tokens each, and the longest user turn sampled. */
const PER_REQUEST = 8;
const LIST_TOKENS = 40 * PER_REQUEST;
const USER_TURN_TOKENS = 256;
/** Text tokenized in pieces can take a few more tokens than measured whole. */
const MARGIN = 32;

/** Tokens the longest request and its reply take (callers cap it at the model's context). */
export function synthesisSlotTokens(tok: Tokenizer, p: ParsedPrompt, o: { maxTurns: number; maxNewTokens: number; reasonTokens: number;
  seedInputs?: readonly string[]; environment?: Environment; parts?: readonly OptionalPart[]; chainTurns?: number }): number {
  const chat = (m: ChatMessage[]) => tok.applyChatTemplate(m, { addGenerationPrompt: true }).ids.length;
  const pool = [...demonstrationInputs(p), ...(o.seedInputs ?? [])].map((text) => ({ text, tokens: tok.encode(text).length }));
  pool.sort((a, b) => b.tokens - a.tokens);
  // A generated input is at most one list reply or one sampled user turn.
  const input = Math.max(LIST_TOKENS, USER_TURN_TOKENS, pool[0]?.tokens ?? 0);
  const list = chat(buildPseudoInputRequest(p, pool.slice(0, 3).map((d) => d.text), PER_REQUEST)) + LIST_TOKENS;
  // Reasons quote P, the input and both answers; they are made only when asked for.
  const reason = o.parts?.includes('reason') ? chat(reasonRequest(p, '', '', '')) + input + 2 * o.maxNewTokens + o.reasonTokens : 0;
  // Every turn of a conversation (the input, then the teacher's and the environment's replies) after its framing.
  // Chained later turns (chain-turns.ts) are inputs, not environment replies: the longer of the two per user turn.
  const T = Math.max(o.maxTurns, o.chainTurns ?? DEFAULT_SYNTHESIS.chainTurns);
  const turns: ChatMessage[] = Array.from({ length: 2 * T + 1 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'x' }));
  const replies = T * (o.maxNewTokens + Math.max(o.maxNewTokens, input)) + input;
  const teacher = chat([...p.messages, ...turns]) + replies;
  const environment = chat([...environmentMessages(p, o.environment ?? DEFAULT_ENVIRONMENT), ...turns]) + replies;
  return Math.max(list, reason, teacher, environment) + MARGIN;
}
