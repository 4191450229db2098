// The presets must read as role-marked prompts with a few example turns, and their action patterns must accept
// the examples' own final actions (a pattern that rejects P's examples would mark every teacher answer invalid).
import { describe, expect, it } from 'vitest';
import { validActionShare } from './metrics';
import { behaviourChecker } from './behaviour';
import { CONDITION_PHRASINGS, PERSONAS, PREFIX_PHRASINGS } from './compound-testbed';
import { DEMO_PRESETS, demoPresetFor, PRESETS, presetById } from './presets';
import { parsePrompt } from './prompt';

describe('prompt presets', () => {
  it('cover the four kinds, with unique ids', () => {
    expect(PRESETS.map((p) => p.id)).toEqual(['os-agent', 'web-shop', 'json-extractor', 'persona']);
    expect(presetById('persona')?.title).toMatch(/librarian/);
    expect(presetById('nope')).toBeUndefined();
  });

  for (const preset of PRESETS) {
    it(`${preset.id}: parses into system text and a few alternating example turns`, () => {
      const p = parsePrompt(preset.text);
      expect(p.format).toBe('turns');
      expect(p.system.split(/\n\s*\n/).length).toBeGreaterThanOrEqual(3); // a few paragraphs
      const users = p.examples.filter((m) => m.role === 'user').length;
      expect(users).toBeGreaterThanOrEqual(2);
      expect(users).toBeLessThanOrEqual(4); // an agent's task takes two exchanges (act, then answer)
      expect(p.alternates).toBe(true);
      expect(p.examples.every((m) => m.content.trim() !== '')).toBe(true);
      expect(preset.environment.name).not.toBe('');
      expect(preset.environment.endMarker).toBe('[END]');
      expect(preset.maxTurns).toBeGreaterThanOrEqual(1);
    });

    if (preset.actionPattern) {
      it(`${preset.id}: the action pattern accepts every example answer and rejects chatter`, () => {
        const re = new RegExp(preset.actionPattern, 'm');
        const answers = parsePrompt(preset.text).examples.filter((m) => m.role === 'assistant').map((m) => m.content);
        expect(validActionShare(answers, re)).toBe(1);
        expect(re.test('Sure! I would be happy to help with that.')).toBe(false);
      });
    }
  }

  it('each demo model starts with its own kind of preset; the compound one states its rules in held-out words only', () => {
    expect(demoPresetFor('single').id).toBe('demo-first');
    expect(demoPresetFor('compound').id).toBe('demo-compound');
    expect(new Set(DEMO_PRESETS.map((p) => p.id)).size).toBe(DEMO_PRESETS.length);
    const text = demoPresetFor('compound').text;
    const checker = behaviourChecker(text)!;
    expect(checker.testbed).toBe('compound');
    expect(checker.branches).toEqual(['please', 'question', 'other']);
    const trained = [...Object.values(CONDITION_PHRASINGS).flatMap((s) => s.train), ...PERSONAS.train, ...PREFIX_PHRASINGS.train.map((s) => s.split('#')[0])];
    for (const line of text.split('\n')) expect(trained.filter((t) => line.startsWith(t)), line).toEqual([]);
    // Its example turns are answered as its rules say, so the teacher sees P agree with itself.
    const turns = parsePrompt(text).examples;
    expect(turns.length).toBe(6);
    for (let i = 0; i < turns.length; i += 2) expect(checker.follows(turns[i].content, turns[i + 1].content), turns[i].content).toBe(true);
  });
});
