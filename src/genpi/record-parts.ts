// The parts of a record only prompt generation reads (docs/METHOD.md steps 2 and 3): the AS-IS answer, the model without
// P, and the reason, why the answer changes with P. They cost most of a default synthesis (reasons run to 512
// tokens each) and the default variant never reads them, so they are made here on demand: by synthesis when the
// user asks, or before training when the chosen variant reads what the dataset lacks.
import type { Generator } from '../llama/generator';
import type { ChatMessage, Tokenizer } from '../model/tokenizer';
import { missingParts, partsRead, partsText, recordParts, type OptionalPart } from '../train/sequences';
import type { TrainingVariant } from '../train/variants';
import { GREEDY, runChats, runChatReplies } from './chat';
import type { GenpiRecord } from './dataset';
import type { ParsedPrompt } from './prompt';
import { DEFAULT_SYNTHESIS } from './synthesis-defaults';

export function reasonRequest(p: ParsedPrompt, input: string, asIs: string, toBe: string): ChatMessage[] {
  return [{
    role: 'user',
    content: `An assistant answered the same input twice: once without the context below (AS-IS) and once with it ` +
      `(TO-BE). In about five sentences, explain with reference to the context why the answer should change from ` +
      `AS-IS to TO-BE.\n\n## Context\n${p.text}\n\n## Input\n${input}\n\n## AS-IS\n${asIs}\n\n## TO-BE\n${toBe}`,
  }];
}

/** What the parts are made with: the synthesis settings a dataset records, or the defaults. */
export interface PartsSettings {
  maxNewTokens: number;
  reasonTokens: number;
  seed: number;
}

export interface PartsOptions extends PartsSettings {
  signal?: AbortSignal;
  /** The stage running and its count, as each request finishes. */
  onProgress?: (p: { stage: 'as_is' | 'reasons'; done: number; total: number }) => void;
}

/** Reasons not written because their request (P, the input and both answers) does not fit the model's context. */
export interface SkippedReasons {
  count: number;
  why: string;
}

/** The parts to make for `parts`: a reason is written from the AS-IS answer, so asking for it asks for both. */
function withNeeds(parts: readonly OptionalPart[]): OptionalPart[] {
  return parts.includes('reason') ? ['as_is', 'reason'] : [...parts];
}

/**
 * Makes `parts` for every record that lacks one (recordParts), in place, and records in each record's
 * settings.parts what it now holds. AS-IS answers are greedy without P; reasons are sampled [0.7, top-p 0.9] with
 * a seed per record. A reason whose request does not fit the context is skipped and counted, not fatal.
 */
export async function makeParts(gen: Generator, tok: Tokenizer, p: ParsedPrompt, records: GenpiRecord[], parts: readonly OptionalPart[],
  o: PartsOptions): Promise<SkippedReasons | null> {
  const want = withNeeds(parts);
  const lacks = (r: GenpiRecord, x: OptionalPart) => want.includes(x) && !recordParts(r).includes(x);
  const hold = (r: GenpiRecord, x: OptionalPart) => {
    r.settings = { ...r.settings, parts: [...new Set([...recordParts(r), x])] };
  };

  const asIs = records.filter((r) => lacks(r, 'as_is'));
  if (asIs.length) {
    o.onProgress?.({ stage: 'as_is', done: 0, total: asIs.length });
    const texts = await runChats(gen, tok, asIs.map((r) => ({ messages: [{ role: 'user', content: r.input }], sampling: GREEDY(o.maxNewTokens) })),
      o.signal, { onDone: (done) => o.onProgress?.({ stage: 'as_is', done, total: asIs.length }) });
    asIs.forEach((r, i) => {
      r.as_is = texts[i];
      hold(r, 'as_is');
    });
  }

  const reasons = records.map((r, i) => ({ r, i })).filter(({ r }) => lacks(r, 'reason'));
  if (!reasons.length) return null;
  o.onProgress?.({ stage: 'reasons', done: 0, total: reasons.length });
  const replies = await runChatReplies(gen, tok, reasons.map(({ r, i }, k) => ({
    messages: reasonRequest(p, r.input, r.as_is, r.to_be),
    // Seeded by the record's place in the dataset (runChatReplies adds 7919 x the job's place): a record gets the
    // same reason whether it was made at synthesis with all the others or later among a few.
    sampling: { temperature: 0.7, topP: 0.9, maxNewTokens: o.reasonTokens, seed: o.seed + i + (i - k) * 7919 },
  })), o.signal, { skipTooLong: true, onDone: (done) => o.onProgress?.({ stage: 'reasons', done, total: reasons.length }) });
  let skipped: SkippedReasons | null = null;
  reasons.forEach(({ r }, k) => {
    const why = replies[k].skipped;
    if (why) {
      skipped = { count: (skipped?.count ?? 0) + 1, why: `the reason request does not fit: ${why}` };
      return;
    }
    r.reason = replies[k].text;
    hold(r, 'reason');
  });
  return skipped;
}

/** What a dataset was made with (its records' settings), for parts made after synthesis. */
export function partsSettingsOf(records: readonly GenpiRecord[]): PartsSettings {
  const s = records.find((r) => r.settings && typeof r.settings.seed === 'number')?.settings ?? {};
  const reasons = s.reasons as { max_new_tokens?: unknown } | undefined;
  const num = (x: unknown, d: number) => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : d);
  return {
    maxNewTokens: num(s.max_new_tokens, DEFAULT_SYNTHESIS.maxNewTokens),
    reasonTokens: num(reasons?.max_new_tokens, DEFAULT_SYNTHESIS.reasonTokens),
    seed: typeof s.seed === 'number' ? s.seed : 0,
  };
}

/** Text tokenized in pieces can take a few more tokens than measured whole. */
const MARGIN = 32;

/** Cache-slot tokens for making `variant`'s parts of these records: the longest request and its reply. */
export function partsSlotTokens(tok: Tokenizer, p: ParsedPrompt, records: readonly GenpiRecord[], variant: TrainingVariant, s: PartsSettings): number {
  const want = withNeeds(partsRead(variant));
  const chat = (m: ChatMessage[]) => tok.applyChatTemplate(m, { addGenerationPrompt: true }).ids.length;
  let longest = 0;
  for (const r of records) {
    const has = recordParts(r);
    if (want.includes('as_is') && !has.includes('as_is')) longest = Math.max(longest, chat([{ role: 'user', content: r.input }]) + s.maxNewTokens);
    if (want.includes('reason') && !has.includes('reason')) {
      longest = Math.max(longest, chat(reasonRequest(p, r.input, '', r.to_be)) + s.maxNewTokens + s.reasonTokens);
    }
  }
  return longest + MARGIN;
}

/**
 * The plan's sentence when `variant` reads parts some training records lack: what is made before training, for how
 * many records, and why; null when nothing is missing.
 */
export function partsPlan(records: readonly GenpiRecord[], variant: TrainingVariant): string | null {
  const m = missingParts(records, variant);
  if (!m) return null;
  return `before training, ${partsText(m.parts)} are written for the dataset (${m.records} training record${m.records === 1 ? '' : 's'} ` +
    `lack them): the ${variant} variant reads them, and the dataset was synthesized without them`;
}
