// Reads the prompt P the way users have it at hand (plain text, role-marked turns, or a JSON message list) into
// one shape: the system text and the example turns the teacher sees before every input.
import { withoutBom } from '../model/text-file';
import type { ChatMessage, Tokenizer } from '../model/tokenizer';
import type { PromptText } from '../train/sequences';

/**
 * P as read from the user: what training reads of it (PromptText: the verbatim text and the teacher's messages),
 * which train declares itself as it sits below genpi, plus what the reading found, for the reports.
 */
export interface ParsedPrompt extends PromptText {
  format: 'text' | 'turns' | 'json';
  /** Text before the first turn marker plus every system turn, joined by blank lines. */
  system: string;
  /** Example turns, roles mapped to 'user' (user, human, environment) and 'assistant' (assistant, ai, agent). */
  examples: ChatMessage[];
  /** Whether the examples start with a user turn and then alternate; reported, not required. */
  alternates: boolean;
  /** One line for the user, e.g. "system text (1,234 chars) and 6 example turns (3 user, 3 assistant)". */
  report: string;
}

/** A prompt we cannot read; the message says what to change. */
export class PromptError extends Error {
  override name = 'PromptError';
  /** `index` is the position of the offending message in a JSON prompt. */
  constructor(
    message: string,
    readonly index?: number,
  ) {
    super(message);
  }
}

type Role = 'system' | 'user' | 'assistant';

const ROLE_NAMES: Record<string, Role> = {
  system: 'system',
  developer: 'system', // OpenAI's newer name for the system role
  user: 'user',
  human: 'user',
  environment: 'user',
  env: 'user',
  assistant: 'assistant',
  ai: 'assistant',
  agent: 'assistant',
};

const NAMES = 'system|user|human|environment|env|assistant|ai|agent';
/**
 * A turn marker at the start of a line: `user:`, `<USER>:`, `**Assistant:**`, `**Agent**:`. Only at line start, so
 * "the user: ..." inside a content line stays content. `developer` is a JSON-only role: as a text marker it would
 * catch too many ordinary lines.
 */
const MARKER = new RegExp(`^[ \\t]*(?:\\*\\*)?[ \\t]*(?:<(${NAMES})>|(${NAMES}))[ \\t]*(?:\\*\\*)?[ \\t]*:(?:\\*\\*)?[ \\t]*(.*)$`, 'i');

