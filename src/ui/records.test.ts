// Table edits keep the conversation in step with the edited fields; exports and line lists.
import { describe, expect, it } from 'vitest';
import type { GenpiRecord } from '../genpi/dataset';
import { readDataset } from '../genpi/dataset';
import { safeFileName } from './download';
import { datasetJsonl, datasetTrlJsonl, editRecord, lines, splitCounts, teacherTurns } from './records';
import { testRecord } from '../testing/records';

const record = (id: string, split: 'train' | 'heldout' = 'train'): GenpiRecord => testRecord(id, {
  input: 'list files', as_is: 'I cannot.', reason: 'P says to act.', split, settings: { seed: 0 },
  later: [{ role: 'user', content: 'a b c' }, { role: 'assistant', content: 'Act: answer(3)' }],
});

describe('editRecord', () => {
  it('carries an edited input and TO-BE into the conversation turns they came from', () => {
    const r = record('a');
    const e = editRecord(r, { input: 'count files', to_be: 'Act: bash ls | wc -l' });
    expect(e.conversation[0].content).toBe('count files');
    expect(e.conversation[1].content).toBe('Act: bash ls | wc -l');
    expect(e.conversation[3].content).toBe('Act: answer(3)');
    expect(r.conversation[0].content).toBe('list files'); // the original is untouched
  });

  it('leaves turns that no longer match the field alone, and edits reason and split', () => {
    const r = { ...record('a'), conversation: [{ role: 'user', content: 'other' }] };
    const e = editRecord(r, { input: 'x', reason: 'because', split: 'heldout' });
    expect(e.conversation).toEqual([{ role: 'user', content: 'other' }]);
    expect(e.reason).toBe('because');
    expect(e.split).toBe('heldout');
  });
});

describe('dataset helpers', () => {
  it('counts splits and teacher turns, and splits lines', () => {
    expect(splitCounts([record('a'), record('b', 'heldout'), record('c')])).toEqual({ train: 2, heldout: 1 });
    expect(teacherTurns(record('a'))).toBe(2);
    expect(lines(' one \n\n two\r\n')).toEqual(['one', 'two']);
  });

  it('exports JSONL that reads back, and TRL messages for the train split only', () => {
    const rs = [record('a'), record('b', 'heldout')];
    expect(readDataset(datasetJsonl(rs)).records).toEqual(rs);
    const trl = datasetTrlJsonl(rs, 'THE PROMPT').trim().split('\n').map((l) => JSON.parse(l));
    expect(trl).toHaveLength(2); // SFT and PG of record a
    expect(trl[1].messages[1].content).toContain('THE PROMPT');
  });

  it('makes safe file names', () => {
    expect(safeFileName('OS agent 2025-03-04 09:05', 'zip')).toBe('OS-agent-2025-03-04-0905.zip');
    expect(safeFileName('../..', 'jsonl')).toBe('genpi.jsonl');
  });
});
