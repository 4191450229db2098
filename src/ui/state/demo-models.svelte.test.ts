// Loading a demo model puts its own preset on the page: the compound model gets the compound preset, not the
// single-rule demo's (which it does not follow), and switching demo models swaps an unedited demo preset, never
// text the user typed or edited.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { TestbedKind } from '../../genpi/demo-models';
import type { ModelSource } from '../../worker/api';
import { AppState } from './app.svelte';
import { FakeEngine, SUMMARY } from './testing';

function demoApp() {
  const engine = new FakeEngine();
  const loads: ModelSource[] = [];
  Object.assign(engine, {
    loadModel: async (source: ModelSource) => {
      loads.push(source);
      const testbed: TestbedKind | undefined = source.kind === 'demo' ? (source.model ?? 'single') : undefined;
      return { ...SUMMARY, ...(testbed ? { testbed } : {}) };
    },
  });
  const app = new AppState(engine.client);
  const load = (model: TestbedKind) => app.model.loadSource({ kind: 'demo', baseUrl: `http://app/${model}/`, model });
  return { app, load, loads };
}

describe('the demo models', () => {
  it('each starts with its own preset; switching swaps an unedited demo preset', async () => {
    const { app, load, loads } = demoApp();
    await load('compound');
    expect(loads.at(-1)).toMatchObject({ kind: 'demo', model: 'compound' });
    expect(app.prompt.presetId).toBe('demo-compound');
    expect(app.prompt.text).toMatch(/question mark|"\?"/);
    await load('single');
    expect(app.prompt.presetId).toBe('demo-first');
    await load('compound');
    expect(app.prompt.presetId).toBe('demo-compound');
  });

  it('never replaces a prompt the user wrote or edited', async () => {
    const { app, load } = demoApp();
    app.prompt.setText('You are terse.');
    await load('compound');
    expect(app.prompt.text).toBe('You are terse.');
    app.prompt.applyPreset('demo-first');
    app.prompt.setText(`${app.prompt.text} Be brief.`);
    await load('compound');
    expect(app.prompt.text).toMatch(/Be brief\.$/);
  });

  it('sizes the compound preset\'s run as the default run, not the quick one its rules were not measured with', async () => {
    const { app, load } = demoApp();
    await load('single');
    const quick = app.dataset.form.samples;
    await load('compound');
    expect(app.dataset.form.samples).toBeGreaterThan(quick);
  });
});
