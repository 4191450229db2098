// Synthesis with a scripted model, for what the figures say about the inputs: records per source, the number
// asked, a shortfall with its reasons, and the floor error raised before any answer is generated.
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryFiles } from '../llama/testing';
import { makeTinyModel } from '../model/tiny/make';
import { loadTokenizer, type Tokenizer } from '../model/tokenizer';
import { parsePrompt } from './prompt';
import { shortfallMessage, SynthesisError } from './shortfall';
import { synthesize } from './synthesize';
import { scriptedGenerator } from './testing';

const P = parsePrompt('You are a support bot for Acme routers.\nuser: My wifi drops.\nassistant: Restart the router.');
const SEEDS = Array.from({ length: 10 }, (_, i) => `Seed question ${i}`);
const base = { heldout: 0.1, maxTurns: 1, maxNewTokens: 8, reasonTokens: 8 };

let tok: Tokenizer;
beforeAll(async () => {
  tok = await loadTokenizer(memoryFiles(makeTinyModel({ arch: 'qwen2' })));
});

describe('synthesize: inputs in the figures', () => {
  it('counts records per source and reports nothing short when N came back', async () => {
    const { gen } = scriptedGenerator(tok, (kind, n) => ({ text: kind === 'user_turn' ? `My router ${n} blinks.` : kind === 'list' ? '' : 'ok' }));
    const { records, figures } = await synthesize(gen, tok, P, { ...base, samples: 12, seed: 0, seedInputs: SEEDS.slice(0, 4) });
    expect(records).toHaveLength(12);
    expect(figures).toMatchObject({ records: 12, requested: 12, shortfall: null, user_turn_off: null, sources: { seed: 4, user_turn: 8, list: 0 } });
    expect(records.map((r) => r.settings.input_source)).toEqual([...Array(4).fill('seed'), ...Array(8).fill('user_turn')]);
    expect(shortfallMessage(figures)).toBeNull();
  });

  it('writes what it got above the floor and says how many are short and why', async () => {
    // The model only repeats the seed inputs: every generated input is a duplicate.
    const { gen } = scriptedGenerator(tok, (kind, n) => ({ text: kind === 'user_turn' ? SEEDS[n % 10] : kind === 'list' ? `1. ${SEEDS[0]}\n2. ${SEEDS[1]}` : 'ok' }));
    const { records, figures } = await synthesize(gen, tok, P, { ...base, samples: 12, seed: 0, seedInputs: SEEDS, maxRounds: 2 });
    expect(records).toHaveLength(10);
    expect(records.filter((r) => r.split === 'train')).toHaveLength(9);
    // Round 1 asks for the 2 missing: one user turn and one list of two, all duplicates. With nothing yielded,
    // round 2 asks 4x as many: 4 user turns and a list of two, all duplicates again.
    expect(figures.shortfall).toEqual({ missing: 2, dropped: { duplicate: 9, empty: 0, too_long: 0 }, rounds: 2, budget_spent: true });
    expect(shortfallMessage(figures)).toBe('wrote 10 of 12 records asked (2 short: 9 duplicates, 0 empty, 0 too long dropped; retry budget of 2 rounds spent)');
  });

  it('stops below the floor with a SynthesisError, before generating any answer', async () => {
    const { gen, counts } = scriptedGenerator(tok, (kind, n) => (kind === 'user_turn' ? { text: `cut ${n}`, cut: true } : { text: '' }));
    const run = synthesize(gen, tok, P, { ...base, samples: 64, seed: 0, seedInputs: SEEDS.slice(0, 3), maxRounds: 2 });
    await expect(run).rejects.toBeInstanceOf(SynthesisError);
    // Two rounds of 16 cut user turns and two empty lists; of the 3 seed inputs, one is held out.
    await expect(run).rejects.toThrow(/^only 2 training records from 3 of 64 inputs asked, fewer than the 8 training needs \(0 duplicates, 4 empty, 32 too long dropped; retry budget of 2 rounds spent\)\. Add example user turns/);
    expect(counts.other).toBe(0);
  });
});
