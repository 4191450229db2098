// GenPI end to end on a compound P, the kind of prompt the product exists for, cut to fit the suite: the compound
// demo preset (persona, policies, a rule for messages starting with "please", one for messages ending in "?", one
// for the rest, a reply prefix, an example turn each, all in phrasings the model never saw) on the compound testbed model
// (public/compound-model), P alone with the default synthesis at 64 samples but for the user turns' nucleus (below),
// the default variant (on_policy), 2 epochs (58 steps, where the default plan has 126 and stops early), then the
// exact checker on the held-out records' inputs and fresh ones, branch by branch, over two turns.
// It asserts that every branch has at least 10% of the synthesized inputs, that the teacher follows every branch on
// at least 90% of the inputs and the base on none, and that the student without P keeps >= 90% of the teacher on
// every branch, turns 1 and 2. Measured on the v9 weights: 100% for teacher and student on every cell, 3.0 minutes
// alone. The v7 weights kept every cell at 32 samples and 3 epochs; on v9 that size kept "please" at 85% of the
// teacher (54% at 5 epochs; the student answered a middle word, `please moon box lamp red` -> `OK: lamp`): a run this
// small stands on the few inputs and steps it has, so it is sized on what the committed weights measure.
// User turns are sampled at top-p 0.9 here, not at the default 1: on v7 at 32 samples the draws at 1 left the student
// miscounting the "?" branch (word count: 42% / 67% on turns 1 / 2), with that branch's share of the inputs alike. At
// the default size (64 samples, the default plan) on_policy at top-p 1 keeps every cell of this preset over three
// turns (README, "The compound testbed"). With the compound model's earlier (v5) weights the teacher followed
// "please" 71% of the time, the student 36%.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { testKernels } from '../gpu/testing';
import { formatBehaviour } from '../genpi/behaviour-table';
import { DEFAULT_VARIANT } from '../train/variants';
import { benchQuality, compoundPresetCase, type QualityRow } from './quality';

const DIR = 'public/compound-model';
let kernels: Kernels | undefined;
let row: QualityRow;
afterAll(() => kernels?.device.destroy());

beforeAll(async () => {
  kernels = await testKernels(true);
  const files = new Map(readdirSync(DIR).map((f) => [f, new Uint8Array(readFileSync(`${DIR}/${f}`))]));
  [row] = await benchQuality(kernels, files, {
    model: 'compound-model', variants: [DEFAULT_VARIANT], samples: 64, epochs: 2, turns: 2, userTurnTopP: 0.9, log: (s) => console.log(s),
    cases: [compoundPresetCase(36)],
  });
  console.log(formatBehaviour(row.variants[0].behaviour!));
  console.log(`synthesis ${row.synthesisMinutes.toFixed(1)} min, ${row.records} records; training and evaluation ${row.variants[0].minutes.toFixed(1)} min`);
}, 900_000);

const cells = (branch?: string) => row.variants[0].behaviour!.cells.filter((c) => !branch || c.branch === branch);

it('synthesis from P alone gives every branch at least 10% of the inputs', () => {
  const shares = row.coverage!.branches!;
  expect(shares.map((x) => x.branch)).toEqual(['please', 'question', 'other']);
  for (const x of shares) expect(x.share, `inputs in ${x.branch}`).toBeGreaterThanOrEqual(0.1);
});

it('every branch, turns 1 and 2, is measured: the teacher follows it on at least 90% of the inputs, the base never', () => {
  expect(cells().map((c) => `${c.branch} ${c.turn}`)).toEqual(['please 1', 'please 2', 'question 1', 'question 2', 'other 1', 'other 2']);
  for (const c of cells()) {
    const at = `${c.branch} turn ${c.turn}`;
    expect(c.inputs, at).toBeGreaterThanOrEqual(9);
    expect(c.teacher, at).toBeGreaterThanOrEqual(0.9);
    expect(c.base, at).toBeLessThanOrEqual(0.1);
  }
});

it('the student without P keeps >= 90% of the teacher on every branch, turns 1 and 2', () => {
  for (const c of cells()) expect(c.student, `${c.branch} turn ${c.turn}`).toBeGreaterThanOrEqual(0.9 * c.teacher);
});
