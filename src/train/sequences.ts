// Turns synthesized records into the SFT and PG (prompt generation) training sequences of GenPI's joint loss, with
// the ablation and baseline switches and the distillation variants' KL group, and checks before training that every
// sequence fits the model's context.
import { ModelError } from '../model/errors';
import type { ChatMessage, Tokenizer } from '../model/tokenizer';
import { IGNORE } from '../llama/batch';
import type { Group, Sequence } from './batch';
import { effectiveLoss, PG_FULL, variantSpec, type LossSettings, type PgOptions, type TrainingVariant } from './variants';

/** What this file reads of a dataset record (the dataset module owns the full type). */
export interface TrainingRecord {
  id?: string;
  input: string;
  as_is: string;
  to_be: string;
  reason: string;
  /** The input turn, then teacher ('assistant') and environment ('user') turns alternating. */
  conversation: readonly ChatMessage[]; // 'user' (input, environment) and 'assistant' (teacher) turns
  /** Missing means 'train'. */
  split?: string;
  /** Synthesis settings; `cut_turns` lists the conversation indices of teacher turns the token limit cut short. */
  settings?: Record<string, unknown>;
}

/** The prompt P as training reads it (genpi's ParsedPrompt is this plus what parsing found). */
export interface PromptText {
  /** The prompt exactly as given, untruncated: the prompt-generation (PG) target is P itself, not our reading of it. */
  text: string;
  /** What the teacher sees before the input: a system message (when there is system text), then the examples. */
  messages: ChatMessage[];
}

export class TrainingDataError extends Error {
  override name = 'TrainingDataError';
}

/** The chat template renders a conversation's prefix differently from the conversation itself. */
export class ChatTemplateError extends ModelError {
  override name = 'ChatTemplateError';
  constructor(problem: string) {
    super('tokenizer_config.json', problem, 'chat_template');
  }
}

/** Some sequences are longer than the context; P is never cut, so the user must change something. */
export class ContextTooShortError extends TrainingDataError {
  override name = 'ContextTooShortError';
  /** An offender with `atLeast` was measured on a prefix only (too long to tokenize whole): it has more tokens. */
  constructor(
    readonly context: number,
    readonly offenders: { name: string; length: number; atLeast?: boolean }[],
  ) {
    const shown = offenders.slice(0, 5).map((o) => `${o.name} (${o.atLeast ? 'over ' : ''}${o.length} tokens)`);
    const more = offenders.length > 5 ? `, and ${offenders.length - 5} more` : '';
    super(
      `${offenders.length} training sequence${offenders.length === 1 ? ' does' : 's do'} not fit the model's context of ` +
        `${context} tokens: ${shown.join(', ')}${more}. The prompt is never truncated, so use a longer-context model, ` +
        'or a shorter prompt or a lower conversation turn limit.',
    );
  }
}

/**
 * The whole conversation through the chat template, labelled on each assistant turn from index `trainFrom` on:
 * its content and its end-of-turn token, nothing else (not the template's default system message, role headers,
 * nor the newline after the end-of-turn token). Spans come from rendering prefixes: template(messages[:i], with a
 * generation prompt) must be a prefix of the whole text and ends where turn i starts; template(messages[:i+1])
 * ends where it stops. A template that rewrites earlier turns (e.g. strips reasoning) fails this check, and we
 * throw rather than train on boundaries we cannot trust.
 */
export function labelAssistantTurns(tok: Tokenizer, messages: readonly ChatMessage[], trainFrom = 0, cut: ReadonlySet<number> = new Set()): Sequence {
  const full = tok.applyChatTemplate(messages).text;
  const spans: [number, number, boolean][] = []; // character [start, end) of each trained turn, and whether it was cut
  let last = 0;
  for (let i = trainFrom; i < messages.length; i++) {
    if (messages[i].role !== 'assistant') continue;
    const startText = tok.applyChatTemplate(messages.slice(0, i), { addGenerationPrompt: true }).text;
    const endText = tok.applyChatTemplate(messages.slice(0, i + 1)).text;
    const start = startText.length;
    if (!full.startsWith(endText) || !endText.startsWith(startText) || start < last) {
      throw new ChatTemplateError(
        `renders the conversation up to assistant turn ${i} differently from the whole conversation, so the ` +
          'turn boundaries for the training labels are unknown; use a model whose template renders each turn once',
      );
    }
    spans.push([start, endText.length, cut.has(i)]);
    last = endText.length;
  }
  const seams = [...new Set(spans.flatMap(([s, e]) => [s, e]))];
  const { ids, at } = encodeWithSeams(tok, full, seams);
  const labels: number[] = new Array(ids.length).fill(IGNORE);
  const endOfTurn = new Set(tok.endOfTurnIds);
  for (const [s, e, wasCut] of spans) {
    const from = at.get(s)!;
    const to = at.get(e)!;
    let stop = from;
    while (stop < to && !endOfTurn.has(ids[stop])) stop++;
    if (stop === to) {
      throw new ChatTemplateError(
        'ends an assistant turn without an end-of-turn token the tokenizer knows, so the model would never learn ' +
          'to stop; use a chat model whose template closes turns (e.g. <|im_end|>, <|eot_id|>)',
      );
    }
    // A turn the token limit cut still closes in the template, but the teacher never chose to stop there.
    for (let t = from; t <= (wasCut ? stop - 1 : stop); t++) labels[t] = ids[t];
  }
  return { input_ids: ids, labels };
}

