// What a training sequence trains on, in words: the decoded text of each run of labelled tokens, checking on the way
// that every label is its own input token (labels are the inputs, not shifted; the loss shifts them).
import { expect } from 'vitest';
import { IGNORE } from '../llama/batch';
import type { Tokenizer } from '../model/tokenizer';
import type { Sequence } from '../train/batch';

/** The decoded text of each run of labelled tokens of `seq`. */
export function labelledSpans(tok: Tokenizer, seq: Sequence): string[] {
  const spans: string[] = [];
  let run: number[] = [];
  seq.labels.forEach((l, t) => {
    if (l !== IGNORE) {
      expect(l).toBe(seq.input_ids[t]);
      run.push(l);
    } else if (run.length) {
      spans.push(tok.decode(run));
      run = [];
    }
  });
  if (run.length) spans.push(tok.decode(run));
  return spans;
}
