// The parts only prompt generation reads, through the worker's session on Dawn with the tiny random model: the
// prompt report says how long P may be; a dataset made without AS-IS answers and reasons plans and trains with the
// default variant as it is, while the joint variant's plan says they are written first, and its run writes them
// (progress per stage) and hands the completed records back before training.
import { expect, it } from 'vitest';
import type { GenpiRecord } from '../genpi/dataset';
import { DEFAULT_LOSS } from '../train/variants';
import { testRecord } from '../testing/records';
import { sessionSuite, TINY_QWEN2 } from '../testing/session';
import type { SynthesisProgress, TrainSettings } from './api';

const PROMPT = 'You are a shell agent. Answer with one command.\n<USER>: list files\n<AGENT>: Act: bash ls';
const TRAIN: TrainSettings = {
  lora: { rank: 2, alpha: 4, dropout: 0, targets: ['q'] }, loss: DEFAULT_LOSS,
  epochs: 1, batchSize: 3, lr: 1e-3, warmupFraction: 0, seed: 0, checkpointEvery: 0, maxTokensPerMicroBatch: 256,
};
// As synthesis now writes them by default: no AS-IS answer, no reason, and settings.parts saying so.
const record = (i: number, split = 'train') => testRecord(i, {
  input: `input number ${i}`, answer: `Act: bash ls ${i}`, as_is: '', reason: '', split,
  settings: { seed: 0, max_new_tokens: 6, reasons: { max_new_tokens: 6 }, parts: [] },
});
const records = [record(0), record(1), record(2), record(3, 'heldout')];

const suite = sessionSuite({ model: TINY_QWEN2 });

it('says how long P may be on the loaded model, and why', async () => {
  const r = await suite.session.inspectPrompt(PROMPT);
  expect(r.maxTokens).toBeGreaterThan(r.tokens);
  expect(r.room).toBe(`P: ${r.tokens} tokens of at most ${r.maxTokens} on this model (its context of 2048 tokens less ` +
    `${2048 - 64 - 256 - r.maxTokens} for the chat template's turn markers, 64 for an input and 256 for an answer)`);
});

it('plans the default variant as the dataset is, and says the joint variant writes the missing parts first', async () => {
  expect((await suite.session.planTraining(PROMPT, records, TRAIN)).makeParts).toBeNull();
  const joint = await suite.session.planTraining(PROMPT, records, { ...TRAIN, loss: { ...DEFAULT_LOSS, variant: 'joint' } });
  expect(joint.makeParts).toBe('before training, AS-IS answers and reasons are written for the dataset (3 training records lack them): ' +
    'the joint variant reads them, and the dataset was synthesized without them');
});

it('writes them before the first step, reporting each stage, and hands the records back', async () => {
  const stages: SynthesisProgress[] = [];
  const made: GenpiRecord[][] = [];
  let firstStepAfterParts = false;
  const r = await suite.session.train('t-parts', PROMPT, records, { ...TRAIN, loss: { ...DEFAULT_LOSS, variant: 'joint' } }, {
    onParts: (p) => stages.push(p),
    onPartsMade: (rs) => void made.push(rs),
    onStep: () => (firstStepAfterParts ||= made.length === 1),
  });
  expect(r.steps).toBe(1);
  expect(firstStepAfterParts).toBe(true);
  expect(stages.filter((s) => s.stage === 'as_is').at(-1)).toEqual({ stage: 'as_is', done: 4, total: 4 });
  expect(stages.filter((s) => s.stage === 'reasons').at(-1)).toEqual({ stage: 'reasons', done: 4, total: 4 });
  expect(made).toHaveLength(1);
  expect(made[0].map((x) => x.settings.parts)).toEqual(Array(4).fill(['as_is', 'reason']));
  expect(made[0].map((x) => x.id)).toEqual(records.map((x) => x.id));
  // The page's records are not changed in place: the completed ones come back through onPartsMade.
  expect(records.every((x) => x.as_is === '' && (x.settings.parts as string[]).length === 0)).toBe(true);
});