/**
 * Token ids of `text` and the token index of each character seam. The text is encoded whole, so it matches what
 * inference sees, except where a seam is not a token boundary (byte-level BPE merges "assistant\n" with a turn
 * that starts "\n\n"): there the text is split and each side encoded alone, which also gives the tokens the model
 * produces when it generates that turn after the generation prompt.
 */
function encodeWithSeams(tok: Tokenizer, text: string, seams: number[]): { ids: number[]; at: Map<number, number> } {
  const enc = (a: number, b: number) => (b > a ? tok.encode(text.slice(a, b), { addSpecialTokens: false }) : []);
  const ids: number[] = []; // tokens of the runs already closed
  const at = new Map<number, number>();
  let runStart = 0;
  let prevSeam = 0;
  let prev: number[] = []; // encoding of text[runStart : prevSeam]
  for (const s of [...[...seams].sort((a, b) => a - b), text.length]) {
    let cur = enc(runStart, s);
    if (!prev.every((id, k) => cur[k] === id)) {
      // prevSeam falls inside a token of the whole encoding: close the run there. (A loop, not push(...prev):
      // spreading a long turn's tokens as arguments overflows the call stack.)
      for (const id of prev) ids.push(id);
      runStart = prevSeam;
      cur = enc(runStart, s);
    }
    at.set(s, ids.length + cur.length);
    prev = cur;
    prevSeam = s;
  }
  for (const id of prev) ids.push(id);
  return { ids, at };
}

export interface SftOptions {
  /** The prompt-prepending baseline: P's messages go before the input as masked history. */
  prependPrompt?: boolean;
  /** P; needed only with prependPrompt. */
  prompt?: PromptText;
}

/** The turns trained on: the conversation without trailing environment turns (the end marker's turn among them). */
export function sftMessages(record: TrainingRecord): ChatMessage[] {
  const turns = record.conversation.map((m) => ({ role: m.role, content: m.content }));
  // Nothing after the last teacher turn carries loss; the environment's end marker ("[END]") is only a
  // synthesis signal, and training on it would teach the student a turn it never sees.
  while (turns.length && turns[turns.length - 1].role !== 'assistant') turns.pop();
  if (turns.length === 0) {
    // No role-play (e.g. an imported single-turn dataset): TO-BE is the teacher's answer to the input.
    if (!record.to_be) throw new TrainingDataError(`record ${record.id ?? `"${record.input.slice(0, 40)}"`} has neither a conversation nor a TO-BE answer to train on`);
    return [{ role: 'user', content: record.input }, { role: 'assistant', content: record.to_be }];
  }
  if (turns[0].role !== 'user') {
    throw new TrainingDataError(`record ${record.id ?? `"${record.input.slice(0, 40)}"`}: the conversation must start with the user's input`);
  }
  return turns;
}

/**
 * The SFT sequence: the input as the user turn (no system message of ours: the template does what it does, as in
 * synthesis and chat), then teacher turns as assistant turns and environment turns as user turns; loss on the
 * assistant turns only.
 */
export function sftSequence(tok: Tokenizer, record: TrainingRecord, opts: SftOptions = {}): Sequence {
  const turns = sftMessages(record);
  const cut = cutTurns(record);
  if (!opts.prependPrompt) return labelAssistantTurns(tok, turns, 0, cut);
  if (!opts.prompt) throw new TypeError('sftSequence: prependPrompt needs the prompt');
  const shift = opts.prompt.messages.length;
  return labelAssistantTurns(tok, [...opts.prompt.messages, ...turns], shift, new Set([...cut].map((i) => i + shift)));
}

/** The record's cut teacher turns (settings.cut_turns), ignoring anything that is not a list of indices. */
export function cutTurns(record: TrainingRecord): Set<number> {
  const list = record.settings?.cut_turns;
  return new Set(Array.isArray(list) ? list.filter((i): i is number => Number.isInteger(i)) : []);
}

function pgParts(opts: PgOptions): void {
  if (!opts.withReason && !opts.withPrompt) throw new TypeError('a PG target needs the prompt, the reason or both');
}

