// The compound testbed model (public/compound-model) really follows a compound P through our engine: with held-out
// phrasings, policy sentences and rule pairs, the teacher answers each branch as P says on the first turn and on a
// later one, and without P the base repeats the message, following no branch. Every per-branch retention figure
// measured on this model rests on these facts. They hold for P of about 300 tokens; at about 1,500 the committed
// weights (v9) follow the digit branch and the rest 63-92% of the time (scripts/testbed/make-compound-data.ts), so
// no such test asserts them there and the README's retention at that length is read against the teacher measured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPipeline } from '../cli/pipeline';
import { GREEDY, runChatReplies } from './chat';
import { type Branch, checkAnswer, compoundEvalCases } from './compound-testbed';
import { applyRule } from './testbed';

const PER_BRANCH = 5;
const TURNS = [1, 2];

describe('compound testbed model', () => {
  let pipe: Awaited<ReturnType<typeof openPipeline>>;
  beforeAll(async () => {
    pipe = await openPipeline('public/compound-model', { slots: 48, turnTokens: 640 });
  });
  afterAll(() => pipe?.engine.destroy());

  it('with a held-out P of about 300 tokens the teacher follows every branch on turns 1 and 2; the base none', async () => {
    const count = (s: string) => pipe.tokenizer.encode(s, { addSpecialTokens: false }).length;
    const cases = compoundEvalCases({ prompts: 2, tokens: 300, perBranch: PER_BRANCH, turns: TURNS, count, seed: 1 });
    const teacher = await runChatReplies(pipe.generator, pipe.tokenizer, cases.map((c) => ({ messages: c.messages, prefixMessages: c.promptMessages, sampling: GREEDY(24) })));
    const base = await runChatReplies(pipe.generator, pipe.tokenizer, cases.map((c) => ({ messages: [{ role: 'user', content: c.input }], sampling: GREEDY(24) })));
    const cells = new Map<string, { teacher: number; base: number; echo: number; n: number }>();
    cases.forEach((c, i) => {
      const key = `${c.branch} turn ${c.turn}`;
      const cell = cells.get(key) ?? { teacher: 0, base: 0, echo: 0, n: 0 };
      cell.teacher += +checkAnswer(c.rules, c.input, teacher[i].text).follows;
      cell.base += +checkAnswer(c.rules, c.input, base[i].text).follows;
      cell.echo += +(base[i].text === applyRule('echo', c.input));
      cell.n++;
      cells.set(key, cell);
    });
    console.log('branch, turn       teacher  base follows  base repeats');
    for (const [key, c] of cells) console.log(`${key.padEnd(18)} ${(c.teacher / c.n).toFixed(2).padStart(7)}  ${(c.base / c.n).toFixed(2).padStart(12)}  ${(c.echo / c.n).toFixed(2).padStart(12)}`);
    const wrong = cases.map((c, i) => ({ c, out: teacher[i].text })).filter(({ c, out }) => !checkAnswer(c.rules, c.input, out).follows);
    for (const { c, out } of wrong.slice(0, 6)) console.log(`missed ${c.branch} turn ${c.turn}: "${c.input}" -> "${out}"`);
    const branches = new Set<Branch>(cases.map((c) => c.branch));
    expect(branches.size).toBe(4); // please, question, digit and the rest: each condition is in one of the two P
    for (const [key, c] of cells) {
      expect(c.teacher / c.n, key).toBeGreaterThanOrEqual(0.9);
      expect(c.base / c.n, key).toBeLessThanOrEqual(0.1);
    }
  }, 300_000);
});
