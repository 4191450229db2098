// Checks the SFT and PG sequences by decoding what they label: exactly the assistant turns and their end-of-turn
// token, never the template's default system message, the environment, or P when it is prepended.
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../util/rng';
import { DEFAULT_SYSTEM_MESSAGE } from '../model/tiny/template';
import type { ChatMessage, Tokenizer } from '../model/tokenizer';
import { IGNORE } from '../llama/batch';
import type { Sequence } from './batch';
import {
  buildTrainingGroups,
  ChatTemplateError,
  checkFitsContext,
  checkHasParts,
  ContextTooShortError,
  labelAssistantTurns,
  missingParts,
  partsRead,
  pgAssistantText,
  pgSequence,
  pgUserText,
  sftSequence,
  tokensOverContext,
  type PromptText,
  type TrainingRecord,
} from './sequences';
import { DEFAULT_LOSS, VARIANT_NAMES, variantSpec } from './variants';
import { tinyTokenizer } from '../testing/tokenizer';
import { labelledSpans } from '../testing/sequences';
import { testRecord } from '../testing/records';

let tok: Tokenizer;
beforeAll(async () => {
  tok = await tinyTokenizer('llama');
});

const masked = (seq: Sequence) => tok.decode(seq.input_ids.filter((_, t) => seq.labels[t] === IGNORE));

const P: PromptText = {
  text: 'system: You are a shell agent. Reply with one bash command.\nuser: list files\nassistant: ls -la',
  messages: [
    { role: 'system', content: 'You are a shell agent. Reply with one bash command.' },
    { role: 'user', content: 'list files' },
    { role: 'assistant', content: 'ls -la' },
  ],
};

function record(over: Partial<TrainingRecord> = {}): TrainingRecord {
  const r = testRecord('r1', {
    input: 'count the lines of a.txt', answer: 'wc -l a.txt', as_is: 'You can count lines with a tool.',
    reason: 'The context asks for one bash command, so the answer became a command.',
  });
  return { ...r, ...over };
}

const multiTurn = record({
  conversation: [
    { role: 'user', content: 'count the lines of a.txt' },
    { role: 'assistant', content: 'ls' },
    { role: 'user', content: 'a.txt b.txt' },
    { role: 'assistant', content: 'wc -l a.txt' },
    { role: 'user', content: '12 a.txt [END]' },
  ],
});

