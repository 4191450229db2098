// The behaviour checker for both testbeds, and evaluation over later turns with a scripted model: each side sees its
// own earlier answers, each turn is scored against its own input, and retention is the worst branch at any turn.
import { beforeAll, describe, expect, it } from 'vitest';
import type { LlamaEngine } from '../llama/engine';
import type { LoraAdapter } from '../llama/peft';
import type { Tokenizer } from '../model/tokenizer';
import { Rng } from '../util/rng';
import { behaviourChecker, compoundChecker, singleRuleChecker } from './behaviour';
import { formatBehaviour } from './behaviour-table';
import type { ChatReply } from './chat';
import { buildCompoundPrompt, expectedAnswer, makeMessage, type CompoundRules } from './compound-testbed';
import { MIN_CELL_INPUTS, scoreBehaviour, turnInput, type Side } from './eval-turns';
import { evaluate } from './evaluate';
import { parsePrompt } from './prompt';
import { applyRule, heldoutPrompt } from './testbed';
import { scriptedGenerator } from './testing';
import { tinyTokenizer } from '../testing/tokenizer';

const RULES: CompoundRules = { branches: [{ when: 'please', action: 'reverse' }, { when: 'question', action: 'first' }], otherwise: 'count', prefix: 'OK:' };

let tok: Tokenizer;
beforeAll(async () => {
  tok = await tinyTokenizer();
});

describe('behaviourChecker', () => {
  it('reads a compound P as its branches and a single-rule P as one branch named after the rule', () => {
    const rng = new Rng(3);
    const compound = behaviourChecker(buildCompoundPrompt({ rules: RULES, split: 'heldout', examples: ['please cat dog'], next: () => rng.next() }))!;
    expect(compound.testbed).toBe('compound');
    expect(compound.branches).toEqual(['please', 'question', 'other']);
    expect(compound.branchOf('please red sun?')).toBe('please'); // the first condition P states wins
    expect(compound.branchOf('red sun?')).toBe('question');
    expect(compound.branchOf('red sun')).toBe('other');
    expect(compound.follows('please red sun', 'OK: sun red please')).toBe(true);
    expect(compound.follows('please red sun', 'sun red please')).toBe(false); // the prefix is part of the rule
    expect(compound.follows('red sun moon', 'OK: 3')).toBe(true);

    const single = behaviourChecker(heldoutPrompt('last'))!;
    expect(single).toMatchObject({ testbed: 'single', branches: ['last'], rule: 'last' });
    expect(single.branchOf('anything at all')).toBe('last');
    expect(single.follows('red sun moon', 'moon')).toBe(true);
    expect(single.follows('red sun moon', 'red')).toBe(false);
  });

  it('has no checker for a P that states no testbed rule', () => {
    expect(behaviourChecker('You are a helpful assistant. Answer politely.')).toBeNull();
  });
});

/** The last user turn of a chat-templated request, and how many user turns it has. */
function lastUser(text: string): { input: string; turn: number } {
  const parts = text.split('<|im_start|>user\n');
  return { input: parts[parts.length - 1].split('<|im_end|>')[0], turn: parts.length - 1 };
}

const replies = (texts: string[]): ChatReply[] => texts.map((text) => ({ text, tokens: [], context: [], cut: false }));

describe('scoreBehaviour', () => {
  it('scores each turn against its own input, lists empty branches and takes the worst full cell', () => {
    const c = compoundChecker(RULES);
    // 4 "please" inputs and 4 "other" ones; no question: that branch must show with 0 inputs.
    const inputs = ['please a b', 'please c d', 'please e f', 'please g h', 'a b c', 'd e', 'f g h i', 'j k'];
    const right = (t: number) => inputs.map((_, i) => expectedAnswer(RULES, turnInput(inputs, i, t)));
    // The student is right at turn 1; at turn 2 it misses every "please" input and still gets "other" right.
    const student2 = inputs.map((_, i) => (c.branchOf(turnInput(inputs, i, 1)) === 'please' ? 'wrong' : right(1)[i]));
    const answers: Record<Side, ChatReply[][]> = {
      teacher: [replies(right(0)), replies(right(1))],
      student: [replies(right(0)), replies(student2)],
      base: [replies(inputs), replies(inputs)],
    };
    const b = scoreBehaviour(c, inputs, answers);
    expect(b.per_turn.map((t) => [t.inputs, t.teacher, t.student, t.base])).toEqual([[8, 1, 1, 0], [8, 1, 0.5, 0]]);
    expect(b.cells.find((x) => x.branch === 'question' && x.turn === 1)).toMatchObject({ inputs: 0, retention: null });
    expect(b.per_branch.map((x) => [x.branch, x.inputs, x.retention])).toEqual([['please', 8, 0.5], ['question', 0, null], ['other', 8, 1]]);
    expect(b.worst).toEqual({ branch: 'please', turn: 2, retention: 0 });
    expect(b.retention).toBe(0);
    expect(b.misses[0]).toMatchObject({ branch: 'please', turn: 2, student: 'wrong' });
    expect(formatBehaviour(b)).toContain('worst branch: please at turn 2, retention 0%');
  });

  it('calls no cell the worst when it has fewer than MIN_CELL_INPUTS inputs', () => {
    const c = singleRuleChecker('first');
    const inputs = Array.from({ length: MIN_CELL_INPUTS - 1 }, (_, i) => `w${i} x`);
    const answers = { teacher: [replies(inputs.map((x) => applyRule('first', x)))], student: [replies(inputs)], base: [replies(inputs)] };
    const b = scoreBehaviour(c, inputs, answers);
    expect(b.per_turn[0]).toMatchObject({ teacher: 1, student: 0, retention: 0 });
    expect(b.worst).toBeNull();
  });
});

