// Self role-play (docs/METHOD.md step 4): the teacher (the model with P) answers; the environment (the model told what it
// simulates, with P's example roles swapped so it plays the other side) replies; back and forth until the
// environment writes the end marker or the turn limit is reached. All conversations advance together, one batch
// per turn; one whose next request no longer fits the model's context ends there (after a teacher turn).
import type { Generator } from '../llama/generator';
import type { ChatMessage, Tokenizer } from '../model/tokenizer';
import { GREEDY, runChatReplies } from './chat';
import type { ParsedPrompt } from './prompt';

export interface Environment {
  name: string;
  description: string;
  endMarker: string;
}

export const DEFAULT_ENVIRONMENT: Environment = {
  name: 'the environment',
  description: 'the user or system the assistant talks to',
  endMarker: '[END]',
};

export interface RoleplayResult {
  conversation: ChatMessage[]; // user input, then teacher (assistant) and environment (user) turns
  stoppedByLimit: boolean;
  endMarker: boolean;
  /** Conversation indices of teacher turns the token limit cut short: their end of turn is not trained. */
  cutTurns: number[];
  /** Why the conversation ended early: its next request did not fit the context (it ends on a teacher turn). */
  skipped?: string;
}

/** The environment's view: what it simulates, then P's examples with user and assistant swapped. */
export function environmentMessages(p: ParsedPrompt, env: Environment): ChatMessage[] {
  const system =
    `You are ${env.name}: ${env.description}. An assistant is working on a task with you; its messages reach you ` +
    `as user messages. Reply as ${env.name} would, briefly and concretely. When the task is complete or cannot go ` +
    `on, reply with ${env.endMarker} only.` + (p.system ? `\n\nThe assistant follows these instructions:\n${p.system}` : '');
  const swapped = p.examples.map((m) => ({ role: m.role === 'assistant' ? 'user' : 'assistant', content: m.content }));
  return [{ role: 'system', content: system }, ...swapped];
}

/** Plays every input's conversation to its end; `firstReplies` are the teacher's TO-BE answers, reused as turn 1. */
export async function rolePlay(gen: Generator, tok: Tokenizer, p: ParsedPrompt, inputs: string[], firstReplies: { text: string; cut: boolean }[],
  o: { env: Environment; maxTurns: number; maxNewTokens: number; signal?: AbortSignal; onTurn?: (turn: number) => void }): Promise<RoleplayResult[]> {
  const convs: RoleplayResult[] = inputs.map((input, i) => ({
    conversation: [{ role: 'user', content: input }, { role: 'assistant', content: firstReplies[i].text }],
    stoppedByLimit: false,
    endMarker: false,
    cutTurns: firstReplies[i].cut ? [1] : [],
  }));
  const envBase = environmentMessages(p, o.env);
  const open = () => convs.filter((c) => !c.endMarker && !c.stoppedByLimit && !c.skipped);
  for (let turn = 1; open().length; turn++) {
    const live = open();
    const teacherTurns = (c: RoleplayResult) => c.conversation.filter((m) => m.role === 'assistant').length;
    for (const c of live) if (teacherTurns(c) >= o.maxTurns) c.stoppedByLimit = true;
    const going = open();
    if (!going.length) break;
    // The environment answers the teacher's last turn; roles swap: the teacher's turns are its user messages.
    const envReplies = await runChatReplies(gen, tok, going.map((c) => ({
      messages: [...envBase, ...c.conversation.slice(1).map((m) => ({ role: m.role === 'assistant' ? 'user' : 'assistant', content: m.content }))],
      prefixMessages: envBase.length,
      sampling: GREEDY(o.maxNewTokens),
    })), o.signal, { skipTooLong: true });
    going.forEach((c, i) => {
      const r = envReplies[i];
      if (r.skipped) return void (c.skipped = `the environment's request does not fit: ${r.skipped}`);
      c.conversation.push({ role: 'user', content: r.text });
      if (r.text.includes(o.env.endMarker)) c.endMarker = true;
    });
    const teacherNext = going.filter((c) => !c.endMarker && !c.skipped);
    if (teacherNext.length) {
      const replies = await runChatReplies(gen, tok, teacherNext.map((c) => ({
        messages: [...p.messages, ...c.conversation],
        prefixMessages: p.messages.length,
        sampling: GREEDY(o.maxNewTokens),
      })), o.signal, { skipTooLong: true });
      teacherNext.forEach((c, i) => {
        if (replies[i].skipped) {
          // The environment's last turn stays unanswered: drop it, so the conversation ends on a teacher turn.
          c.conversation.pop();
          c.skipped = `the teacher's request does not fit: ${replies[i].skipped}`;
          return;
        }
        if (replies[i].cut) c.cutTurns.push(c.conversation.length);
        c.conversation.push({ role: 'assistant', content: replies[i].text });
      });
    }
    o.onTurn?.(turn);
  }
  return convs;
}
