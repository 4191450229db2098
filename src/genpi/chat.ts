// Many chats through the generator at once: each job's messages go through the chat template; a job's leading
// messages (the prompt P) are sent as a shared prefix, prefilled once for all jobs that start with them.
import type { GenRequest, Generator } from '../llama/generator';
import type { ChatMessage, Tokenizer } from '../model/tokenizer';

export interface Sampling {
  temperature: number;
  topP: number;
  maxNewTokens: number;
  seed: number;
}

export const GREEDY = (maxNewTokens: number): Sampling => ({ temperature: 0, topP: 1, maxNewTokens, seed: 0 });

export interface ChatJob {
  messages: ChatMessage[];
  /** How many leading messages form a reusable prefix (e.g. P's system text and examples). */
  prefixMessages?: number;
  sampling: Sampling;
  adapter?: string | null;
}

export interface ChatTokens {
  prefix: number[];
  prompt: number[];
}

/** Template tokens of a job, split into a cacheable prefix and the rest when the prefix really is a token prefix. */
export function chatTokens(tok: Tokenizer, messages: ChatMessage[], prefixMessages = 0, cache?: Map<string, number[]>): ChatTokens {
  const full = tok.applyChatTemplate(messages, { addGenerationPrompt: true }).ids;
  if (!prefixMessages) return { prefix: [], prompt: full };
  const head = messages.slice(0, prefixMessages);
  const key = JSON.stringify(head);
  let pre = cache?.get(key);
  if (!pre) {
    pre = tok.applyChatTemplate(head, { addGenerationPrompt: false }).ids;
    cache?.set(key, pre);
  }
  const isPrefix = pre.length < full.length && pre.every((t, i) => full[i] === t);
  return isPrefix ? { prefix: pre, prompt: full.slice(pre.length) } : { prefix: [], prompt: full };
}

export interface ChatReply {
  text: string;
  tokens: number[]; // generated ids (a stop token included)
  context: number[]; // the prompt's ids, prefix included
  /** The token limit stopped it mid-answer (no end of turn written). */
  cut: boolean;
}

/** Runs the jobs together; returns each reply with its ids and its context's ids. */
export async function runChatReplies(gen: Generator, tok: Tokenizer, jobs: ChatJob[], signal?: AbortSignal): Promise<ChatReply[]> {
  const cache = new Map<string, number[]>();
  const contexts: number[][] = [];
  const reqs: GenRequest[] = jobs.map((j, i) => {
    const { prefix, prompt } = chatTokens(tok, j.messages, j.prefixMessages, cache);
    contexts.push([...prefix, ...prompt]);
    return {
      prompt, prefix, adapter: j.adapter ?? null, maxNewTokens: j.sampling.maxNewTokens,
      temperature: j.sampling.temperature, topP: j.sampling.topP, seed: (j.sampling.seed + i * 7919) >>> 0, signal,
    };
  });
  const out = await gen.generate(reqs);
  if (signal?.aborted) throw signal.reason ?? new Error('cancelled');
  return out.map((r, i) => ({ text: r.text.trim(), tokens: r.tokens, context: contexts[i], cut: r.finishReason === 'length' }));
}

/** Runs the jobs together; returns each reply's text. */
export async function runChats(gen: Generator, tok: Tokenizer, jobs: ChatJob[], signal?: AbortSignal): Promise<string[]> {
  return (await runChatReplies(gen, tok, jobs, signal)).map((r) => r.text);
}
