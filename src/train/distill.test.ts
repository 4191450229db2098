// The teacher/student alignment of logit distillation on the tiny model's ChatML template (which inserts a default
// system message only when there is none, so the two prefixes differ in length and content): the teacher sees P's
// system text and examples, then the very tokens the student sees, and each labelled student prediction maps to the
// teacher position that predicts the same token. A template that renders the conversation differently behind P is
// refused. Also the distillation variants' loss groups and the packing of teacher targets into batches.
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SYSTEM_MESSAGE } from '../model/tiny/template';
import type { ChatMessage, Tokenizer } from '../model/tokenizer';
import { IGNORE } from '../llama/batch';
import { labelledCount, packGroups } from './batch';
import { DistillAlignmentError, teacherView, teacherViews } from './distill';
import { buildTrainingGroups, sftSequence, type PromptText, type TrainingRecord } from './sequences';
import { DEFAULT_LOSS } from './variants';
import { tinyTokenizer } from '../testing/tokenizer';
import { testRecord } from '../testing/records';

let tok: Tokenizer;
beforeAll(async () => {
  tok = await tinyTokenizer('llama');
});

const P: PromptText = {
  text: 'system: You are a shell agent. Reply with one bash command.\nuser: list files\nassistant: ls -la',
  messages: [
    { role: 'system', content: 'You are a shell agent. Reply with one bash command.' },
    { role: 'user', content: 'list files' },
    { role: 'assistant', content: 'ls -la' },
  ],
};

const RECORD: TrainingRecord = testRecord('r7', {
  input: 'count the lines of a.txt', answer: 'ls', as_is: 'You can count lines with a tool.', reason: 'One bash command.',
  later: [{ role: 'user', content: 'a.txt b.txt' }, { role: 'assistant', content: 'wc -l a.txt' }, { role: 'user', content: '12 a.txt [END]' }],
  settings: { cut_turns: [3] },
});

describe('teacherView on the tiny ChatML template', () => {
  it('maps every labelled student prediction to the teacher position predicting the same token', () => {
    const student = sftSequence(tok, RECORD);
    const v = teacherView(tok, RECORD, P, student, 'r7');
    const pre = (ids: number[], n: number) => tok.decode(ids.slice(0, n));
    // The prefixes: the student's default system message; the teacher's P (system text and example turns).
    expect(v.offset).toBe(v.seq.input_ids.length - student.input_ids.length);
    expect(v.offset).toBeGreaterThan(0);
    const studentPrefix = pre(student.input_ids, student.labels.findIndex((l) => l !== IGNORE));
    const teacherPrefix = pre(v.seq.input_ids, v.seq.labels.findIndex((l) => l !== IGNORE));
    expect(studentPrefix).toContain(DEFAULT_SYSTEM_MESSAGE);
    expect(teacherPrefix).not.toContain(DEFAULT_SYSTEM_MESSAGE);
    expect(teacherPrefix).toContain('You are a shell agent.');
    expect(teacherPrefix).toContain('ls -la');
    // From the user's input turn on, the two prefixes are the same text.
    expect(teacherPrefix.endsWith(studentPrefix.slice(studentPrefix.lastIndexOf('<|im_start|>user')))).toBe(true);

    expect(v.positions.length).toBe(labelledCount(student));
    let n = 0;
    for (let i = 1; i < student.input_ids.length; i++) {
      if (student.labels[i] === IGNORE) continue;
      const t = v.positions[n++];
      expect(t).toBe(i - 1 + v.offset);
      // Same context token at the prediction, same token predicted, same label.
      expect(v.seq.input_ids[t]).toBe(student.input_ids[i - 1]);
      expect(v.seq.input_ids[t + 1]).toBe(student.input_ids[i]);
      expect(v.seq.labels[t + 1]).toBe(student.labels[i]);
    }
    // The teacher's view is what synthesis showed the teacher: P's messages then the conversation, through the template.
    const rendered = tok.applyChatTemplate([...P.messages, ...RECORD.conversation.slice(0, 4)]).text;
    expect(tok.decode(v.seq.input_ids)).toBe(rendered);
    // The cut teacher turn (index 3) keeps its end of turn unlabelled on both sides.
    expect(tok.decode(student.input_ids.filter((_, i) => student.labels[i] !== IGNORE))).toBe('ls<|im_end|>wc -l a.txt');
  });

  it('a prompt without a system message still lines up (the teacher then gets the default one too)', () => {
    const p: PromptText = { text: 'user: hi\nassistant: yo', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }] };
    const student = sftSequence(tok, RECORD);
    const v = teacherView(tok, RECORD, p, student, 'r7');
    expect(tok.decode(v.seq.input_ids.slice(0, v.positions[0]))).toContain(DEFAULT_SYSTEM_MESSAGE);
    expect(v.positions.length).toBe(labelledCount(student));
  });

  it('a prompt shorter than the default system message gives a negative offset, still aligned', () => {
    const p: PromptText = { text: 'Be brief.', messages: [{ role: 'system', content: 'Be brief.' }] };
    const student = sftSequence(tok, RECORD);
    const v = teacherView(tok, RECORD, p, student, 'r7');
    expect(v.offset).toBeLessThan(0);
    const i = student.labels.findIndex((l) => l !== IGNORE);
    expect(v.positions[0]).toBe(i - 1 + v.offset);
    expect(v.seq.input_ids[v.positions[0] + 1]).toBe(student.input_ids[i]);
  });

  it('refuses a template that renders the conversation differently behind P', () => {
    // Like templates that fold the system text into every user turn: the student's user turns are not the teacher's.
    const folding = Object.create(tok) as Tokenizer;
    folding.applyChatTemplate = (messages: readonly ChatMessage[], opts?: { addGenerationPrompt?: boolean }) => {
      const sys = messages[0]?.role === 'system';
      return tok.applyChatTemplate(messages.map((m) => (sys && m.role === 'user' ? { ...m, content: `(as told) ${m.content}` } : m)), opts);
    };
    const student = sftSequence(folding, RECORD);
    expect(() => teacherView(folding, RECORD, P, student, 'r7')).toThrow(DistillAlignmentError);
    expect(() => teacherView(folding, RECORD, P, student, 'r7')).toThrow(/record r7's conversation differently .* variant without distillation/);
  });
});