describe('evaluate over three turns', () => {
  it('gives each side its own earlier answers and reports turn 1 as before, later turns per branch', async () => {
    const rng = new Rng(5);
    const text = buildCompoundPrompt({ rules: RULES, split: 'heldout', next: () => rng.next() });
    const p = parsePrompt(text);
    const r = new Rng(9);
    const inputs = (['please', 'question', 'other'] as const).flatMap((b) => Array.from({ length: 4 }, () => makeMessage(b, () => r.next())));
    const seen: { side: Side; text: string }[] = [];
    // Teacher (P in the request): always right. Student (the adapter): right on turn 1 only, then the message
    // back. Base: the message back.
    const { gen } = scriptedGenerator(tok, (_kind, _n, req, request) => {
      const side: Side = req.includes(p.system.split('\n')[0]) ? 'teacher' : request.adapter ? 'student' : 'base';
      seen.push({ side, text: req });
      const { input, turn } = lastUser(req);
      const good = side === 'teacher' || (side === 'student' && turn === 1);
      return { text: good ? expectedAnswer(RULES, input) : input };
    });
    const engine = { cfg: { vocabSize: 4 }, weights: { bytes: 64 }, kernels: { f16: false } } as unknown as LlamaEngine;
    const f = await evaluate(engine, gen, tok, p, inputs, { name: 'student', adapter: {} as LoraAdapter }, {
      maxNewTokens: 8, checker: behaviourChecker(text), turns: 3,
    });
    const b = f.behaviour!;
    expect(b.per_turn.map((t) => [t.turn, t.inputs, t.teacher, t.student, t.base])).toEqual([[1, 12, 1, 1, 0], [2, 12, 1, 0, 0], [3, 12, 1, 0, 0]]);
    // Over the three turns each branch keeps turn 1 only; the worst cell is a later turn at 0.
    expect(b.per_branch.map((x) => [x.inputs, x.retention])).toEqual([[12, 1 / 3], [12, 1 / 3], [12, 1 / 3]]);
    expect(b.worst).toMatchObject({ turn: 2, retention: 0 });
    expect(b.retention).toBe(0);
    expect(f.rule_accuracy).toBeNull(); // the compound testbed has no single rule
    // Turn 1 as evaluation always scored it: agreement with the teacher's first answers.
    expect(f.exact_match).toBe(1);
    // A turn-3 request of the student holds its own turn-1 and turn-2 answers, not the teacher's.
    const s3 = seen.find((x) => x.side === 'student' && lastUser(x.text).turn === 3)!.text;
    const asked = s3.split('<|im_start|>user\n').slice(1).map((x) => x.split('<|im_end|>')[0]);
    const i = inputs.indexOf(asked[0]);
    expect(asked).toEqual([0, 1, 2].map((t) => turnInput(inputs, i, t)));
    expect(s3).toContain(`<|im_start|>assistant\n${expectedAnswer(RULES, asked[0])}<|im_end|>`); // right on turn 1
    expect(s3).toContain(`<|im_start|>assistant\n${asked[1]}<|im_end|>`); // its own wrong turn-2 answer
    expect(s3).not.toContain(text.split('\n')[0]); // no P
  });

  it('keeps rule_accuracy for the single-rule testbed and runs one turn without a checker', async () => {
    const text = heldoutPrompt('first');
    const p = parsePrompt(text);
    const inputs = ['red sun moon', 'cat dog', 'big old ship', 'rain snow wind star'];
    const { gen, calls } = scriptedGenerator(tok, (_k, _n, req, request) => {
      const { input } = lastUser(req);
      return { text: req.includes('Max') || request.adapter ? applyRule('first', input) : input };
    });
    const engine = { cfg: { vocabSize: 4 }, weights: { bytes: 64 }, kernels: { f16: false } } as unknown as LlamaEngine;
    const student = { name: 'student', adapter: {} as LoraAdapter };
    const f = await evaluate(engine, gen, tok, p, inputs, student, { maxNewTokens: 8, checker: behaviourChecker(text), turns: 2 });
    expect(f.rule_accuracy).toMatchObject({ rule: 'first', teacher: 1, student: 1, base: 0, retention: 1, misses: [] });
    expect(f.behaviour!.per_turn.map((t) => t.retention)).toEqual([1, 1]);
    const before = calls.length;
    const plain = await evaluate(engine, gen, tok, p, inputs, student, { maxNewTokens: 8 });
    expect(plain.behaviour).toBeNull();
    // Three sides, one turn, then the timing requests: no later turns without a checker.
    expect(calls.slice(before, before + 3).map((c) => c.length)).toEqual([4, 4, 4]);
    expect(calls.length - before).toBe(3 + 3);
  });
});
