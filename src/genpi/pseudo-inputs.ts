// The pure half of pseudo-input synthesis (docs/METHOD.md step 1): the request that asks the model for inputs, reading
// its list back out of messy output, dropping empty, over-long and duplicate inputs, and the held-out split.
import type { Rng } from '../util/rng';
import type { ChatMessage } from '../model/tokenizer';
import { promptAsText, type ParsedPrompt } from './prompt';

/** Indents every line after the first, so a multi-line demonstration stays one item of a numbered list. */
function listItem(i: number, s: string): string {
  return `${i + 1}. ${s.trim().replace(/\n/g, '\n   ')}`;
}

/**
 * The chat asking for `n` new inputs. P goes inside the user turn, labelled as the application's instructions,
 * so the model reads it as material to imitate users of, not as instructions to itself; no system message, so the
 * request works with any chat template.
 */
export function buildPseudoInputRequest(p: ParsedPrompt, demos: string[], n: number): ChatMessage[] {
  const count = n === 1 ? 'one new message' : `${n} new messages`;
  const shown = demos.map((d) => d.trim()).filter((d) => d !== '');
  const parts = [
    'Below are the instructions of an application built on an AI assistant. Users send the application messages, ' +
      'and the assistant answers them following these instructions.',
    `=== APPLICATION INSTRUCTIONS ===\n${promptAsText(p)}\n=== END OF APPLICATION INSTRUCTIONS ===`,
  ];
  if (shown.length) parts.push(`Examples of messages that real users sent to this application:\n${shown.map((d, i) => listItem(i, d)).join('\n')}`);
  parts.push(
    `Write ${count} that different real users of this application would send. Make them realistic, varied and ` +
      `self-contained${shown.length ? ', in the style of the examples but not copies of them' : ''}. ` +
      `Write only the users' messages, not the answers. Reply with a numbered list ("1. ...", "2. ..."), one message ` +
      'per item, and nothing else.',
  );
  return [{ role: 'user', content: parts.join('\n\n') }];
}

const NUMBERED = /^[ \t]*(?:\*\*)?\d{1,3}[.)](?:\*\*)?[ \t]+(.*)$/;
const BULLET = /^[ \t]*[-*•][ \t]+(.*)$/;

/** Removes one pair of quotes or bold markers around a whole item: models often quote each example. */
function unwrap(s: string): string {
  let t = s.trim();
  const pairs: [string, string][] = [['"', '"'], ['“', '”'], ["'", "'"], ['**', '**'], ['`', '`']];
  for (const [a, b] of pairs) {
    if (t.length > a.length + b.length && t.startsWith(a) && t.endsWith(b)) {
      const inner = t.slice(a.length, t.length - b.length);
      if (!inner.includes(a) && !inner.includes(b)) t = inner.trim(); // "a" and "b" is two quotes, not one
    }
  }
  return t;
}

/**
 * The inputs in a model's reply. A numbered list wins ("1." or "1)"); without one, a bulleted list; a line that
 * continues an item is joined to it if it is indented or follows without a blank line, so preamble before the list
 * and commentary after a blank line are dropped. With no list at all: every non-empty line when there are several,
 * else the whole reply as one input.
 */
export function parseGeneratedInputs(text: string): string[] {
  const lines = text.split(/\r?\n/);
  const marker = lines.some((l) => NUMBERED.test(l)) ? NUMBERED : lines.some((l) => BULLET.test(l)) ? BULLET : null;
  if (!marker) {
    const nonEmpty = lines.map((l) => l.trim()).filter((l) => l !== '');
    const items = nonEmpty.length > 1 ? nonEmpty : [text.trim()];
    return items.map(unwrap).filter((s) => s !== '');
  }
  const items: string[][] = [];
  let open = false; // whether the next unindented line still belongs to the last item
  let blankSince = false;
  for (const line of lines) {
    const m = marker.exec(line);
    if (m) {
      items.push([m[1]]);
      open = true;
      blankSince = false;
    } else if (line.trim() === '') {
      blankSince = true;
    } else if (open && (!blankSince || /^[ \t]/.test(line))) {
      const item = items[items.length - 1];
      if (blankSince) item.push('');
      item.push(line.trim());
      blankSince = false;
    } else {
      open = false; // commentary between or after items
    }
  }
  return items.map((it) => unwrap(it.join('\n'))).filter((s) => s !== '');
}

/**
 * Quotes, brackets, sentence punctuation and markdown emphasis: what wraps a request without changing it. Not
 * every symbol: "learn c++" and "learn c#" are different requests from "learn c".
 */
const EDGE = /^[\s.,!?;:…"'“”‘’`«»()[\]{}*_~-]+|[\s.,!?;:…"'“”‘’`«»()[\]{}*_~-]+$/g;

/** The key two inputs share when they are the same request: case, spacing and surrounding punctuation ignored. */
export function normalizeInput(s: string): string {
  return s.toLowerCase().replace(/\s+/g, ' ').replace(EDGE, '');
}

export interface AcceptedInputs {
  accepted: string[];
  dropped: { empty: number; tooLong: number; duplicate: number };
}

/**
 * Keeps candidates that are not empty, not longer than `maxChars` and not seen before; `seen` (normalized keys)
 * is updated, so one set carries across rounds of requests.
 */
export function acceptInputs(candidates: string[], seen: Set<string>, opts: { maxChars: number }): AcceptedInputs {
  const out: AcceptedInputs = { accepted: [], dropped: { empty: 0, tooLong: 0, duplicate: 0 } };
  for (const c of candidates) {
    const text = c.trim();
    const key = normalizeInput(text);
    if (key === '') out.dropped.empty++;
    else if (text.length > opts.maxChars) out.dropped.tooLong++;
    else if (seen.has(key)) out.dropped.duplicate++;
    else {
      seen.add(key);
      out.accepted.push(text);
    }
  }
  return out;
}

/** How many of `n` items splitHeldOut holds out: the training part of a request is known before synthesis. */
export function heldOutCount(n: number, fraction: number): number {
  return fraction > 0 && n >= 2 ? Math.min(n - 1, Math.max(1, Math.round(n * fraction))) : 0;
}

/**
 * A seeded random held-out part of about `fraction` of the items (at least one when fraction > 0 and there are
 * two or more items; never all of them). Both parts keep the items' original order.
 */
export function splitHeldOut<T>(items: T[], fraction: number, rng: Rng): { train: T[]; heldout: T[] } {
  if (!(fraction >= 0 && fraction < 1)) {
    throw new RangeError(`held-out fraction must be at least 0 and below 1 (e.g. 0.1), got ${fraction}`);
  }
  const n = items.length;
  const count = heldOutCount(n, fraction);
  const order = items.map((_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const held = new Set(order.slice(0, count));
  return { train: items.filter((_, i) => !held.has(i)), heldout: items.filter((_, i) => held.has(i)) };
}
