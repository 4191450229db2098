// The synthesized dataset as records (docs/METHOD.md "Data synthesis"), its JSONL import and export, and an export in
// the chat-messages JSONL that Hugging Face TRL's SFTTrainer trains on, so a dataset made here also trains in Python.
import { ModelError } from '../model/errors';
import { withoutBom } from '../model/text-file';
import type { ChatMessage } from '../model/tokenizer';
import type { Coverage } from './coverage';
import type { GeneratedSource, InputSource } from './input-mix';
import type { Shortfall } from './shortfall';
// What the TRL export writes must be exactly what training uses, so the SFT turns come from one place.
import { sftMessages, type OptionalPart } from '../train/sequences';

export interface GenpiRecord {
  id: string;
  input: string;
  /** The model's answer to the input without P. */
  as_is: string;
  /** The teacher's answer: the model with P. */
  to_be: string;
  /** Why the answer changes from AS-IS to TO-BE, with reference to P. */
  reason: string;
  /**
   * The role-played conversation: the input as the first user turn, then teacher turns ('assistant') and
   * environment turns ('user'). A last environment turn holding the end marker may be kept; it is never trained on.
   */
  conversation: ChatMessage[];
  split: 'train' | 'heldout';
  /** The generation settings (sampling, turn limit, environment, seed), so a dataset says how it was made. */
  settings: Record<string, unknown>;
}

/** The quality figures shown to the user and written with the dataset (docs/METHOD.md step 5). */
export interface DatasetFigures {
  records: number;
  /** Mean number of teacher turns per conversation. */
  mean_turns: number;
  /** Share of conversations stopped by the turn limit rather than by the environment. */
  share_turn_limit: number;
  /** Share of conversations whose environment never wrote the end marker. */
  share_no_end_marker: number;
  /** Pseudo inputs dropped as duplicates of earlier ones (after normalization). */
  duplicates_dropped: number;
  /** Share whose final teacher turn has no valid action; null unless the user gave an action pattern. */
  share_invalid_action: number | null;
  // The fields below are absent in figures saved before pseudo inputs were counted by source.
  /** Records asked for (N). */
  requested?: number;
  /** Records per pseudo-input source: the user's seed inputs, user-turn sampling, the numbered-list request. */
  sources?: Record<InputSource, number>;
  /** Inputs asked of each source the model writes for (one list request asks for several). */
  inputs_asked?: Record<GeneratedSource, number>;
  /** Unique inputs gathered before N were kept, spread over their traits (input-spread.ts); absent before pools. */
  input_pool?: number;
  /** Why user-turn sampling was off (the chat template cannot open a user turn); null when it ran. */
  user_turn_off?: string | null;
  /** Why the numbered-list request was off (P and its instructions do not fit the context); null when it ran. */
  list_off?: string | null;
  /** Why fewer records than asked came back; null when none are missing. */
  shortfall?: Shortfall | null;
  /** The optional parts (AS-IS answers, reasons) every record holds; absent in figures saved before they were optional. */
  parts?: OptionalPart[];
  /** Requests not sent because they do not fit the model's context, by kind; absent or empty when none. */
  skipped_requests?: SkippedRequests;
  /** What the inputs cover: per branch of P on a testbed, distinct inputs, lengths, P's examples (coverage.ts). */
  coverage?: Coverage;
}

/**
 * Requests synthesis skipped by kind (the list request, an answer, a role-play turn that ended its conversation, a
 * reason): how many, and why the first one was.
 */
export type SkippedRequests = Partial<Record<'list' | 'answer' | 'roleplay' | 'reason', { count: number; why: string }>>;

/** A record with exactly its fields, in a fixed order (so exports diff cleanly and imports drop stray fields). */
function canonical(r: GenpiRecord): GenpiRecord {
  return {
    id: r.id,
    input: r.input,
    as_is: r.as_is,
    to_be: r.to_be,
    reason: r.reason,
    conversation: r.conversation.map((m) => ({ role: m.role, content: m.content })),
    split: r.split,
    settings: r.settings,
  };
}

/** One record per line. */
export function toJsonl(records: readonly GenpiRecord[]): string {
  return records
    .map((r) =>
      JSON.stringify(canonical(r)) + '\n',
    )
    .join('');
}

export interface JsonlLineError {
  /** 1-based, as an editor shows it. */
  line: number;
  message: string;
}

const STRING_FIELDS = ['id', 'input', 'as_is', 'to_be', 'reason'] as const;