/** The PG user turn: what to do, then the input, AS-IS and TO-BE under their own headings. */
export function pgUserText(record: TrainingRecord, opts: PgOptions = PG_FULL): string {
  pgParts(opts);
  const task = !opts.withReason
    ? 'Write that context.'
    : !opts.withPrompt
      ? 'Explain why that context changes the answer.'
      : 'Write that context and explain why it changes the answer.';
  return (
    `The answer below changed from AS-IS to TO-BE once some context was given to the assistant. ${task}\n\n` +
    `## Input\n${record.input}\n\n## AS-IS\n${record.as_is}\n\n## TO-BE\n${record.to_be}`
  );
}

/** The PG assistant turn: all of P (never truncated: the reference code cut it at 512 tokens, a bug), then the reason. */
export function pgAssistantText(record: TrainingRecord, p: PromptText, opts: PgOptions = PG_FULL): string {
  pgParts(opts);
  const sections: string[] = [];
  if (opts.withPrompt) sections.push(`## Context\n${p.text}`);
  if (opts.withReason) sections.push(`## Reason\n${record.reason}`);
  return sections.join('\n\n');
}

/** The PG sequence: one user turn and one assistant turn, loss on the assistant turn only. */
export function pgSequence(tok: Tokenizer, record: TrainingRecord, p: PromptText, opts: PgOptions = PG_FULL): Sequence {
  return labelAssistantTurns(tok, [
    { role: 'user', content: pgUserText(record, opts) },
    { role: 'assistant', content: pgAssistantText(record, p, opts) },
  ]);
}

/**
 * The parts of a record only prompt generation reads: the AS-IS answer (the model without P) and the reason. Synthesis
 * makes them only when asked, since on the default variant they were most of its time; training makes what a
 * dataset lacks before a variant that reads them starts.
 */
export type OptionalPart = 'as_is' | 'reason';

export const OPTIONAL_PARTS: readonly OptionalPart[] = ['as_is', 'reason'];

/** The optional parts the variant reads (a reason is written from the AS-IS answer, so it needs that too). */
export function partsRead(variant: TrainingVariant): OptionalPart[] {
  const pg = variantSpec(variant).pg;
  if (!pg) return [];
  return pg.withReason ? ['as_is', 'reason'] : ['as_is'];
}

/** The optional parts a record holds (settings.parts); a record saved before parts were recorded holds them all. */
export function recordParts(record: TrainingRecord): OptionalPart[] {
  const list = record.settings?.parts;
  if (!Array.isArray(list)) return [...OPTIONAL_PARTS];
  return OPTIONAL_PARTS.filter((x) => list.includes(x));
}

/** What the variant reads that some training records lack: those parts, and how many records lack one; null if none. */
export function missingParts(records: readonly TrainingRecord[], variant: TrainingVariant): { parts: OptionalPart[]; records: number } | null {
  const read = partsRead(variant);
  const train = records.filter((r) => (r.split ?? 'train') === 'train');
  const lacking = train.filter((r) => {
    const has = recordParts(r);
    return read.some((x) => !has.includes(x));
  });
  if (!lacking.length) return null;
  const parts = read.filter((x) => lacking.some((r) => !recordParts(r).includes(x)));
  return { parts, records: lacking.length };
}

/**
 * Refuses records that lack parts the variant reads: a PG target built on an empty AS-IS answer or reason would
 * train the student on nothing, silently. The CLI and the app write them first (genpi/record-parts.ts).
 */
export function checkHasParts(records: readonly TrainingRecord[], variant: TrainingVariant): void {
  const m = missingParts(records, variant);
  if (!m) return;
  throw new TrainingDataError(`the ${variant} variant reads ${partsText(m.parts)}, which ${m.records} training record` +
    `${m.records === 1 ? ' lacks' : 's lack'} (synthesized without them): write them first (genpi train and the app do), or train kl_only`);
}

/** "AS-IS answers and reasons": what missingParts found, for plan lines. */
export function partsText(parts: readonly OptionalPart[]): string {
  return parts.map((x) => (x === 'as_is' ? 'AS-IS answers' : 'reasons')).join(' and ');
}

export interface TrainingSet {
  /** The 'train' records, in the order of `sft`. */
  records: TrainingRecord[];
  sft: Sequence[];
  /** Empty when the variant has no PG loss. */
  pg: Sequence[];
  /**
   * [SFT group (w_sft; 0 for kl_only), PG group (w_pg), KL group (w_kl, kind 'kl', on the SFT sequences)]; the PG
   * group is absent when the variant has no PG loss, the KL group when it does not distill.
   */
  groups: Group[];
  /** The teacher's top-K when the variant distills (its targets are attached to `sft` before training), else null. */
  distill: { topK: number } | null;
  /** Every sequence with a name for messages ("sft[id]", "pg[id]"), ready for checkFitsContext. */
  named: { name: string; seq: Sequence }[];
}

