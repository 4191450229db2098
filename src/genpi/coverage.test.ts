// Coverage of the pseudo inputs: per branch with a checker, and what any P allows without one; and synthesis
// writing it into the dataset figures.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tokenizer } from '../model/tokenizer';
import { compoundChecker } from './behaviour';
import type { CompoundRules } from './compound-testbed';
import { coverageOf, coverageText } from './coverage';
import { parsePrompt } from './prompt';
import { synthesize } from './synthesize';
import { DEFAULT_SYNTHESIS } from './synthesis-defaults';
import { scriptedGenerator } from './testing';
import { tinyTokenizer } from '../testing/tokenizer';

const RULES: CompoundRules = { branches: [{ when: 'digit', action: 'last' }, { when: 'question', action: 'double' }], otherwise: 'first', prefix: null };

describe('coverageOf', () => {
  it('counts inputs per branch, distinct inputs, word lengths and near neighbours of the example user turns', () => {
    const p = parsePrompt('You are a bot.\nuser: where is my order\nassistant: ok\nuser: cancel it now please\nassistant: ok');
    const inputs = ['where is my order?', 'cat 3 dog', 'cat  3 dog', 'red sun', 'a b c d e f', 'blue moon?'];
    const c = coverageOf(inputs, p, compoundChecker(RULES));
    expect(c.branches).toEqual([
      { branch: 'digit', inputs: 2, share: 2 / 6 },
      { branch: 'question', inputs: 2, share: 2 / 6 },
      { branch: 'other', inputs: 2, share: 2 / 6 },
    ]);
    expect(c.distinct).toBe(5); // "cat  3 dog" is "cat 3 dog" with a wider space
    expect(c.words).toEqual({ min: 2, median: 3, max: 6 });
    // "where is my order?" has token F1 1 with the first example; nothing is near the second.
    expect(c.examples).toEqual({ total: 2, near: 1 });
    expect(coverageText(c)).toBe('by branch: digit 2 (33%), question 2 (33%), other 2 (33%); 5 distinct of 6; 2–6 words (median 3); ' +
      "1 of P's 2 example user turns have a near input (token F1 ≥ 0.8); 2 of P's 2 example answers break its own rules (the student learns what the teacher does)");
  });

  it('names a branch that got no input, and what would reach it', () => {
    const c = coverageOf(['red sun?', 'old lamp', 'hot milk'], parsePrompt('You are a bot.'), compoundChecker(RULES));
    expect(c.branches?.map((b) => b.inputs)).toEqual([0, 1, 2]);
    expect(coverageText(c)).toContain('no input for digit: the student cannot learn that branch (a user-turn top-p of 1 samples messages');
    expect(coverageText(coverageOf(['gold 7 box', 'red sun?', 'old lamp'], parsePrompt('You are a bot.'), compoundChecker(RULES)))).not.toContain('no input');
    // No inputs at all is the shortfall's to say, not a branch's.
    expect(coverageText(coverageOf([], parsePrompt('You are a bot.'), compoundChecker(RULES)))).not.toContain('no input');
  });

  it('says what it can without a checker or inputs', () => {
    const c = coverageOf([], parsePrompt('Answer briefly.'), null);
    expect(c).toEqual({ inputs: 0, distinct: 0, words: null, examples: { total: 0, near: 0 }, branches: null, contradictingExamples: null });
    expect(coverageOf(['a b', 'c d e f'], parsePrompt('Answer briefly.'), null).words).toEqual({ min: 2, median: 3, max: 4 });
  });
});

