// Pseudo inputs from a scripted model: the user-turn opener cut from the chat template (and refused when the cut
// is not a token prefix), rounds that follow each source's yield, cut user turns dropped as too long, seed inputs
// first, the list request alone when the template cannot open a user turn, and the counts a shortfall reports.
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, Tokenizer } from '../model/tokenizer';
import { gatherInputs } from './gather-inputs';
import { parsePrompt } from './prompt';
import { scriptedGenerator, type RequestKind } from './testing';
import { USER_TURN_SENTINEL, userTurnOpener } from './user-turn';
import { tinyTokenizer } from '../testing/tokenizer';

const P = parsePrompt('You are a support bot for Acme routers.\nuser: My wifi drops.\nassistant: Restart the router.');

let tok: Tokenizer;
beforeAll(async () => {
  tok = await tinyTokenizer();
});

/** How many requests of each kind each generate() call held: one call per source per round. */
const perCall = (calls: RequestKind[][]) => calls.map((kinds) => ({ kind: kinds[0], n: kinds.length }));

/** A tokenizer-shaped stand-in whose template and encoder the test controls. */
function fakeTokenizer(render: (ms: readonly ChatMessage[]) => string, encode: (text: string) => number[]): Tokenizer {
  return {
    applyChatTemplate: (ms: readonly ChatMessage[]) => ({ text: render(ms), ids: encode(render(ms)) }),
    encode,
  } as unknown as Tokenizer;
}
const tagged = (ms: readonly ChatMessage[]) => ms.map((m) => `<${m.role}>${m.content}</${m.role}>`).join('');
const chars = (t: string) => [...t].map((c) => c.charCodeAt(0));

