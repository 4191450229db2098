// The presets must read as role-marked prompts with a few example turns, and their action patterns must accept
// the examples' own final actions (a pattern that rejects P's examples would mark every teacher answer invalid).
import { describe, expect, it } from 'vitest';
import { validActionShare } from './metrics';
import { PRESETS, presetById } from './presets';
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
});