describe('the distillation variants', () => {
  const records = [RECORD, { ...RECORD, id: 'r8', conversation: RECORD.conversation.slice(0, 2), settings: {} }];
  const rng = { next: () => 0.5 };

  it('joint_kl: SFT, PG, then a KL group on the SFT sequences; kl_only: SFT at weight 0, no PG', () => {
    const joint = buildTrainingGroups(tok, records, P, { ...DEFAULT_LOSS, variant: 'joint_kl' }, rng);
    expect(joint.groups.map((g) => [g.weight, g.kind ?? 'ce'])).toEqual([[0.7, 'ce'], [0.3, 'ce'], [1, 'kl']]);
    expect(joint.groups[2].sequences).toBe(joint.sft);
    expect(joint.distill).toEqual({ topK: 32 });
    const only = buildTrainingGroups(tok, records, P, { sftWeight: 0.7, pgWeight: 0.3, variant: 'kl_only', klWeight: 2, klTopK: 4 }, rng);
    expect(only.groups.map((g) => [g.weight, g.kind ?? 'ce'])).toEqual([[0, 'ce'], [2, 'kl']]);
    expect(only.pg).toEqual([]);
    expect(only.distill).toEqual({ topK: 4 });
    expect(buildTrainingGroups(tok, records, P, { ...DEFAULT_LOSS, variant: 'joint' }, rng).distill).toBeNull();
    expect(teacherViews(tok, only, P, 1000).map((v) => v.name)).toEqual(['teacher[r7]', 'teacher[r8]']);
    expect(() => teacherViews(tok, only, P, 3)).toThrow(/top-K must be a whole number from 1 to 3, got 4/);
  });

  it('packs teacher rows at the labelled tokens with weight w_kl / KL token count, beside the CE weights', () => {
    const set = buildTrainingGroups(tok, records, P, { ...DEFAULT_LOSS, variant: 'joint_kl', klWeight: 1.5, klTopK: 2 }, rng);
    set.sft.forEach((s, i) => {
      const n = labelledCount(s);
      s.teacher = { K: 2, ids: Uint32Array.from({ length: 2 * n }, (_, j) => 10 * i + (j % 2)), logp: Float32Array.from({ length: 2 * n }, (_, j) => -j) };
    });
    const b = packGroups(set.groups);
    const klTokens = set.sft.reduce((n, s) => n + labelledCount(s), 0);
    expect(b.kl?.K).toBe(2);
    let rows = 0;
    for (let t = 0; t < b.T; t++) {
      const distilled = b.kl!.weights[t] !== 0;
      if (distilled) {
        rows++;
        expect(b.kl!.weights[t]).toBeCloseTo(1.5 / klTokens, 7);
        expect(b.group[t]).toBe(0); // only SFT tokens are distilled
        expect(b.weights[t]).toBeCloseTo(0.7 / klTokens, 7); // the CE weight stays
      } else {
        expect(Array.from(b.kl!.ids.subarray(2 * t, 2 * t + 2))).toEqual([0, 0]);
      }
    }
    expect(rows).toBe(klTokens);
    // The first distilled token of the second sequence gets its own first row.
    const second = b.seqStart.indexOf(set.sft[0].input_ids.length);
    const first = [...b.kl!.weights.subarray(second)].findIndex((w) => w !== 0) + second;
    expect(Array.from(b.kl!.ids.subarray(2 * first, 2 * first + 2))).toEqual([10, 11]);
    expect(Array.from(b.kl!.logp.subarray(2 * first, 2 * first + 2))).toEqual([-0, -1]);
  });

  it('refuses teacher targets whose rows do not match the labelled tokens', () => {
    const set = buildTrainingGroups(tok, [RECORD], P, { ...DEFAULT_LOSS, variant: 'kl_only', klTopK: 1 }, rng);
    set.sft[0].teacher = { K: 1, ids: new Uint32Array(1), logp: new Float32Array(1) };
    expect(() => packGroups(set.groups)).toThrow(/teacher targets hold 1 rows for a sequence with \d+ labelled tokens/);
  });
});
