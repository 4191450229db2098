// Dataset JSONL: a round trip, broken lines reported by number while good ones are kept, the strict reader's
// error, and the TRL export's shape (SFT conversations and PG pairs, held-out records left out).
import { describe, expect, it } from 'vitest';
import { ModelError } from '../model/errors';
import { sftMessages } from '../train/sequences';
import { MAX_LINE_CHARS, parseJsonl, readDataset, toJsonl, toTrlJsonl, type GenpiRecord } from './dataset';
import { testRecord } from '../testing/records';

function record(id: string, split: GenpiRecord['split'] = 'train'): GenpiRecord {
  return testRecord(id, {
    input: `How many files are in /etc? (${id})`,
    answer: 'Think: I need to list them.\n\nAct: bash\n\n```bash\nls -1 /etc | wc -l\n```',
    as_is: 'I cannot access your computer.',
    reason: 'The prompt says the assistant operates a Linux shell, so it should run a command.',
    later: [
      { role: 'user', content: 'The output of the OS:\n220' },
      { role: 'assistant', content: 'Think: the answer is 220.\n\nAct: answer(220)' },
      { role: 'user', content: '[END]' },
    ],
    split,
    settings: { seed: 1, max_turns: 10, environment: { name: 'the OS', endMarker: '[END]' } },
  });
}

describe('JSONL round trip', () => {
  it('writes one record per line and reads the same records back', () => {
    const records = [record('r00000'), record('r00001', 'heldout')];
    const text = toJsonl(records);
    expect(text.split('\n')).toHaveLength(3); // two lines and the final newline
    expect(Object.keys(JSON.parse(text.split('\n')[0]))).toEqual(['id', 'input', 'as_is', 'to_be', 'reason', 'conversation', 'split', 'settings']);
    expect(parseJsonl(text)).toEqual({ records, errors: [], file: 'dataset.jsonl' });
    expect(toJsonl([])).toBe('');
  });

  it('keeps good lines and reports each bad one by 1-based number and what is wrong', () => {
    const good = toJsonl([record('a'), record('b')]).trimEnd().split('\n');
    const noReason = { ...record('c') } as Partial<GenpiRecord>;
    delete noReason.reason;
    const lines = [
      good[0],
      '',
      '{"id": "x", "input": ', // cut off mid-write
      JSON.stringify(noReason),
      JSON.stringify({ ...record('d'), split: 'test', id: 4 }),
      '[1, 2]',
      JSON.stringify({ ...record('e'), conversation: [{ role: 'system', content: 'x' }] }),
      good[0], // the same id again
      good[1],
      '   ',
    ];
    const { records, errors } = parseJsonl(lines.join('\r\n'), 'mine.jsonl');
    expect(records.map((r) => r.id)).toEqual(['a', 'b']);
    expect(errors.map((e) => e.line)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(errors[0].message).toMatch(/^not JSON \(/);
    expect(errors[1].message).toBe('missing field "reason"');
    expect(errors[2].message).toBe('field "id" must be a string, got 4; field "split" must be "train" or "heldout", got "test"');
    expect(errors[3].message).toMatch(/not a JSON object/);
    expect(errors[4].message).toMatch(/^conversation\[0\] must be \{"role": "user" \| "assistant"/);
    expect(errors[5].message).toBe('duplicate id "a" (first on line 1)');
  });
});

describe('JSONL lines that are not plain records', () => {
  it('reads the first record after a byte-order mark (an editor\'s, not a bad line)', () => {
    const { records, errors } = parseJsonl(`\uFEFF${toJsonl([record('a', 'heldout'), record('b')])}`);
    expect(errors).toEqual([]);
    expect(records.map((r) => [r.id, r.split])).toEqual([['a', 'heldout'], ['b', 'train']]);
  });

  it('skips a line over the size limit by number, without parsing it, and keeps the others', () => {
    const huge = JSON.stringify({ ...record('big'), to_be: 'x'.repeat(MAX_LINE_CHARS) });
    const t0 = performance.now();
    const { records, errors } = parseJsonl([toJsonl([record('a')]).trimEnd(), huge, toJsonl([record('b')])].join('\n'));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(records.map((r) => r.id)).toEqual(['a', 'b']);
    expect(errors).toEqual([{ line: 2, message: 'is 16.0 MiB long, over the 16.0 MiB a record may have (no model\'s context holds it)' }]);
  });
});

describe('readDataset', () => {
  it('returns the records and line errors when some lines are good', () => {
    const { records, errors } = readDataset(`${toJsonl([record('a')])}oops\n`, 'd.jsonl');
    expect(records).toHaveLength(1);
    expect(errors).toEqual([{ line: 2, message: expect.stringMatching(/^not JSON/) }]);
  });

  it('throws a ModelError naming the file and the first bad lines when no record is valid', () => {
    const bad = ['x', '{}', '[]', '"s"', '1'].join('\n');
    expect(() => readDataset(bad, 'bad.jsonl')).toThrow(ModelError);
    expect(() => readDataset(bad, 'bad.jsonl')).toThrow(/^bad\.jsonl: has no valid record \(line 1: not JSON.*; line 2: missing field "id".*; line 3: .*; and 2 more bad lines\)/);
    expect(() => readDataset('\n\n', 'empty.jsonl')).toThrow(/^empty\.jsonl: has no records/);
  });
});

describe('sftMessages', () => {
  it('uses the conversation from the input on and drops the trailing end-marker turn', () => {
    const r = record('a');
    expect(sftMessages(r)).toEqual(r.conversation.slice(0, 4));
  });

  it('refuses a conversation that does not start with the input (training and the TRL export share this)', () => {
    const r = { ...record('a'), conversation: [{ role: 'assistant', content: 'hi' }] };
    expect(() => sftMessages(r)).toThrow(/must start with the user's input/);
  });
});

describe('toTrlJsonl', () => {
  const opts = {
    pgUser: (r: GenpiRecord) => `## Input\n${r.input}\n## AS-IS\n${r.as_is}\n## TO-BE\n${r.to_be}`,
    pgAssistant: (r: GenpiRecord) => `## Context\nP\n## Reason\n${r.reason}`,
  };

  it('writes {"messages"} lines: the SFT conversation then the PG pair per train record, held-out left out', () => {
    const records = [record('a'), record('b', 'heldout'), record('c')];
    const lines = toTrlJsonl(records, opts).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(4);
    for (const l of lines) {
      expect(Object.keys(l)).toEqual(['messages']);
      expect(l.messages.at(-1).role).toBe('assistant'); // TRL's assistant-only loss needs something to train on
    }
    expect(lines[0].messages).toEqual(sftMessages(records[0]));
    expect(lines[1].messages).toEqual([
      { role: 'user', content: opts.pgUser(records[0]) },
      { role: 'assistant', content: opts.pgAssistant(records[0]) },
    ]);
    expect(lines[2].messages[0].content).toBe(records[2].input);
  });

  it('writes one part only, or held-out records too, when asked', () => {
    const records = [record('a'), record('b', 'heldout')];
    expect(toTrlJsonl(records, { ...opts, parts: 'sft' }).trimEnd().split('\n')).toHaveLength(1);
    const pg = toTrlJsonl(records, { ...opts, parts: 'pg', includeHeldout: true }).trimEnd().split('\n');
    expect(pg.map((l) => JSON.parse(l).messages[0].content)).toEqual(records.map(opts.pgUser));
  });
});
