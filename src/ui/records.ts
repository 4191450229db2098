// Editing a synthesized dataset in the table: a changed input or TO-BE also changes the conversation turn it
// came from (training reads the conversation, so an edit that left it alone would silently not count), plus the
// small derived figures the table shows and the exports it offers.
import type { GenpiRecord } from '../genpi/dataset';
import { toJsonl, toTrlJsonl } from '../genpi/dataset';
import { pgAssistantText, pgUserText } from '../train/sequences';

export type RecordPatch = Partial<Pick<GenpiRecord, 'input' | 'to_be' | 'as_is' | 'reason' | 'split'>>;

export function editRecord(r: GenpiRecord, patch: RecordPatch): GenpiRecord {
  const conversation = r.conversation.map((m) => ({ ...m }));
  // The conversation starts with the input as the user turn, then the teacher's first answer (= TO-BE).
  if (patch.input !== undefined && conversation[0]?.role === 'user' && conversation[0].content === r.input) {
    conversation[0].content = patch.input;
  }
  if (patch.to_be !== undefined && conversation[1]?.role === 'assistant' && conversation[1].content === r.to_be) {
    conversation[1].content = patch.to_be;
  }
  return { ...r, ...patch, conversation };
}

export function splitCounts(records: readonly GenpiRecord[]): { train: number; heldout: number } {
  const heldout = records.filter((r) => r.split === 'heldout').length;
  return { train: records.length - heldout, heldout };
}

/** One entry per non-empty line (seed inputs, typed evaluation inputs). */
export function lines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
}

/** Teacher turns in a conversation: what "turns" counts in the quality figures. */
export function teacherTurns(r: GenpiRecord): number {
  return r.conversation.filter((m) => m.role === 'assistant').length;
}

export function datasetJsonl(records: readonly GenpiRecord[]): string {
  return toJsonl(records);
}

/** TRL's chat-messages JSONL, SFT and PG examples of the train split, with P as the PG target. */
export function datasetTrlJsonl(records: readonly GenpiRecord[], prompt: string): string {
  const p = { text: prompt, messages: [] };
  return toTrlJsonl(records, { pgUser: (r) => pgUserText(r), pgAssistant: (r) => pgAssistantText(r, p) });
}
