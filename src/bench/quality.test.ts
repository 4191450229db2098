// The quality bench's cases: what each P is scored on must reach every branch P states, start with the held-out
// records' inputs and never repeat an input the student trained on.
import { describe, expect, it } from 'vitest';
import { branchOf, compoundRulesOfPrompt } from '../genpi/compound-testbed';
import { demoPresetFor } from '../genpi/presets';
import { compoundPresetCase } from './quality';

describe('compoundPresetCase', () => {
  it('scores the compound preset on fresh inputs of every branch, held-out ones first', () => {
    const c = compoundPresetCase(24);
    expect(c.prompt).toBe(demoPresetFor('compound').text);
    const rules = compoundRulesOfPrompt(c.prompt)!;
    const trained = ['please red cat', 'sun moon?', 'bird lamp'];
    const inputs = c.testInputs(new Set(trained), ['please old ship']);
    expect(inputs).toHaveLength(24);
    expect(inputs[0]).toBe('please old ship');
    expect(new Set(inputs).size).toBe(24);
    expect(inputs.filter((x) => trained.includes(x))).toEqual([]);
    const branches = new Map<string, number>();
    for (const x of inputs) branches.set(branchOf(rules, x), (branches.get(branchOf(rules, x)) ?? 0) + 1);
    expect([...branches.keys()].sort()).toEqual(['other', 'please', 'question']);
    for (const n of branches.values()) expect(n).toBeGreaterThanOrEqual(7);
  });

  it('draws the same inputs on every call, so a bench row can be rerun', () => {
    expect(compoundPresetCase(12).testInputs(new Set(), [])).toEqual(compoundPresetCase(12).testInputs(new Set(), []));
  });
});