describe('userTurnOpener', () => {
  it("cuts the template's rendering at the user's text: P as a shared prefix, then the user turn's opener", () => {
    const o = userTurnOpener(tok, P);
    if (!o.ok) throw new Error(o.reason);
    expect(o.prefix).toEqual(tok.applyChatTemplate(P.messages).ids);
    expect(tok.decode(o.prompt)).toBe('<|im_start|>user\n');
    const full = tok.applyChatTemplate([...P.messages, { role: 'user', content: USER_TURN_SENTINEL }]).ids;
    expect([...o.prefix, ...o.prompt]).toEqual(full.slice(0, o.prefix.length + o.prompt.length));
  });

  it('refuses a cut that is not a token prefix, a template that rewrites the text, and one that fails', () => {
    // ">G" encodes as one token, so the text up to the sentinel ends in a token the whole rendering does not have.
    const merging = (t: string) => chars(t.replaceAll('>G', '\u0100'));
    expect(userTurnOpener(fakeTokenizer(tagged, merging), P)).toEqual({ ok: false, reason: expect.stringMatching(/does not tokenize to the start/) });
    expect(userTurnOpener(fakeTokenizer(tagged, chars), P)).toMatchObject({ ok: true, prefix: chars(tagged(P.messages)), prompt: chars('<user>') });
    const upper = (ms: readonly ChatMessage[]) => tagged(ms).toUpperCase();
    expect(userTurnOpener(fakeTokenizer(upper, chars), P)).toEqual({ ok: false, reason: expect.stringMatching(/does not show a user message's text/) });
    const strict = () => {
      throw new Error('roles must alternate');
    };
    expect(userTurnOpener(fakeTokenizer(strict, chars), P)).toEqual({ ok: false, reason: expect.stringMatching(/cannot add a user turn.*roles must alternate/) });
  });
});

describe('gatherInputs', () => {
  it("gives each round's requests to the sources by their last yield", async () => {
    // User turns are all new; the list request writes the same eight items every time.
    const list = Array.from({ length: 8 }, (_, i) => `${i + 1}. How do I fix problem ${i}?`).join('\n');
    const { gen, calls } = scriptedGenerator(tok, (kind, n) => ({ text: kind === 'user_turn' ? `My router ${n} blinks red.` : list }));
    const got = await gatherInputs(gen, tok, P, { samples: 40, seed: 1, inputPool: 1 });
    // Round 1 splits 32 inputs evenly (16 user turns, two lists of 8): yields 1 and 0.5. Round 2 asks 20 for the 16
    // missing (expected yield 5/6), split 2:1, and the list yields nothing; round 3 gives it only its floor share.
    expect(perCall(calls)).toEqual([
      { kind: 'user_turn', n: 16 }, { kind: 'list', n: 2 },
      { kind: 'user_turn', n: 13 }, { kind: 'list', n: 1 },
      { kind: 'user_turn', n: 4 }, { kind: 'list', n: 1 },
    ]);
    expect(got.inputs).toHaveLength(40);
    expect(got.sourceOf.filter((s) => s === 'user_turn')).toHaveLength(32);
    expect(got.sourceOf.filter((s) => s === 'list')).toHaveLength(8);
    expect(got.asked).toEqual({ user_turn: 33, list: 32 });
    expect(got.dropped).toEqual({ duplicate: 24, empty: 0, too_long: 0 });
    expect(got).toMatchObject({ rounds: 3, budgetSpent: false, userTurnOff: null });
  });

  it('drops user turns the token limit cut as too long, counts empty replies, and reports a spent budget', async () => {
    // From the fifth on, every user turn runs into the token limit.
    const { gen, calls } = scriptedGenerator(tok, (kind, n) => (kind === 'user_turn' ? { text: `question ${n}`, cut: n >= 4 } : { text: '' }));
    const got = await gatherInputs(gen, tok, P, { samples: 12, seed: 0, maxRounds: 2, inputPool: 1 });
    // Round 1: 6 user turns (4 whole) and one empty list. Round 2: the list, never yielding, gets nothing; the user
    // turns, yielding 2/3, are asked 12 for the 8 missing, and all are cut.
    expect(perCall(calls)).toEqual([{ kind: 'user_turn', n: 6 }, { kind: 'list', n: 1 }, { kind: 'user_turn', n: 12 }]);
    expect(got.inputs).toEqual(['question 0', 'question 1', 'question 2', 'question 3']);
    expect(got.dropped).toEqual({ duplicate: 0, empty: 1, too_long: 14 });
    expect(got).toMatchObject({ rounds: 2, maxRounds: 2, budgetSpent: true });
  });

  it('takes the seed inputs first, and only them with a budget of 0 rounds', async () => {
    const { gen } = scriptedGenerator(tok, (kind, n) => ({ text: `${kind} ${n}` }));
    const got = await gatherInputs(gen, tok, P, { samples: 5, seed: 0, seedInputs: ['Reset it', 'reset it!', 'Update firmware'], inputPool: 1 });
    expect(got.inputs).toEqual(['Reset it', 'Update firmware', 'user_turn 0', 'user_turn 1', 'list 0']);
    expect(got.sourceOf).toEqual(['seed', 'seed', 'user_turn', 'user_turn', 'list']);
    expect(got.dropped.duplicate).toBe(1);
    const idle = scriptedGenerator(tok, () => ({ text: 'x' }));
    const only = await gatherInputs(idle.gen, tok, P, { samples: 5, seed: 0, seedInputs: ['a', 'b'], maxRounds: 0 });
    expect(only).toMatchObject({ inputs: ['a', 'b'], rounds: 0, budgetSpent: true });
    expect(idle.calls).toEqual([]);
  });

  it('with a pool, gathers K·N unique inputs and keeps N of them, the seeds and a rare trait included', async () => {
    // Every fifth user turn holds a digit; the list request is left out so the draw order is the user turns'.
    const { gen } = scriptedGenerator(tok, (_kind, n) => ({ text: n % 5 === 4 ? `router ${n} blinks` : `router blinks ${'!'.repeat(n % 3)} ${[...n.toString(2)].map((b) => (b === '0' ? 'a' : 'b')).join('')}` }));
    const progress: number[] = [];
    const got = await gatherInputs(gen, tok, P, { samples: 20, seed: 0, seedInputs: ['Reset it'], sources: ['user_turn'], inputPool: 2, onProgress: (d) => progress.push(d) });
    expect(got.pool).toBe(40);
    expect(got.inputs).toHaveLength(20);
    expect(got.inputs[0]).toBe('Reset it');
    expect(got.sourceOf).toEqual(['seed', ...Array(19).fill('user_turn')]);
    // 7 of the pool's 39 user turns hold a digit (n = 4, 9, ..., 34); the first 20 drawn hold 3, the floor asks 4.
    expect(got.inputs.filter((x) => /\d+ blinks/.test(x)).length).toBe(4);
    // Progress counts toward N, not the pool.
    expect(Math.max(...progress)).toBe(20);
    const first = await gatherInputs(scriptedGenerator(tok, (_kind, n) => ({ text: `m ${n}` })).gen, tok, P, { samples: 20, seed: 0, sources: ['user_turn'], inputPool: 1 });
    expect(first).toMatchObject({ pool: 20, inputs: Array.from({ length: 20 }, (_, i) => `m ${i}`) });
  });

  it('falls back to the list request, saying why, when the template cannot open a user turn', async () => {
    // A template that upper-cases user messages: the sentinel is not in its text.
    const shouting = Object.create(tok) as Tokenizer;
    shouting.applyChatTemplate = (ms, o) => tok.applyChatTemplate(ms.map((m) => (m.role === 'user' ? { ...m, content: m.content.toUpperCase() } : m)), o);
    const { gen, calls } = scriptedGenerator(shouting, (_kind, n) => ({ text: `1. first ${n}\n2. second ${n}` }));
    const got = await gatherInputs(gen, shouting, P, { samples: 6, seed: 0 });
    expect(got.userTurnOff).toMatch(/does not show a user message's text/);
    expect(calls.flat().every((k) => k === 'list')).toBe(true);
    expect(got.sourceOf).toEqual(Array(6).fill('list'));
  });
});