/**
 * Most characters one token can hold, for the quick length check: real vocabularies' longest tokens (runs of spaces
 * or of "=") are far shorter, so a text of more than (context + margin) x this many characters is surely too long.
 */
const MAX_CHARS_PER_TOKEN = 32;
/** Tokens a prefix may count beyond the whole text's (the word cut at the prefix's end). */
const PREFIX_MARGIN = 64;

/**
 * A lower bound on the tokens of `text` when that alone exceeds `context`, else null. Tokenizing takes seconds per
 * megabyte, so a text longer than any context could hold is measured on a prefix that already holds too many
 * tokens, and refused quickly with the same message as any other sequence over the context.
 */
export function tokensOverContext(tok: Pick<Tokenizer, 'encode'>, text: string, context: number): number | null {
  const window = (context + PREFIX_MARGIN + 1) * MAX_CHARS_PER_TOKEN;
  if (text.length <= window) return null; // short enough for the whole sequence to be built and measured
  const n = tok.encode(text.slice(0, window), { addSpecialTokens: false }).length - PREFIX_MARGIN;
  return n > context ? n : null;
}

/** Records whose SFT or PG text alone is over `context` tokens, named as checkFitsContext names them. */
function recordsOverContext(tok: Tokenizer, train: readonly TrainingRecord[], p: PromptText, settings: LossSettings, context: number) {
  const pgOpts = variantSpec(settings.variant).pg;
  const offenders: { name: string; length: number; atLeast: true }[] = [];
  train.forEach((r, i) => {
    const name = r.id ?? String(i);
    const texts: [string, string][] = [[`sft[${name}]`, [r.input, r.to_be, ...r.conversation.map((m) => m.content)].join('\n')]];
    if (pgOpts) texts.push([`pg[${name}]`, pgUserText(r, pgOpts) + pgAssistantText(r, p, pgOpts)]);
    for (const [seq, text] of texts) {
      const n = tokensOverContext(tok, text, context);
      if (n !== null) offenders.push({ name: seq, length: n, atLeast: true });
    }
  });
  return offenders;
}

/**
 * The joint loss's groups from the 'train' records (a record without a split counts as train). `rng` (seeded)
 * decides which SFT sequences get P prepended in the prepending baselines, so a run can be repeated exactly. With
 * `context`, records far too long for it are refused (ContextTooShortError) before any is tokenized whole.
 */
export function buildTrainingGroups(
  tok: Tokenizer,
  records: readonly TrainingRecord[],
  p: PromptText,
  settings: LossSettings,
  rng: { next(): number },
  context?: number,
): TrainingSet {
  const train = records.filter((r) => (r.split ?? 'train') === 'train');
  if (context !== undefined) {
    const over = recordsOverContext(tok, train, p, settings, context);
    if (over.length) throw new ContextTooShortError(context, over);
  }
  const spec = variantSpec(settings.variant);
  const pgOpts = spec.pg;
  const named: TrainingSet['named'] = [];
  const name = (r: TrainingRecord, i: number) => r.id ?? String(i);
  const sft = train.map((r, i) => {
    const prependPrompt = spec.prepend > 0 && rng.next() < spec.prepend;
    const seq = sftSequence(tok, r, { prependPrompt, prompt: p });
    named.push({ name: `sft[${name(r, i)}]`, seq });
    return seq;
  });
  const pg = !pgOpts
    ? []
    : train.map((r, i) => {
        const seq = pgSequence(tok, r, p, pgOpts);
        named.push({ name: `pg[${name(r, i)}]`, seq });
        return seq;
      });
  const loss = effectiveLoss(settings);
  const groups: Group[] = [{ weight: loss.sftWeight, sequences: sft }];
  if (pgOpts) groups.push({ weight: loss.pgWeight, sequences: pg });
  if (spec.kl) groups.push({ weight: loss.klWeight!, sequences: sft, kind: 'kl' });
  const distill = spec.kl ? { topK: loss.klTopK! } : null;
  return { records: train, sft, pg, groups, named, distill };
}

/** Throws one ContextTooShortError naming the longest sequences over `context` tokens, so it comes before training. */
export function checkFitsContext(sequences: readonly { name: string; seq: Sequence }[], context: number): void {
  const offenders = sequences
    .filter((s) => s.seq.input_ids.length > context)
    .map((s) => ({ name: s.name, length: s.seq.input_ids.length }))
    .sort((a, b) => b.length - a.length);
  if (offenders.length) throw new ContextTooShortError(context, offenders);
}
