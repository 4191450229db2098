// User-turn sampling against the list request on a tiny random model, from P alone (no seed inputs), one round
// each of 32 inputs asked: a model that follows no instruction cannot write a numbered list of 8 messages, but it
// ends a user turn after P, so user-turn sampling yields most of what it asks and the list request little. Then
// both mixed: the rounds follow the yields and N unique inputs come back, most of them sampled user turns.
// (A random model cannot show that the inputs are good ones; docs/METHOD.md "Beyond the paper" measures that.)
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { testKernels } from '../gpu/testing';
import { LlamaEngine } from '../llama/engine';
import { Generator } from '../llama/generator';
import { memoryFiles } from '../llama/testing';
import { openModel } from '../model/open';
import { makeTinyModel } from '../model/tiny/make';
import { loadTokenizer, type Tokenizer } from '../model/tokenizer';
import { gatherInputs } from './gather-inputs';
import { parsePrompt } from './prompt';

const P = parsePrompt(`You are a support bot for Acme routers. Answer in one short paragraph.
user: My wifi drops every evening.
assistant: Restart the router and move it away from the microwave.
user: How do I change the wifi password?
assistant: Open 192.168.1.1, log in, and pick Wireless > Security.`);

let kernels: Kernels;
let engine: LlamaEngine;
let tok: Tokenizer;
let gen: Generator;
beforeAll(async () => {
  kernels = await testKernels(false);
  // Near-uniform attention and a confident head, as the end-to-end test's model: its text is noise, but it ends turns.
  const files = memoryFiles(makeTinyModel({ arch: 'qwen2', seed: 0, qkScale: 0.2, headStd: 1.0 }));
  engine = await LlamaEngine.load(kernels, await openModel(files));
  tok = await loadTokenizer(files);
  gen = new Generator(engine, { tokenizer: tok, slots: 16, slotLength: 1024 });
});
afterAll(() => {
  gen?.destroy();
  engine?.destroy();
  kernels?.device.destroy();
});

it('yields many unique inputs from P alone where the list request yields few; mixed, the rounds follow the yield', async () => {
  const turns = await gatherInputs(gen, tok, P, { samples: 32, seed: 0, maxRounds: 1, sources: ['user_turn'] });
  const lists = await gatherInputs(gen, tok, P, { samples: 32, seed: 0, maxRounds: 1, sources: ['list'] });
  console.log(`one round of 32 inputs asked: user-turn sampling ${turns.inputs.length} unique (32 requests; dropped ${JSON.stringify(turns.dropped)}), ` +
    `list request ${lists.inputs.length} unique (4 requests of 8; dropped ${JSON.stringify(lists.dropped)})`);
  expect(turns.asked).toEqual({ user_turn: 32, list: 0 });
  expect(lists.asked).toEqual({ user_turn: 0, list: 32 });
  // Most of what it asks: 30 of 32 at top-p 0.9, 23 at the default 1 (7 ran past the token limit, user-turn.ts).
  expect(turns.inputs.length).toBeGreaterThanOrEqual(20);
  expect(lists.inputs.length).toBeLessThanOrEqual(12);
  expect(turns.inputs.length).toBeGreaterThanOrEqual(2 * lists.inputs.length);

  const mixed = await gatherInputs(gen, tok, P, { samples: 40, seed: 1, maxRounds: 3 });
  const count = (s: string) => mixed.sourceOf.filter((x) => x === s).length;
  console.log(`mixed, 40 asked: ${mixed.inputs.length} unique in ${mixed.rounds} rounds, ${count('user_turn')} from user turns ` +
    `(of ${mixed.asked.user_turn} asked), ${count('list')} from lists (of ${mixed.asked.list} asked); rounds ${JSON.stringify(mixed.perRound)}`);
  expect(mixed.inputs).toHaveLength(40);
  expect(count('user_turn')).toBeGreaterThanOrEqual(2 * count('list'));
  // Round 1 splits evenly; round 2 gives user-turn sampling, which yielded more, the larger share.
  const [first, second] = mixed.perRound;
  expect(first.user_turn!.asked).toBe(first.list!.asked);
  expect(second.user_turn!.asked).toBeGreaterThanOrEqual(2 * (second.list?.asked ?? 0));
}, 600_000);
