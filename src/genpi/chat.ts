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
  /** Why the job was not run (it does not fit the model's context or the generator's slot); its text is empty. */
  skipped?: string;
}

export interface ChatRunOptions {
  /** Called as each job finishes, with how many have. */
  onDone?: (done: number) => void;
  /** Jobs too long for the generator are skipped (reply.skipped says why) instead of failing the batch. */
  skipTooLong?: boolean;
}

/** Runs the jobs together; returns each reply with its ids and its context's ids. */
export async function runChatReplies(gen: Generator, tok: Tokenizer, jobs: ChatJob[], signal?: AbortSignal, o: ChatRunOptions = {}): Promise<ChatReply[]> {
  const cache = new Map<string, number[]>();
  const contexts: number[][] = [];
  const skipped: (string | null)[] = [];
  let done = 0;
  const onFinish = o.onDone && (() => o.onDone!(++done));
  const reqs: GenRequest[] = [];
  jobs.forEach((j, i) => {
    const { prefix, prompt } = chatTokens(tok, j.messages, j.prefixMessages, cache);
    contexts.push([...prefix, ...prompt]);
    const why = o.skipTooLong ? gen.tooLong({ prefix, prompt }) : null;
    skipped.push(why);
    if (why) return onFinish?.();
    reqs.push({
      prompt, prefix, adapter: j.adapter ?? null, maxNewTokens: j.sampling.maxNewTokens,
      temperature: j.sampling.temperature, topP: j.sampling.topP, seed: (j.sampling.seed + i * 7919) >>> 0, signal, onFinish,
    });
  });
  const out = await gen.generate(reqs);
  if (signal?.aborted) throw signal.reason ?? new Error('cancelled');
  let k = 0;
  return jobs.map((_, i) => {
    const why = skipped[i];
    if (why) return { text: '', tokens: [], context: contexts[i], cut: false, skipped: why };
    const r = out[k++];
    return { text: r.text.trim(), tokens: r.tokens, context: contexts[i], cut: r.finishReason === 'length' };
  });
}

/** Runs the jobs together; returns each reply's text. */
export async function runChats(gen: Generator, tok: Tokenizer, jobs: ChatJob[], signal?: AbortSignal, o: ChatRunOptions = {}): Promise<string[]> {
  return (await runChatReplies(gen, tok, jobs, signal, o)).map((r) => r.text);
}
