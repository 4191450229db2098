// Pseudo-input helpers against the output small models really write: preambles, "1)" lists, commentary, quotes,
// duplicates, over-long items, no list at all; and the held-out split's determinism.
import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng';
import { parsePrompt } from './prompt';
import { acceptInputs, buildPseudoInputRequest, normalizeInput, parseGeneratedInputs, splitHeldOut } from './pseudo-inputs';

describe('buildPseudoInputRequest', () => {
  it('shows P as the application instructions, the demonstrations as a list, and asks for n numbered items', () => {
    const p = parsePrompt('You are a support bot for Acme routers.\nuser: My wifi drops.\nassistant: Restart the router.');
    const msgs = buildPseudoInputRequest(p, ['My wifi drops.', 'How do I\nreset it?'], 8);
    expect(msgs).toHaveLength(1);
    expect(msgs[0].role).toBe('user');
    const c = msgs[0].content;
    expect(c).toContain('=== APPLICATION INSTRUCTIONS ===\nYou are a support bot for Acme routers.');
    expect(c).toContain('User:\nMy wifi drops.\n\nAssistant:\nRestart the router.\n=== END OF APPLICATION INSTRUCTIONS ===');
    expect(c).toContain('1. My wifi drops.\n2. How do I\n   reset it?');
    expect(c).toContain('Write 8 new messages');
    expect(c).toMatch(/numbered list .*nothing else\.$/);
    // A demonstration written as a list item reads back as the same input.
    expect(parseGeneratedInputs('1. My wifi drops.\n2. How do I\n   reset it?')).toEqual(['My wifi drops.', 'How do I\nreset it?']);
  });

  it('omits the examples section when there are no demonstrations', () => {
    const c = buildPseudoInputRequest(parsePrompt('You are a poet.'), [' '], 1)[0].content;
    expect(c).not.toContain('Examples of messages');
    expect(c).toContain('Write one new message');
  });
});

describe('parseGeneratedInputs', () => {
  it('skips a preamble and trailing commentary, unquotes items, joins continuation lines', () => {
    const out = [
      'Sure! Here are 5 messages users might send:',
      '',
      '1. "How many files are in /var/log?"',
      '2. Find every .py file under /home',
      '   that is larger than 1 MB.',
      '3. What is my IP address?',
      '4. **Show the disk usage of /tmp**',
      '5. Which process uses the most memory?',
      'Sort by resident memory.',
      '',
      'I hope these help! Let me know if you need more.',
    ].join('\n');
    expect(parseGeneratedInputs(out)).toEqual([
      'How many files are in /var/log?',
      'Find every .py file under /home\nthat is larger than 1 MB.',
      'What is my IP address?',
      'Show the disk usage of /tmp',
      'Which process uses the most memory?\nSort by resident memory.',
    ]);
  });

  it('reads "1)" lists and ignores nested bullets as item starts', () => {
    const out = '1) Book a table for two\n   - tonight at 8\n2) Cancel my order #123\n\n3) "Is the shop open on Sunday?"';
    expect(parseGeneratedInputs(out)).toEqual(['Book a table for two\n- tonight at 8', 'Cancel my order #123', 'Is the shop open on Sunday?']);
  });

  it('keeps an indented paragraph after a blank line, drops unindented text after one', () => {
    const out = '1. First line\n\n   second paragraph\n2. Other\n\nNote: these are examples.';
    expect(parseGeneratedInputs(out)).toEqual(['First line\n\nsecond paragraph', 'Other']);
  });

  it('reads a bulleted list when there is no numbered one', () => {
    expect(parseGeneratedInputs('Ideas:\n- Plan a trip to Rome\n* What to pack?\n• Cheap flights')).toEqual([
      'Plan a trip to Rome',
      'What to pack?',
      'Cheap flights',
    ]);
  });

  it('falls back to non-empty lines without a list, and to the whole reply for a single line', () => {
    expect(parseGeneratedInputs('What is the weather?\n\n"Tell me a joke"\nTranslate hello to French\n')).toEqual([
      'What is the weather?',
      'Tell me a joke',
      'Translate hello to French',
    ]);
    expect(parseGeneratedInputs('  Summarize this article about bees.  ')).toEqual(['Summarize this article about bees.']);
    expect(parseGeneratedInputs('  \n ')).toEqual([]);
  });

  it('does not take numbers inside text for list items', () => {
    expect(parseGeneratedInputs('3.5 inches is how much in cm?')).toEqual(['3.5 inches is how much in cm?']);
  });
});

describe('normalizeInput and acceptInputs', () => {
  it('normalizes case, spacing, surrounding quotes and punctuation, but keeps symbols that change a request', () => {
    expect(normalizeInput('  "How   do I\nlearn Rust?"  ')).toBe('how do i learn rust');
    expect(normalizeInput('**(How do I learn rust.)**')).toBe('how do i learn rust');
    expect(normalizeInput('learn c++')).not.toBe(normalizeInput('learn c'));
    expect(normalizeInput('learn C#')).toBe('learn c#');
  });

  it('drops empty, over-long and duplicate inputs, counting each, and remembers across calls', () => {
    const seen = new Set<string>();
    const first = acceptInputs(['Reset my password', '  ', '"?"', 'x'.repeat(51), 'reset my password!', 'Delete my account'], seen, { maxChars: 50 });
    expect(first.accepted).toEqual(['Reset my password', 'Delete my account']);
    expect(first.dropped).toEqual({ empty: 2, tooLong: 1, duplicate: 1 });
    const second = acceptInputs(['DELETE MY ACCOUNT.', 'Change my email'], seen, { maxChars: 50 });
    expect(second.accepted).toEqual(['Change my email']);
    expect(second.dropped).toEqual({ empty: 0, tooLong: 0, duplicate: 1 });
    expect(seen.size).toBe(3);
  });
});

describe('splitHeldOut', () => {
  const items = Array.from({ length: 50 }, (_, i) => i);

  it('is deterministic by seed, disjoint, complete, and in original order', () => {
    const a = splitHeldOut(items, 0.1, new Rng(7).fork('split'));
    const b = splitHeldOut(items, 0.1, new Rng(7).fork('split'));
    const c = splitHeldOut(items, 0.1, new Rng(8).fork('split'));
    expect(a).toEqual(b);
    expect(a.heldout).toHaveLength(5);
    expect(c.heldout).not.toEqual(a.heldout);
    expect([...a.train, ...a.heldout].sort((x, y) => x - y)).toEqual(items);
    expect(a.heldout).toEqual([...a.heldout].sort((x, y) => x - y));
  });

  it('holds out at least one of two or more items when fraction > 0, never all, none at fraction 0', () => {
    expect(splitHeldOut([1, 2], 0.01, new Rng(1)).heldout).toHaveLength(1);
    expect(splitHeldOut([1, 2, 3], 0.99, new Rng(1)).train).toHaveLength(1);
    expect(splitHeldOut([1], 0.5, new Rng(1))).toEqual({ train: [1], heldout: [] });
    expect(splitHeldOut(items, 0, new Rng(1)).heldout).toEqual([]);
    expect(() => splitHeldOut(items, 1, new Rng(1))).toThrow(RangeError);
    expect(() => splitHeldOut(items, Number.NaN, new Rng(1))).toThrow(/below 1/);
  });
});
