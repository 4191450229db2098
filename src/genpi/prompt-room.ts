// How long P may be on a model, said before anything runs: every answer the teacher writes holds P, then an input,
// then the answer, all in the model's context. The requests that wrap P in more (the numbered-list request, the
// reasons) are skipped when they do not fit, so that shortest request alone sets the limit.
import type { Tokenizer } from '../model/tokenizer';
import { promptTokenCount, type ParsedPrompt } from './prompt';
import { SynthesisError } from './shortfall';

/** Tokens kept for an input after P: a typical user message (longer ones are skipped one by one, not fatal). */
export const INPUT_ROOM = 64;

export interface PromptRoom {
  /** P's tokens through the chat template. */
  tokens: number;
  /** The most P may have on this model with these settings. */
  max: number;
  context: number;
  /** "P: 1795 tokens of at most 1716 on this model (its context of 2048 tokens less ...)". */
  sentence: string;
  /** Throws a SynthesisError saying by how much P is too long, when it is. */
  check(): void;
}

export function promptRoom(tok: Pick<Tokenizer, 'applyChatTemplate'>, p: Pick<ParsedPrompt, 'messages'>, context: number, maxNewTokens: number): PromptRoom {
  const tokens = promptTokenCount(tok, p);
  // The template's own tokens around a user turn after P and the assistant's opening (role headers, markers).
  const turn = tok.applyChatTemplate([...p.messages, { role: 'user', content: '' }], { addGenerationPrompt: true }).ids.length - tokens;
  const max = Math.max(0, context - turn - INPUT_ROOM - maxNewTokens);
  const why = `its context of ${context} tokens less ${turn} for the chat template's turn markers, ${INPUT_ROOM} for an input ` +
    `and ${maxNewTokens} for an answer`;
  return {
    tokens, max, context,
    sentence: `P: ${tokens} tokens of at most ${max} on this model (${why})`,
    check() {
      if (tokens <= max) return;
      throw new SynthesisError(
        `the prompt has ${tokens} tokens, ${tokens - max} more than the ${max} this model allows (${why}): shorten the ` +
          'prompt, lower the max new tokens, or use a model with a longer context',
      );
    },
  };
}