/** What is wrong with one parsed line, or nothing; every problem of the line, so one fix round suffices. */
function problems(v: unknown): string[] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return ['not a JSON object (one record per line)'];
  const o = v as Record<string, unknown>;
  const out: string[] = [];
  const field = (k: string, want: string, ok: (x: unknown) => boolean) => {
    if (!(k in o)) out.push(`missing field "${k}"`);
    else if (!ok(o[k])) out.push(`field "${k}" must be ${want}, got ${describeValue(o[k])}`);
  };
  for (const k of STRING_FIELDS) field(k, 'a string', (x) => typeof x === 'string');
  field('split', '"train" or "heldout"', (x) => x === 'train' || x === 'heldout');
  field('settings', 'an object', (x) => typeof x === 'object' && x !== null && !Array.isArray(x));
  field('conversation', 'a list of {"role": "user" | "assistant", "content": string}', (x) => Array.isArray(x));
  if (Array.isArray(o.conversation)) {
    const bad = o.conversation.findIndex((m) => !isTurn(m));
    if (bad >= 0) out.push(`conversation[${bad}] must be {"role": "user" | "assistant", "content": string}, got ${describeValue(o.conversation[bad])}`);
  }
  return out;
}

function isTurn(m: unknown): m is ChatMessage {
  if (typeof m !== 'object' || m === null) return false;
  const { role, content } = m as Record<string, unknown>;
  return (role === 'user' || role === 'assistant') && typeof content === 'string';
}

function describeValue(x: unknown): string {
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/**
 * The longest line read, in characters. A record is one conversation; no model's context holds 16 MiB of text, and
 * parsing and tokenizing lines of 100 MB takes minutes before any message, so longer lines are skipped and reported.
 */
export const MAX_LINE_CHARS = 16 * 2 ** 20;

/**
 * Reads JSONL, keeping every good record and reporting each bad line (1-based) with what is wrong; blank lines are
 * skipped, and so is a byte-order mark before the first line. It does not decide whether a partly bad file is
 * acceptable: `readDataset` is the strict caller.
 */
export function parseJsonl(text: string, file = 'dataset.jsonl'): { records: GenpiRecord[]; errors: JsonlLineError[]; file: string } {
  const records: GenpiRecord[] = [];
  const errors: JsonlLineError[] = [];
  const firstLineOfId = new Map<string, number>();
  withoutBom(text).split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (raw.length > MAX_LINE_CHARS) {
      const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
      errors.push({ line, message: `is ${mb(raw.length)} long, over the ${mb(MAX_LINE_CHARS)} a record may have (no model's context holds it)` });
      return;
    }
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      errors.push({ line, message: `not JSON (${(e as Error).message})` });
      return;
    }
    const found = problems(value);
    if (found.length) {
      errors.push({ line, message: found.join('; ') });
      return;
    }
    const r = value as GenpiRecord;
    const first = firstLineOfId.get(r.id);
    if (first !== undefined) {
      errors.push({ line, message: `duplicate id ${JSON.stringify(r.id)} (first on line ${first})` });
      return;
    }
    firstLineOfId.set(r.id, line);
    records.push(canonical(r));
  });
  return { records, errors, file };
}

/** Like parseJsonl, but a file with no valid record is a ModelError naming the first few bad lines. */
export function readDataset(text: string, file = 'dataset.jsonl'): { records: GenpiRecord[]; errors: JsonlLineError[] } {
  const { records, errors } = parseJsonl(text, file);
  if (records.length) return { records, errors };
  if (!errors.length) throw new ModelError(file, 'has no records: export a dataset from genpi (one JSON record per line)');
  const shown = errors.slice(0, 3).map((e) => `line ${e.line}: ${e.message}`);
  const more = errors.length > 3 ? `; and ${errors.length - 3} more bad lines` : '';
  throw new ModelError(file, `has no valid record (${shown.join('; ')}${more}); is this a genpi dataset (JSONL)?`);
}

export interface TrlExportOptions {
  /** The PG user turn (instruction, input, AS-IS, TO-BE under headings): src/train/sequences.ts owns the wording. */
  pgUser: (r: GenpiRecord) => string;
  /** The PG assistant turn (P, then the reason, under headings). */
  pgAssistant: (r: GenpiRecord) => string;
  /** Which examples to write [both]. */
  parts?: 'both' | 'sft' | 'pg';
  /** Write held-out records too [false: they are for evaluation, never trained on]. */
  includeHeldout?: boolean;
}

/**
 * One {"messages": [...]} object per line, the conversational format of TRL's SFTTrainer; train it with
 * `assistant_only_loss=True` so, as here, only assistant tokens carry loss. Per record: its SFT example, then its
 * PG example. TRL has one loss, so the joint weights (w_sft, w_pg) are not expressed; repeat lines to approximate.
 */
export function toTrlJsonl(records: readonly GenpiRecord[], opts: TrlExportOptions): string {
  const parts = opts.parts ?? 'both';
  const lines: string[] = [];
  for (const r of records) {
    if (r.split === 'heldout' && !opts.includeHeldout) continue;
    if (parts !== 'pg') {
      const msgs = sftMessages(r);
      if (msgs.some((m) => m.role === 'assistant')) lines.push(JSON.stringify({ messages: msgs }));
    }
    if (parts !== 'sft') {
      const messages = [
        { role: 'user', content: opts.pgUser(r) },
        { role: 'assistant', content: opts.pgAssistant(r) },
      ];
      lines.push(JSON.stringify({ messages }));
    }
  }
  return lines.map((l) => l + '\n').join('');
}
