// Empty data is not success (issue 21): synthesis drops records whose TO-BE answer is empty or blank and counts
// them in the shortfall (seed inputs too, with no model rounds), stopping below the floor; training refuses a
// dataset with no answer at all, whatever the variant reads.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tokenizer } from '../model/tokenizer';
import { checkHasAnswers, hasAnswer } from '../train/answers';
import { TrainingDataError } from '../train/sequences';
import { parsePrompt } from './prompt';
import { shortfallMessage, SynthesisError } from './shortfall';
import { synthesize } from './synthesize';
import { scriptedGenerator } from './testing';
import { tinyTokenizer } from '../testing/tokenizer';

const P = parsePrompt('You are a support bot for Acme routers.');
const SEEDS = Array.from({ length: 12 }, (_, i) => `Seed question ${i}`);
const base = { heldout: 0.1, maxTurns: 1, maxNewTokens: 8, reasonTokens: 8, maxRounds: 0, seed: 0 };

let tok: Tokenizer;
beforeAll(async () => {
  tok = await tinyTokenizer();
});

/** The seed input a request answers, or null (a role-play turn, a reason). */
const seedOf = (text: string) => /Seed question (\d+)/.exec(text)?.[1] ?? null;

describe('synthesize drops empty answers', () => {
  it('drops blank TO-BE answers of seed inputs and counts them in the shortfall', async () => {
    // Seeds 0, 1 and 2 get an empty or blank answer; the others a real one.
    const { gen } = scriptedGenerator(tok, (_kind, _n, text) => ({ text: ['0', '1', '2'].includes(seedOf(text) ?? '') ? [' ', '', '\n\t'][Number(seedOf(text))] : 'Restart the router.' }));
    const { records, figures } = await synthesize(gen, tok, P, { ...base, samples: 12, seedInputs: SEEDS });
    expect(records.map((r) => r.input)).toEqual(SEEDS.slice(3));
    expect(records.every((r) => r.to_be.trim() !== '')).toBe(true);
    expect(figures.shortfall).toEqual({ missing: 3, dropped: { duplicate: 0, empty: 0, too_long: 0, empty_answer: 3 }, rounds: 0, budget_spent: false });
    expect(shortfallMessage(figures)).toBe('wrote 9 of 12 records asked (3 short: 0 duplicates, 0 empty, 0 too long, 3 empty answers dropped; stopped after 0 rounds)');
  });

  it('is a SynthesisError, not a dataset, when every answer is empty', async () => {
    const { gen } = scriptedGenerator(tok, () => ({ text: '' }));
    const run = synthesize(gen, tok, P, { ...base, samples: 8, seedInputs: SEEDS.slice(0, 8) });
    await expect(run).rejects.toBeInstanceOf(SynthesisError);
    await expect(run).rejects.toThrow(/^only 0 training records from 0 of 8 inputs asked, .*8 empty answers dropped/);
  });
});

describe('training refuses a dataset without answers', () => {
  const rec = (answer: string, split = 'train', conversation = true) => ({
    input: 'hi', to_be: answer, split,
    conversation: conversation ? [{ role: 'user', content: 'hi' }, { role: 'assistant', content: answer }] : [],
  });

  it('finds an answer in a non-blank assistant turn, or in TO-BE when there is no conversation', () => {
    expect(hasAnswer(rec('ok'))).toBe(true);
    expect(hasAnswer(rec(' \n'))).toBe(false);
    expect(hasAnswer(rec('ok', 'train', false))).toBe(true);
    expect(hasAnswer(rec('', 'train', false))).toBe(false);
  });

  it('throws naming the file when no training record has one; one answer is enough', () => {
    expect(() => checkHasAnswers([rec(''), rec('  '), rec('real', 'heldout')], 'data.jsonl')).toThrow(TrainingDataError);
    expect(() => checkHasAnswers([rec(''), rec('  ')], 'data.jsonl')).toThrow(
      /^data\.jsonl: none of its 2 training records has an answer to train on \(every teacher answer is empty\)/,
    );
    expect(() => checkHasAnswers([rec(''), rec('real')], 'data.jsonl')).not.toThrow();
  });
});
