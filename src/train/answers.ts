// A dataset whose teacher answers are all empty has nothing to teach: the SFT and distillation terms would train
// only the end-of-turn token (a loss of zero after a few steps that looks like success), and prompt generation alone
// is not internalization. It is refused before any sequence is built, saying so, rather than failing later on
// turn boundaries that an empty turn leaves the chat template unable to mark.
import type { ChatMessage } from '../model/tokenizer';
import { TrainingDataError } from './sequences';

/** What this check reads of a record. */
interface AnsweredRecord {
  to_be: string;
  conversation: readonly ChatMessage[];
  split?: string;
}

/** Whether the record has a teacher answer with text: a non-blank assistant turn, or a non-blank TO-BE without one. */
export function hasAnswer(r: AnsweredRecord): boolean {
  const turns = r.conversation.filter((m) => m.role === 'assistant');
  return turns.length ? turns.some((m) => m.content.trim() !== '') : r.to_be.trim() !== '';
}

/** Throws when no training record has an answer to train on; `file` names the dataset in the message. */
export function checkHasAnswers(records: readonly AnsweredRecord[], file = 'the dataset'): void {
  const train = records.filter((r) => (r.split ?? 'train') === 'train');
  if (!train.length || train.some(hasAnswer)) return;
  throw new TrainingDataError(
    `${file}: none of its ${train.length} training records has an answer to train on (every teacher answer is empty), ` +
      'so there is no token to train; synthesize it again with a model that answers the prompt',
  );
}
