// Synthesis with a scripted model, for what the figures say about the inputs: records per source, the number
// asked, a shortfall with its reasons, and the floor error raised before any answer is generated; the optional
// parts (AS-IS answers, reasons) made only when asked; and a P too long for some requests but not for others.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tokenizer } from '../model/tokenizer';
import { chatTokens } from './chat';
import { parsePrompt } from './prompt';
import { promptRoom } from './prompt-room';
import { buildPseudoInputRequest } from './pseudo-inputs';
import { makeParts } from './record-parts';
import { shortfallMessage, SynthesisError } from './shortfall';
import type { SynthesisStage } from './synthesis-stages';
import { synthesize } from './synthesize';
import { scriptedGenerator } from './testing';
import { tinyTokenizer } from '../testing/tokenizer';

const P = parsePrompt('You are a support bot for Acme routers.\nuser: My wifi drops.\nassistant: Restart the router.');
const SEEDS = Array.from({ length: 10 }, (_, i) => `Seed question ${i}`);
// Later turns off here (they are the last describe's subject), so the requests counted are the first turns'.
const base = { heldout: 0.1, maxTurns: 1, maxNewTokens: 8, reasonTokens: 8, chainTurns: 1 };

let tok: Tokenizer;
beforeAll(async () => {
  tok = await tinyTokenizer();
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

  it('keeps N of a pool of K·N inputs, says so in the figures and the records, and refuses a pool out of range', async () => {
    const { gen } = scriptedGenerator(tok, (kind, n) => ({ text: kind === 'user_turn' ? `My router ${n} blinks.` : kind === 'list' ? '' : 'ok' }));
    const { records, figures } = await synthesize(gen, tok, P, { ...base, samples: 12, seed: 0, seedInputs: SEEDS.slice(0, 4), inputPool: 2 });
    expect(records).toHaveLength(12);
    expect(figures).toMatchObject({ records: 12, requested: 12, input_pool: 24, shortfall: null, sources: { seed: 4, user_turn: 8 } });
    expect(records.every((r) => (r.settings.inputs as { pool: number }).pool === 2)).toBe(true);
    for (const bad of [0.5, 5, Number.NaN]) {
      await expect(synthesize(gen, tok, P, { ...base, samples: 12, seed: 0, inputPool: bad })).rejects.toThrow(/^the input pool must be from 1 to 4 inputs gathered per input kept, got/);
    }
  });

  it('writes what it got above the floor and says how many are short and why', async () => {
    // The model only repeats the seed inputs: every generated input is a duplicate.
    const { gen } = scriptedGenerator(tok, (kind, n) => ({ text: kind === 'user_turn' ? SEEDS[n % 10] : kind === 'list' ? `1. ${SEEDS[0]}\n2. ${SEEDS[1]}` : 'ok' }));
    const { records, figures } = await synthesize(gen, tok, P, { ...base, samples: 12, seed: 0, seedInputs: SEEDS, maxRounds: 2, inputPool: 1 });
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

/** What a non-input request is, from its text: an AS-IS answer (no P), a reason, or a TO-BE answer (P first). */
const answerKind = (text: string) => (text.includes('answered the same input twice') ? 'reason' : text.includes('Acme routers') ? 'to_be' : 'as_is');

describe('synthesize: the optional parts', () => {
  const script = (kind: string, n: number, text: string) => ({
    text: kind === 'user_turn' ? `My router ${n} blinks.` : kind === 'list' ? '' : `${answerKind(text)} ${n}`,
  });

  it('makes no AS-IS answer or reason by default, and records that the records hold neither', async () => {
    const texts: string[] = [];
    const { gen } = scriptedGenerator(tok, (kind, n, text) => (kind === 'other' && texts.push(text), script(kind, n, text)));
    const stages: SynthesisStage[] = [];
    const { records, figures } = await synthesize(gen, tok, P, { ...base, samples: 12, seed: 0, seedInputs: SEEDS.slice(0, 4), onProgress: (s) => stages.push(s) });
    expect(texts.map(answerKind)).toEqual(Array(12).fill('to_be'));
    expect(records.every((r) => r.as_is === '' && r.reason === '' && (r.settings.parts as string[]).length === 0)).toBe(true);
    expect(figures.parts).toEqual([]);
    expect(stages.map((s) => s.stage)).not.toContain('reasons');
    // The answers stage counts each answer as it finishes.
    expect(stages.filter((s) => s.stage === 'answers').map((s) => s.done)).toEqual(Array.from({ length: 13 }, (_, i) => i));
  });

  it('makes both when asked, naming each stage with its count, and makeParts later gives the same records', async () => {
    const { gen } = scriptedGenerator(tok, script);
    const stages: SynthesisStage[] = [];
    const o = { ...base, samples: 12, seed: 3, seedInputs: SEEDS.slice(0, 4) };
    const { records, figures } = await synthesize(gen, tok, P, { ...o, parts: ['reason'], onProgress: (s) => stages.push(s) });
    expect(figures.parts).toEqual(['as_is', 'reason']);
    expect(records.map((r) => r.as_is)).toEqual(Array.from({ length: 12 }, (_, i) => `as_is ${12 + i}`));
    expect(records.map((r) => r.reason)).toEqual(Array.from({ length: 12 }, (_, i) => `reason ${24 + i}`));
    expect(records.every((r) => (r.settings.parts as string[]).join() === 'as_is,reason')).toBe(true);
    const last = (stage: string) => stages.filter((s) => s.stage === stage).at(-1);
    expect(last('as_is')).toEqual({ stage: 'as_is', done: 12, total: 12 });
    expect(last('reasons')).toEqual({ stage: 'reasons', done: 12, total: 12 });

    // The same dataset made without them, then completed for a PG variant: only what was missing is asked for.
    const { gen: gen2, counts } = scriptedGenerator(tok, script);
    const plain = (await synthesize(gen2, tok, P, o)).records;
    const made = counts.other;
    plain[0].settings = { ...plain[0].settings, parts: ['as_is'] };
    plain[0].as_is = 'kept';
    const skipped = await makeParts(gen2, tok, P, plain, ['reason'], { maxNewTokens: 8, reasonTokens: 8, seed: 3 });
    expect(skipped).toBeNull();
    expect(counts.other - made).toBe(11 + 12);
    expect(plain[0].as_is).toBe('kept');
    expect(plain.every((r) => (r.settings.parts as string[]).join() === 'as_is,reason')).toBe(true);
  });
});

describe('synthesize: a long P', () => {
  const LONG = parsePrompt(`You are a support bot for Acme routers. ${'Always greet the user by name and stay polite. '.repeat(12)}\nuser: My wifi drops.\nassistant: Restart the router.`);

  it('skips the list request that does not fit, with its reason, and synthesizes from user turns', async () => {
    const list = chatTokens(tok, buildPseudoInputRequest(LONG, [], 8));
    const context = list.prefix.length + list.prompt.length - 1;
    const room = promptRoom(tok, LONG, context, 8);
    expect(room.tokens).toBeLessThanOrEqual(room.max); // P itself fits with room for an input and an answer
    const { gen, counts } = scriptedGenerator(tok, (kind, n) => ({ text: kind === 'user_turn' ? `My router ${n} blinks.` : 'ok' }), context);
    const { records, figures } = await synthesize(gen, tok, LONG, { ...base, samples: 12, seed: 0 });
    expect(records).toHaveLength(12);
    expect(counts.list).toBe(0);
    expect(figures.sources).toEqual({ seed: 0, user_turn: 12, list: 0 });
    expect(figures.list_off).toBe(`the list request does not fit: the prompt has ${context + 1} tokens; the model's context is ${context}, which leaves no room to generate`);
  });

  it('refuses a P that leaves no room for an answer, saying by how much it is too long', async () => {
    const room = promptRoom(tok, LONG, 10_000, 8);
    const context = room.tokens + (10_000 - room.max) - 22; // 22 tokens short of the template, an input and an answer
    const { gen, counts } = scriptedGenerator(tok, () => ({ text: 'ok' }), context);
    const run = synthesize(gen, tok, LONG, { ...base, samples: 12, seed: 0 });
    await expect(run).rejects.toBeInstanceOf(SynthesisError);
    await expect(run).rejects.toThrow(new RegExp(`^the prompt has ${room.tokens} tokens, 22 more than the ${room.tokens - 22} this model allows \\(its context of ${context} tokens`));
    expect(counts.user_turn + counts.list + counts.other).toBe(0);
  });
});

describe('synthesize: later turns from other training inputs', () => {
  it('continues about half the training conversations to 2 or 3 user turns, never with a held-out input', async () => {
    const texts: string[] = [];
    const { gen } = scriptedGenerator(tok, (kind, n, text) => (kind === 'other' && texts.push(text), { text: kind === 'user_turn' ? `My router ${n} blinks.` : kind === 'list' ? '' : `answer ${n}` }));
    const stages: SynthesisStage[] = [];
    const { records } = await synthesize(gen, tok, P, { ...base, chainTurns: 3, chainShare: 0.5, samples: 40, seed: 3, seedInputs: SEEDS, onProgress: (s) => stages.push(s) });
    const userTurns = (r: (typeof records)[number]) => r.conversation.filter((m) => m.role === 'user').length;
    const train = records.filter((r) => r.split === 'train');
    const held = records.filter((r) => r.split === 'heldout');
    const longer = train.filter((r) => userTurns(r) > 1);
    console.log(`later turns: ${longer.length} of ${train.length} training conversations; user turns ${train.map(userTurns).join('')}`);
    expect(longer.length).toBeGreaterThan(train.length * 0.25);
    expect(longer.length).toBeLessThan(train.length * 0.75);
    expect(new Set(train.map(userTurns))).toEqual(new Set([1, 2, 3]));
    // Held-out conversations stay one turn, and no held-out input is asked in a training conversation.
    expect(held.every((r) => userTurns(r) === 1)).toBe(true);
    const heldInputs = new Set(held.map((r) => r.input));
    for (const r of longer) {
      const asked = r.conversation.filter((m) => m.role === 'user').map((m) => m.content);
      expect(asked.some((x) => heldInputs.has(x)), r.id).toBe(false);
      expect(new Set(asked).size).toBe(asked.length);
      // user and assistant alternate, ending on a teacher turn
      expect(r.conversation.map((m) => m.role)).toEqual(asked.flatMap(() => ['user', 'assistant']));
    }
    // Every later turn is answered with P in front and the conversation so far.
    const later = texts.filter((t) => (t.match(/My router \d+ blinks\.|Seed question \d/g) ?? []).length > 1);
    expect(later.length).toBe(longer.reduce((a, r) => a + userTurns(r) - 1, 0));
    expect(later.every((t) => t.includes('Acme routers'))).toBe(true);
    expect(stages.some((s) => s.stage === 'later_turns')).toBe(true);
    expect(records[0].settings.chain_turns).toBe(3);
  });

  it('writes one-turn conversations with chainTurns 1', async () => {
    const { gen } = scriptedGenerator(tok, (kind, n) => ({ text: kind === 'user_turn' ? `My router ${n} blinks.` : kind === 'list' ? '' : `answer ${n}` }));
    const { records } = await synthesize(gen, tok, P, { ...base, samples: 20, seed: 3, seedInputs: SEEDS });
    expect(records.every((r) => r.conversation.length === 2)).toBe(true);
  });
});
