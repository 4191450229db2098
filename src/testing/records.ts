// Hand-made dataset records for the tests, written once: a conversation that opens with the input and the TO-BE
// answer as its first two turns, so input, answer and conversation cannot drift apart. Short on purpose: synthesized records carry
// 512-token reasons, which would slow every training test that needs only a few sequences.
import type { GenpiRecord } from '../genpi/dataset';
import type { ChatMessage } from '../model/tokenizer';

/** The shell-agent P most CLI and worker tests train with: a system line and one example turn. */
export const SHELL_PROMPT = 'You are a shell agent.\n<USER>: list files\n<AGENT>: Act: bash ls';

export interface RecordFields {
  /** Default `input ${id}`. */
  input?: string;
  /** TO-BE and the assistant's turn; default 'Act: bash ls'. */
  answer?: string;
  /** The turns after the answer (environment, teacher, ...); none by default. */
  later?: ChatMessage[];
  as_is?: string;
  reason?: string;
  /** Default 'train'; any string, as a JSONL file may hold one. */
  split?: string;
  settings?: Record<string, unknown>;
}

/** Record `id` (a number n gives id `r${n}`), train split, with the fields given; the rest are fixed defaults. */
export function testRecord(id: number | string, o: RecordFields = {}): GenpiRecord {
  const input = o.input ?? `input ${id}`;
  const answer = o.answer ?? 'Act: bash ls';
  return {
    id: typeof id === 'number' ? `r${id}` : id, input, as_is: o.as_is ?? 'as is', to_be: answer, reason: o.reason ?? 'the prompt says so',
    conversation: [{ role: 'user', content: input }, { role: 'assistant', content: answer }, ...(o.later ?? [])],
    split: (o.split ?? 'train') as GenpiRecord['split'], settings: o.settings ?? {},
  };
}
