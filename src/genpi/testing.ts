// Test fixture for synthesis without a model: a generator that answers each request by a script over the request's
// text, and keeps what it was asked per generate() call, so tests see how requests were routed round by round.
import type { GenRequest, GenResult, Generator } from '../llama/generator';
import type { Tokenizer } from '../model/tokenizer';

/** What a request asks for, read from its text: a user turn after P, a numbered list of inputs, or anything else. */
export type RequestKind = 'user_turn' | 'list' | 'other';

export interface ScriptedReply {
  text: string;
  /** The token limit stopped it (no end of turn). */
  cut?: boolean;
}

export function requestKind(text: string): RequestKind {
  if (text.endsWith('<|im_start|>user\n')) return 'user_turn';
  if (text.includes('=== APPLICATION INSTRUCTIONS ===')) return 'list';
  return 'other';
}

/**
 * A generator that replies with `reply(kind, n, text, request)`, n counting that kind's requests from 0; `calls`
 * lists each call's kinds. Its model's context is `context` tokens [32768]: a longer request is refused as the
 * real generator does.
 */
export function scriptedGenerator(tok: Tokenizer, reply: (kind: RequestKind, n: number, text: string, request: GenRequest) => ScriptedReply, context = 32768) {
  const calls: RequestKind[][] = [];
  const counts: Record<RequestKind, number> = { user_turn: 0, list: 0, other: 0 };
  const tooLong = (r: Pick<GenRequest, 'prompt' | 'prefix'>) => {
    const total = (r.prefix?.length ?? 0) + r.prompt.length;
    return total >= context ? `the prompt has ${total} tokens; the model's context is ${context}, which leaves no room to generate` : null;
  };
  const gen = {
    engine: { cfg: { maxPositionEmbeddings: context } },
    tooLong,
    async generate(reqs: GenRequest[]): Promise<GenResult[]> {
      const kinds: RequestKind[] = [];
      const out = reqs.map((r, i) => {
        const long = tooLong(r);
        if (long) throw new Error(`request ${i}: ${long}`);
        const text = tok.decode([...(r.prefix ?? []), ...r.prompt]);
        const kind = requestKind(text);
        kinds.push(kind);
        const { text: t, cut } = reply(kind, counts[kind]++, text, r);
        r.onFinish?.();
        return { tokens: [], text: t, finishReason: cut ? 'length' : 'stop_token' } as GenResult;
      });
      calls.push(kinds);
      return out;
    },
  } as unknown as Generator;
  return { gen, calls, counts };
}
