// The testbed model (public/demo-model) really follows its prompt: with a phrasing of a rule it never saw in
// training (with and without an example turn), the teacher applies the rule; without P, the base repeats the message
// instead. Every retention figure measured on this model rests on these two facts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPipeline } from '../cli/pipeline';
import { Rng } from '../util/rng';
import { GREEDY, runChatReplies } from './chat';
import { parsePrompt } from './prompt';
import { applyRule, heldoutPrompt, ruleAccuracy, TESTBED_RULES, TESTBED_WORDS } from './testbed';

const N = 24;

function inputs(seed: number): string[] {
  const rng = new Rng(seed);
  return Array.from({ length: N }, () =>
    Array.from({ length: 2 + Math.floor(rng.next() * 5) }, () => TESTBED_WORDS[Math.floor(rng.next() * TESTBED_WORDS.length)]).join(' '));
}

describe('testbed model', () => {
  let pipe: Awaited<ReturnType<typeof openPipeline>>;
  beforeAll(async () => {
    pipe = await openPipeline('public/demo-model', { slots: N, turnTokens: 128 });
  });
  afterAll(() => pipe?.engine.destroy());

  it('without P, the base repeats the message: it applies no rule', async () => {
    const xs = inputs(1);
    const base = await runChatReplies(pipe.generator, pipe.tokenizer, xs.map((x) => ({ messages: [{ role: 'user', content: x }], sampling: GREEDY(32) })));
    const pairs = xs.map((input, i) => ({ input, output: base[i].text }));
    const echo = pairs.filter((p) => p.output === applyRule('echo', p.input)).length / N;
    const byRule = TESTBED_RULES.map((r) => `${r} ${ruleAccuracy(r, pairs)!.toFixed(2)}`).join(', ');
    console.log(`base without P: repeats the message ${echo.toFixed(2)}; applies ${byRule}`);
    expect(echo).toBeGreaterThanOrEqual(0.9);
    for (const r of TESTBED_RULES) expect(ruleAccuracy(r, pairs)!).toBeLessThanOrEqual(0.1);
  });

  for (const rule of TESTBED_RULES) {
    it(`${rule}: the teacher with a held-out phrasing applies the rule on at least 90% of inputs`, async () => {
      const xs = inputs(2 + TESTBED_RULES.indexOf(rule));
      const jobs = xs.map((x, i) => {
        const p = parsePrompt(heldoutPrompt(rule, { variant: i % 2, examples: i % 3 === 0 ? ['green lamp'] : [] }));
        return { messages: [...p.messages, { role: 'user', content: x }], prefixMessages: p.messages.length, sampling: GREEDY(32) };
      });
      const teacher = await runChatReplies(pipe.generator, pipe.tokenizer, jobs);
      const acc = ruleAccuracy(rule, xs.map((input, i) => ({ input, output: teacher[i].text })))!;
      console.log(`${rule}: teacher with held-out phrasings ${acc.toFixed(2)} (e.g. "${xs[0]}" -> "${teacher[0].text}")`);
      expect(acc).toBeGreaterThanOrEqual(0.9);
    });
  }
});