describe('labelAssistantTurns', () => {
  it('labels the assistant contents each with <|im_end|>, and masks the default system message', () => {
    const seq = labelAssistantTurns(tok, [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello there' },
    ]);
    expect(seq.labels.length).toBe(seq.input_ids.length);
    expect(seq.input_ids).toEqual(tok.applyChatTemplate([{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello there' }]).ids);
    expect(labelledSpans(tok, seq)).toEqual(['hello there<|im_end|>']);
    expect(masked(seq)).toContain(DEFAULT_SYSTEM_MESSAGE);
    expect(masked(seq).endsWith('<|im_end|>\n')).toBe(false); // the assistant's end token is trained...
    expect(masked(seq).endsWith('\n')).toBe(true); // ...the newline after it is not
  });

  it('keeps exact spans when a turn starts with whitespace that BPE could merge with the header', () => {
    const content = '\n\n  indented\n\n';
    const seq = labelAssistantTurns(tok, [
      { role: 'user', content: 'x' },
      { role: 'assistant', content },
    ]);
    expect(labelledSpans(tok, seq)).toEqual([`${content}<|im_end|>`]);
    expect(tok.decode(seq.input_ids)).toBe(tok.applyChatTemplate([{ role: 'user', content: 'x' }, { role: 'assistant', content }]).text);
  });

  it('masks assistant turns before trainFrom', () => {
    const msgs = [...P.messages, { role: 'user', content: 'q' }, { role: 'assistant', content: 'a1' }];
    expect(labelledSpans(tok, labelAssistantTurns(tok, msgs, 3))).toEqual(['a1<|im_end|>']);
    expect(labelledSpans(tok, labelAssistantTurns(tok, msgs))).toEqual(['ls -la<|im_end|>', 'a1<|im_end|>']);
  });
});

/**
 * A character-level stand-in whose only merge is "\n\n", so a turn starting with "\n" merges with the header's
 * "\n" (as real byte-level BPE does); `header` lets a test make the template render prefixes inconsistently.
 */
function stubTokenizer(header: (messages: readonly ChatMessage[]) => string = () => '', endOfTurnIds = [2]): Tokenizer {
  const encode = (text: string) =>
    text.split(/(<\|im_start\|>|<\|im_end\|>|\n\n)/).flatMap((p) =>
      p === '<|im_start|>' ? [1] : p === '<|im_end|>' ? [2] : p === '\n\n' ? [3] : [...p].map((c) => 1000 + c.charCodeAt(0)),
    );
  const decode = (ids: readonly number[]) =>
    ids.map((id) => (id === 1 ? '<|im_start|>' : id === 2 ? '<|im_end|>' : id === 3 ? '\n\n' : String.fromCharCode(id - 1000))).join('');
  const applyChatTemplate = (messages: readonly ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}) => {
    const text =
      header(messages) +
      messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') +
      (opts.addGenerationPrompt ? '<|im_start|>assistant\n' : '');
    return { text, ids: encode(text) };
  };
  return { encode, decode, applyChatTemplate, endOfTurnIds } as unknown as Tokenizer;
}

describe('labelAssistantTurns with awkward templates', () => {
  const msgs = [
    { role: 'user', content: 'q' },
    { role: 'assistant', content: '\nhi' },
    { role: 'user', content: 'more' },
    { role: 'assistant', content: 'ok' },
  ];

  it('splits the encoding where a turn would merge with its header, so labels hold exactly the turn', () => {
    const stub = stubTokenizer();
    const whole = stub.applyChatTemplate(msgs).ids;
    expect(whole).toContain(3); // the whole-text encoding merges "assistant\n" + "\nhi" across the seam
    const seq = labelAssistantTurns(stub, msgs);
    expect(labelledSpans(stub, seq)).toEqual(['\nhi<|im_end|>', 'ok<|im_end|>']);
    expect(stub.decode(seq.input_ids)).toBe(stub.applyChatTemplate(msgs).text);
    expect(seq.input_ids).not.toContain(3);
  });

  it('throws a ChatTemplateError when prefixes render differently from the whole conversation', () => {
    const counting = stubTokenizer((m) => `<|im_start|>system\n${m.length} messages<|im_end|>\n`);
    expect(() => labelAssistantTurns(counting, msgs)).toThrow(ChatTemplateError);
    expect(() => labelAssistantTurns(counting, msgs)).toThrow(/assistant turn 1 differently/);
  });

  it('throws when assistant turns end without an end-of-turn token', () => {
    expect(() => labelAssistantTurns(stubTokenizer(undefined, []), msgs)).toThrow(/end-of-turn token/);
  });
});

describe('sftSequence', () => {
  it('single turn: the input as user turn with no system message of ours, loss on the answer', () => {
    const seq = sftSequence(tok, record());
    expect(labelledSpans(tok, seq)).toEqual(['wc -l a.txt<|im_end|>']);
    expect(masked(seq)).toBe(
      `<|im_start|>system\n${DEFAULT_SYSTEM_MESSAGE}<|im_end|>\n<|im_start|>user\ncount the lines of a.txt<|im_end|>\n<|im_start|>assistant\n\n`,
    );
  });

  it('multi-turn: every teacher turn is labelled, no environment turn, and the [END] turn is dropped', () => {
    const seq = sftSequence(tok, multiTurn);
    expect(labelledSpans(tok, seq)).toEqual(['ls<|im_end|>', 'wc -l a.txt<|im_end|>']);
    const text = tok.decode(seq.input_ids);
    expect(text).toContain('a.txt b.txt'); // environment turn kept as masked history
    expect(masked(seq)).toContain('a.txt b.txt');
    expect(text).not.toContain('[END]');
    expect(text.endsWith('wc -l a.txt<|im_end|>\n')).toBe(true);
  });

  it('drops a trailing environment turn that is only the marker', () => {
    const r = record({ conversation: [...record().conversation, { role: 'user', content: '[END]' }] });
    expect(sftSequence(tok, r)).toEqual(sftSequence(tok, record()));
  });

  it('falls back to input + TO-BE when there is no conversation', () => {
    expect(sftSequence(tok, record({ conversation: [] }))).toEqual(sftSequence(tok, record()));
  });

  it('a teacher turn the token limit cut keeps its text labelled but not an end of turn it never wrote', () => {
    const cut = { ...multiTurn, settings: { cut_turns: [3] } };
    const seq = sftSequence(tok, cut);
    expect(labelledSpans(tok, seq)).toEqual(['ls<|im_end|>', 'wc -l a.txt']);
    // Same tokens as the uncut record: only the label of the closing <|im_end|> changes.
    expect(seq.input_ids).toEqual(sftSequence(tok, multiTurn).input_ids);
    expect(labelledSpans(tok, sftSequence(tok, { ...cut, settings: { cut_turns: [1, 3] } }))).toEqual(['ls', 'wc -l a.txt']);
    // Indices shift with P prepended, and malformed lists are ignored rather than trusted.
    expect(labelledSpans(tok, sftSequence(tok, cut, { prependPrompt: true, prompt: P }))).toEqual(['ls<|im_end|>', 'wc -l a.txt']);
    expect(labelledSpans(tok, sftSequence(tok, { ...multiTurn, settings: { cut_turns: 'all' } }))).toEqual(['ls<|im_end|>', 'wc -l a.txt<|im_end|>']);
    // Single-turn records: TO-BE is turn 1.
    expect(labelledSpans(tok, sftSequence(tok, record({ conversation: [], settings: { cut_turns: [1] } })))).toEqual(['wc -l a.txt']);
  });

  it('prompt prepending keeps P as masked history', () => {
    const seq = sftSequence(tok, multiTurn, { prependPrompt: true, prompt: P });
    expect(labelledSpans(tok, seq)).toEqual(['ls<|im_end|>', 'wc -l a.txt<|im_end|>']);
    const history = masked(seq);
    expect(history).toContain(P.messages[0].content);
    expect(history).toContain('ls -la');
    expect(history).not.toContain(DEFAULT_SYSTEM_MESSAGE); // P's system message replaces the default
    expect(() => sftSequence(tok, record(), { prependPrompt: true })).toThrow(/prompt/);
  });
});

describe('PG sequences', () => {
  const longP: PromptText = {
    text: Array.from({ length: 60 }, (_, i) => `Rule ${i + 1}: answer with exactly one command and never explain it.`).join('\n'),
    messages: [{ role: 'system', content: 'unused here' }],
  };

  it('user turn holds the instruction and the three headed sections', () => {
    const text = pgUserText(record());
    expect(text).toMatch(/^The answer below changed from AS-IS to TO-BE once some context was given to the assistant\. Write that context and explain why it changes the answer\./);
    expect(text).toContain('## Input\ncount the lines of a.txt\n\n## AS-IS\nYou can count lines with a tool.\n\n## TO-BE\nwc -l a.txt');
  });

  it('targets ALL of a long P and the reason, with loss on the assistant turn only', () => {
    expect(longP.text.length).toBeGreaterThan(3000);
    const seq = pgSequence(tok, record(), longP);
    const spans = labelledSpans(tok, seq);
    expect(spans).toHaveLength(1);
    expect(spans[0]).toBe(`## Context\n${longP.text}\n\n## Reason\n${record().reason}<|im_end|>`);
    expect(masked(seq)).toContain('## TO-BE\nwc -l a.txt');
    expect(masked(seq)).not.toContain('Rule 1:');
  });

  it('ablations remove the reason or P', () => {
    const noReason = pgAssistantText(record(), longP, { withReason: false, withPrompt: true });
    expect(noReason).toBe(`## Context\n${longP.text}`);
    expect(pgUserText(record(), { withReason: false, withPrompt: true })).toContain('Write that context.');
    const noPrompt = labelledSpans(tok, pgSequence(tok, record(), longP, { withReason: true, withPrompt: false }));
    expect(noPrompt).toEqual([`## Reason\n${record().reason}<|im_end|>`]);
    expect(pgUserText(record(), { withReason: true, withPrompt: false })).toContain('Explain why that context changes the answer.');
    expect(() => pgAssistantText(record(), longP, { withReason: false, withPrompt: false })).toThrow();
  });
});

describe('buildTrainingGroups', () => {
  const records = [record(), record({ id: 'r2', split: 'heldout' }), record({ id: 'r3', split: 'train' }), multiTurn];

  it('joint: SFT and PG groups with weights 0.7 and 0.3 from train records only', () => {
    const set = buildTrainingGroups(tok, records, P, { ...DEFAULT_LOSS, variant: 'joint' }, new Rng(1));
    expect(set.groups.map((g) => g.weight)).toEqual([0.7, 0.3]);
    expect(set.sft).toHaveLength(3);
    expect(set.pg).toHaveLength(3);
    expect(set.groups[0].sequences).toBe(set.sft);
    expect(set.groups[1].sequences).toBe(set.pg);
    expect(set.named.map((n) => n.name)).toEqual(['sft[r1]', 'sft[r3]', 'sft[r1]', 'pg[r1]', 'pg[r3]', 'pg[r1]']);
    expect(labelledSpans(tok, set.pg[0])[0]).toContain(P.text);
  });

  it('sft_only has no PG group; PG ablations change the PG target', () => {
    const only = buildTrainingGroups(tok, records, P, { ...DEFAULT_LOSS, variant: 'sft_only' }, new Rng(1));
    expect(only.groups).toHaveLength(1);
    expect(only.groups[0].weight).toBe(0.7);
    expect(only.pg).toEqual([]);
    const noReason = buildTrainingGroups(tok, records, P, { ...DEFAULT_LOSS, variant: 'pg_no_reason' }, new Rng(1));
    expect(labelledSpans(tok, noReason.pg[0])).toEqual([`## Context\n${P.text}<|im_end|>`]);
    const noPrompt = buildTrainingGroups(tok, records, P, { ...DEFAULT_LOSS, variant: 'pg_no_prompt' }, new Rng(1));
    expect(labelledSpans(tok, noPrompt.pg[0])).toEqual([`## Reason\n${record().reason}<|im_end|>`]);
  });

  it('the variants table (which weights the form shows) says which terms each variant trains', () => {
    const all = VARIANT_NAMES;
    const hasPg = (v: (typeof all)[number]) => variantSpec(v).pg !== null;
    const trainsSft = (v: (typeof all)[number]) => variantSpec(v).sft;
    for (const variant of all) {
      const set = buildTrainingGroups(tok, records, P, { ...DEFAULT_LOSS, variant }, new Rng(1));
      expect(hasPg(variant), variant).toBe(set.pg.length > 0);
      expect(trainsSft(variant), variant).toBe(set.groups[0].weight > 0);
    }
    expect(all.filter(hasPg)).toEqual(['joint', 'pg_no_reason', 'pg_no_prompt', 'joint_kl']);
    expect(all.filter((v) => !trainsSft(v))).toEqual(['on_policy', 'kl_only']);
    expect(all.filter((v) => variantSpec(v).kl)).toEqual(['on_policy', 'kl_only', 'joint_kl']);
  });

  it('prepends P with probability 0.5 (seeded, repeatable) or always', () => {
    const many = Array.from({ length: 200 }, (_, i) => record({ id: `m${i}` }));
    const prepended = (variant: 'prepend_0.5' | 'prepend_1.0', seed: number) =>
      buildTrainingGroups(tok, many, P, { ...DEFAULT_LOSS, variant }, new Rng(seed)).sft.map((s) =>
        masked(s).includes(P.messages[0].content),
      );
    const half = prepended('prepend_0.5', 7);
    const share = half.filter(Boolean).length / half.length;
    expect(share).toBeGreaterThan(0.4);
    expect(share).toBeLessThan(0.6);
    expect(prepended('prepend_0.5', 7)).toEqual(half);
    expect(prepended('prepend_1.0', 7).every(Boolean)).toBe(true);
    const set = buildTrainingGroups(tok, many.slice(0, 2), P, { ...DEFAULT_LOSS, variant: 'prepend_1.0' }, new Rng(1));
    expect(set.groups).toHaveLength(1); // the paper's prepending baseline is SFT-based
    for (const s of set.sft) expect(labelledSpans(tok, s)).toEqual(['wc -l a.txt<|im_end|>']);
  }, 30_000); // hundreds of tokenizations: seconds alone, more on a busy machine
});

describe('checkFitsContext', () => {
  it('names the sequences that do not fit, longest first, in one error', () => {
    const seq = (n: number): Sequence => ({ input_ids: new Array(n).fill(5), labels: new Array(n).fill(IGNORE) });
    const list = [
      { name: 'sft[a]', seq: seq(100) },
      { name: 'pg[a]', seq: seq(300) },
      { name: 'pg[b]', seq: seq(500) },
    ];
    expect(() => checkFitsContext(list, 500)).not.toThrow();
    let err: unknown;
    try {
      checkFitsContext(list, 200);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ContextTooShortError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/2 training sequences do not fit the model's context of 200 tokens: pg\[b\] \(500 tokens\), pg\[a\] \(300 tokens\)/);
    expect(msg).toContain('longer-context model');
    expect(msg).not.toContain('sft[a]');
  });
});

describe('very long turns', () => {
  const huge = 'word '.repeat(400_000); // 2 MB in one turn

  it('labels a turn of more tokens than a call may take arguments (no stack overflow)', () => {
    const long = '😀'.repeat(40_000); // 4 byte-level tokens each: 160,000 tokens, past V8's ~150,000 arguments
    const seq = labelAssistantTurns(tok, [{ role: 'user', content: 'hi' }, { role: 'assistant', content: long }]);
    expect(seq.labels.filter((l) => l !== IGNORE)).toHaveLength(160_001); // the turn and its end-of-turn token
  }, 30_000); // hundreds of tokenizations: seconds alone, more on a busy machine

  it('refuses a 2 MB turn as too long for the context, quickly and before tokenizing it whole', () => {
    const long = record({ id: 'long', conversation: [{ role: 'user', content: 'go' }, { role: 'assistant', content: huge }] });
    const t0 = performance.now();
    let err: unknown;
    try {
      buildTrainingGroups(tok, [record(), long], P, DEFAULT_LOSS, new Rng(1), 2048);
    } catch (e) {
      err = e;
    }
    const ms = performance.now() - t0;
    expect(err).toBeInstanceOf(ContextTooShortError);
    expect((err as Error).message).toMatch(/^1 training sequence does not fit the model's context of 2048 tokens: sft\[long\] \(over \d+ tokens\)\. /);
    expect(ms).toBeLessThan(3000);
  });

  it('leaves texts that could fit to the exact count (the quick bound never refuses one that fits)', () => {
    expect(tokensOverContext(tok, 'word '.repeat(1000), 2048)).toBeNull();
    expect(tokensOverContext(tok, huge, 2048)).toBeGreaterThan(2048);
  });
});

describe('the optional parts (AS-IS answers, reasons)', () => {
  const rec = (id: string, parts?: string[], split = 'train'): TrainingRecord => ({
    id, input: 'hi', as_is: '', to_be: 'hello', reason: '', conversation: [], split, settings: parts ? { parts } : {},
  });

  it('says which each variant reads, and which a dataset lacks for it (train records only; old records hold both)', () => {
    expect(partsRead('kl_only')).toEqual([]);
    expect(partsRead('sft_only')).toEqual([]);
    expect(partsRead('joint')).toEqual(['as_is', 'reason']);
    expect(partsRead('pg_no_prompt')).toEqual(['as_is', 'reason']);
    expect(partsRead('pg_no_reason')).toEqual(['as_is']);
    const records = [rec('a', []), rec('b', ['as_is']), rec('c'), rec('d', [], 'heldout')];
    expect(missingParts(records, 'kl_only')).toBeNull();
    expect(missingParts(records, 'joint')).toEqual({ parts: ['as_is', 'reason'], records: 2 });
    expect(missingParts(records, 'pg_no_reason')).toEqual({ parts: ['as_is'], records: 1 });
    expect(missingParts([rec('c')], 'joint')).toBeNull();
  });

  it('refuses to train a variant on parts its records lack, saying what to do', () => {
    expect(() => checkHasParts([rec('a', [])], 'kl_only')).not.toThrow();
    expect(() => checkHasParts([rec('a', []), rec('b', [])], 'joint')).toThrow(
      'the joint variant reads AS-IS answers and reasons, which 2 training records lack (synthesized without them): write them ' +
        'first (genpi train and the app do), or train kl_only',
    );
  });
});