describe('coverageOf: bad input', () => {
  it("counts P's example answers that break its own rules, and says so", () => {
    // digit -> last, question -> double, other -> first; the second example answers "big ship?" with its first word.
    const p = parsePrompt('You are a bot.\nuser: cat 3 dog\nassistant: dog\nuser: big ship?\nassistant: big\nuser: red sun\nassistant: red');
    const c = coverageOf(['gold 7 box'], p, compoundChecker(RULES));
    expect(c.contradictingExamples).toEqual({ total: 3, contradicting: 1 });
    expect(coverageText(c)).toContain("1 of P's 3 example answers break its own rules");
    const agreeing = coverageOf(['gold 7 box'], parsePrompt('You are a bot.\nuser: cat 3 dog\nassistant: dog'), compoundChecker(RULES));
    expect(agreeing.contradictingExamples).toEqual({ total: 1, contradicting: 0 });
    expect(coverageText(agreeing)).not.toContain('break');
  });

  it('a P with no rules at all still gets what can be measured, and no branch figures', () => {
    const p = parsePrompt('You are Ada, the assistant of a small shop. Never discuss prices.\nuser: where is my order\nassistant: ok');
    const c = coverageOf(['where is my order', 'red sun', 'red sun'], p, null);
    expect(c).toMatchObject({ inputs: 3, distinct: 2, branches: null, contradictingExamples: null, examples: { total: 1, near: 1 } });
    expect(coverageText(c)).toBe("2 distinct of 3; 2–4 words (median 2); 1 of P's 1 example user turns have a near input (token F1 ≥ 0.8)");
  });
});

describe('synthesize: coverage in the figures', () => {
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = await tinyTokenizer();
  });

  it('counts the records per branch when given a checker, and leaves branches out without one', async () => {
    const P = parsePrompt('You are a bot.\nuser: cat 3 dog\nassistant: dog');
    const written = ['red 2 sun', 'big ship?', 'old lamp', 'gold 7 box', 'hot milk', 'rain snow wind'];
    const { gen } = scriptedGenerator(tok, (kind, n) => ({ text: kind === 'user_turn' ? written[n % written.length] : kind === 'list' ? '' : 'ok' }));
    const o = { samples: 6, heldout: 0.2, maxTurns: 1, maxNewTokens: 8, seed: 0, maxRounds: 2 };
    const { figures } = await synthesize(gen, tok, P, { ...o, checker: compoundChecker(RULES) });
    expect(figures.coverage?.branches?.map((b) => [b.branch, b.inputs])).toEqual([['digit', 2], ['question', 1], ['other', 3]]);
    expect(figures.coverage).toMatchObject({ inputs: 6, distinct: 6, examples: { total: 1, near: 0 } });
    const plain = await synthesize(scriptedGenerator(tok, (kind, n) => ({ text: kind === 'user_turn' ? written[n % 6] : kind === 'list' ? '' : 'ok' })).gen, tok, P, o);
    expect(plain.figures.coverage?.branches).toBeNull();
  });

  it("samples user turns at the settings' top-p and min-p (the defaults, 1 and off, when unset), and refuses either out of range", async () => {
    const P = parsePrompt('You are a bot.');
    const o = { samples: 6, heldout: 0.2, maxTurns: 1, maxNewTokens: 8, seed: 0, maxRounds: 2 };
    const sampling = async (userTurnTopP?: number, userTurnMinP?: number) => {
      const seen = new Set<string>();
      const { gen } = scriptedGenerator(tok, (kind, n, _text, r) => {
        if (kind === 'user_turn') seen.add(`${r.topP} ${r.minP}`);
        return { text: kind === 'user_turn' ? `word${n} sun` : kind === 'list' ? '' : 'ok' };
      });
      const { records } = await synthesize(gen, tok, P, { ...o, userTurnTopP, userTurnMinP });
      // Each record says how its inputs were drawn.
      for (const r of records) {
        const drawn = r.settings.inputs as { user_turn_top_p: number; user_turn_min_p: number };
        expect(`${drawn.user_turn_top_p} ${drawn.user_turn_min_p}`).toBe([...seen][0]);
      }
      return [...seen];
    };
    expect(await sampling()).toEqual([`${DEFAULT_SYNTHESIS.userTurnTopP} 0`]);
    expect(await sampling(0.9, 0.1)).toEqual(['0.9 0.1']);
    for (const bad of [0, 1.5, Number.NaN]) {
      await expect(sampling(bad)).rejects.toThrow(/the user-turn top-p must be in \(0, 1\], got/);
    }
    await expect(sampling(1, -0.1)).rejects.toThrow(/the user-turn min-p must be in \[0, 1\], got -0.1/);
  });
});