/** Drops blank lines at both ends and trailing spaces, keeping indentation inside (code, lists). */
function tidy(s: string): string {
  return s.replace(/^(?:[ \t]*\r?\n)+/, '').trimEnd();
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

export function parsePrompt(given: string): ParsedPrompt {
  // A byte-order mark is how an editor saved the text, not part of it (and would hide a leading "[" or "{").
  const text = withoutBom(given);
  if (text.trim() === '') throw new PromptError('The prompt is empty: paste the prompt your application sends.');
  const json = tryJsonMessages(text);
  if (json) return assemble('json', text, json);
  const turns = markedTurns(text);
  if (turns) return assemble('turns', text, turns);
  return assemble('text', text, [{ role: 'system', content: text.trim() }]);
}

/** Splits role-marked text into turns; null when no line starts with a marker. */
function markedTurns(text: string): { role: Role; content: string }[] | null {
  const out: { role: Role; lines: string[] }[] = [{ role: 'system', lines: [] }]; // the preamble
  let found = false;
  for (const line of text.split(/\r?\n/)) {
    const m = MARKER.exec(line);
    if (m) {
      found = true;
      out.push({ role: ROLE_NAMES[(m[1] ?? m[2]).toLowerCase()], lines: [m[3]] });
    } else {
      out[out.length - 1].lines.push(line);
    }
  }
  if (!found) return null;
  return out.map((t) => ({ role: t.role, content: tidy(t.lines.join('\n')) }));
}

/**
 * A JSON array of {role, content}, or an API request body {messages: [...]}. Text that merely starts with "[" (a
 * "[Task]" heading) is left to the text readers; text that starts the way a message list does (`[{`, `{"`) and does
 * not parse is an error naming the line and column, as is a body whose "messages" is not a list: read as plain text,
 * a truncated file would silently become the system prompt. JSON that is a message list but has a bad item is an
 * error naming the item.
 */
function tryJsonMessages(text: string): { role: Role; content: string }[] | null {
  const t = text.trim();
  if (!t.startsWith('[') && !t.startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch (e) {
    if (!LOOKS_LIKE_JSON.test(t)) return null;
    const lead = text.length - text.trimStart().length;
    throw new PromptError(`The prompt looks like JSON but does not parse: ${jsonErrorPlace(text, lead, t, e as Error)}. Fix the JSON, or write the prompt as plain text.`);
  }
  if (!Array.isArray(value)) {
    if (typeof value !== 'object' || value === null || !('messages' in value)) return null;
    const msgs = (value as { messages?: unknown }).messages;
    if (!Array.isArray(msgs)) {
      throw new PromptError(`"messages" of the JSON prompt must be a list of {"role", "content"} objects, got ${jsonKind(msgs)}.`);
    }
    value = msgs;
  }
  const list = value as unknown[];
  if (list.length === 0) throw new PromptError('The prompt is an empty JSON list: add at least one {"role", "content"} message.');
  return list.map((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new PromptError(`Message ${i} of the JSON prompt is not a {"role", "content"} object.`, i);
    }
    const { role, content } = item as { role?: unknown; content?: unknown };
    const mapped = typeof role === 'string' ? ROLE_NAMES[role.toLowerCase()] : undefined;
    if (!mapped) {
      throw new PromptError(
        `Message ${i} of the JSON prompt has role ${JSON.stringify(role ?? null)}; use "system", "user" or "assistant".`,
        i,
      );
    }
    return { role: mapped, content: contentText(content, i) };
  });
}

/** How a JSON message list or request body starts: `[` then an object, list, string or `]`; `{` then a key or `}`. */
const LOOKS_LIKE_JSON = /^(?:\[\s*[[{"\]]|\{\s*["}])/;

/** "line 3, column 5 (Unexpected end of JSON input)": where in the file the parser stopped, 1-based as editors count. */
function jsonErrorPlace(file: string, lead: number, parsed: string, e: Error): string {
  const said = /line (\d+) column (\d+)/.exec(e.message);
  let line: number;
  let column: number;
  if (said) {
    // The parser counted in the trimmed text: only the first line's column and the line number shift.
    const before = file.slice(0, lead).split('\n');
    line = Number(said[1]) + before.length - 1;
    column = Number(said[2]) + (said[1] === '1' ? before[before.length - 1].length : 0);
  } else {
    const pos = /position (\d+)/.exec(e.message);
    const at = lead + (pos ? Number(pos[1]) : parsed.length);
    const lines = file.slice(0, at).split('\n');
    line = lines.length;
    column = lines[lines.length - 1].length + 1;
  }
  const reason = e.message.replace(/\s*(?:in JSON )?at position \d+.*$/, '').replace(/\s*at line \d+ column \d+.*$/, '');
  return `line ${line}, column ${column} (${reason})`;
}

function jsonKind(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** A message's content: a string, or OpenAI-style parts of which only text parts can be internalized. */
function contentText(content: unknown, i: number): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const parts = content.map((p) => (typeof p === 'object' && p !== null ? (p as { text?: unknown }).text : undefined));
    if (parts.every((p): p is string => typeof p === 'string')) return parts.join('\n');
  }
  throw new PromptError(`Message ${i} of the JSON prompt has no text content: "content" must be a string.`, i);
}

function assemble(format: ParsedPrompt['format'], text: string, turns: { role: Role; content: string }[]): ParsedPrompt {
  const system = turns
    .filter((t) => t.role === 'system')
    .map((t) => t.content.trim())
    .filter((s) => s !== '')
    .join('\n\n');
  const examples: ChatMessage[] = turns.filter((t) => t.role !== 'system').map((t) => ({ role: t.role, content: t.content }));
  if (system === '' && examples.every((m) => m.content.trim() === '')) {
    throw new PromptError('The prompt has turn markers but no text: write the instructions or the turns after the markers.');
  }
  const alternates = examples.every((m, i) => m.role === (i % 2 === 0 ? 'user' : 'assistant'));
  const messages = [...(system ? [{ role: 'system', content: system }] : []), ...examples];
  return { format, system, examples, alternates, messages, text, report: describe(system, examples, alternates) };
}

function describe(system: string, examples: ChatMessage[], alternates: boolean): string {
  const sys = system ? `system text (${fmt(system.length)} chars)` : 'no system text';
  if (examples.length === 0) return `${sys} and no example turns`;
  const users = examples.filter((m) => m.role === 'user').length;
  const turns = `${examples.length} example turn${examples.length === 1 ? '' : 's'} (${users} user, ${examples.length - users} assistant)`;
  return `${sys} and ${turns}` + (alternates ? '' : `; ${alternationProblem(examples)}`);
}

/** Names the first place where the examples break user/assistant alternation, so the user can find it. */
function alternationProblem(examples: ChatMessage[]): string {
  if (examples[0].role !== 'user') return 'the example turns start with an assistant turn, not a user turn';
  const i = examples.findIndex((m, k) => k > 0 && m.role === examples[k - 1].role);
  return `example turns ${i} and ${i + 1} are both ${examples[i].role} turns (they do not alternate)`;
}

/** The user-turn contents of P's examples: demonstrations of what the application's users send. */
export function demonstrationInputs(p: ParsedPrompt): string[] {
  return p.examples.filter((m) => m.role === 'user' && m.content.trim() !== '').map((m) => m.content.trim());
}

/** P rendered as one readable text (system text, then labelled example turns), for showing it inside a request. */
export function promptAsText(p: ParsedPrompt): string {
  const turns = p.examples.map((m) => `${m.role === 'user' ? 'User' : 'Assistant'}:\n${m.content}`);
  return [p.system, ...turns].filter((s) => s !== '').join('\n\n');
}

/**
 * P's messages (system text and example turns) as the chat template renders them, without a generation prompt: the
 * prefix a request with P starts with. One definition, so every count of "P's tokens" agrees. Empty for no messages.
 */
export function promptTokenIds(tok: Pick<Tokenizer, 'applyChatTemplate'>, p: Pick<ParsedPrompt, 'messages'>): number[] {
  return p.messages.length ? tok.applyChatTemplate(p.messages, { addGenerationPrompt: false }).ids : [];
}

/** How many tokens P adds to every request (its rendered messages); 0 for a prompt with no messages. */
export function promptTokenCount(tok: Pick<Tokenizer, 'applyChatTemplate'>, p: Pick<ParsedPrompt, 'messages'>): number {
  return promptTokenIds(tok, p).length;
}
