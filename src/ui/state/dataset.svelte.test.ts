// The synthesis form as the worker receives it and as a saved dataset brings it back: the user-turn nucleus, the one
// synthesis setting a P whose branch hangs on rare tokens (a digit) needs changed, travels both ways.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SYNTHESIS } from '../../genpi/synthesis-defaults';
import type { SynthesisSettings } from '../../genpi/settings';
import { testApp, trainingDataset } from './testing';

describe('DatasetState: the user-turn nucleus', () => {
  it('starts at the default, reaches the worker as set, and comes back with the dataset after a reload', async () => {
    const app = await testApp();
    app.prompt.adopt(trainingDataset().prompt);
    expect(app.dataset.form.userTurnTopP).toBe(DEFAULT_SYNTHESIS.userTurnTopP);
    const sent: SynthesisSettings[] = [];
    Object.assign(app.engine, {
      synthesize: async (_job: string, _p: string, s: SynthesisSettings) => {
        sent.push(s);
        return { records: trainingDataset().records, figures: null };
      },
    });
    app.dataset.form.userTurnTopP = 0.9;
    await app.dataset.synthesize();
    expect(app.dataset.error).toBeNull();
    expect(sent.map((s) => s.userTurnTopP)).toEqual([0.9]);

    const reloaded = await testApp({ fresh: false });
    expect(reloaded.dataset.form.userTurnTopP).toBe(DEFAULT_SYNTHESIS.userTurnTopP);
    await reloaded.dataset.restoreLatest();
    expect(reloaded.dataset.form.userTurnTopP).toBe(0.9);
  });

  it('restores a dataset saved before the setting existed at the default', async () => {
    const app = await testApp();
    app.dataset.form.userTurnTopP = 0.5;
    app.dataset.restore(trainingDataset());
    expect(trainingDataset().settings.userTurnTopP).toBeUndefined();
    expect(app.dataset.form.userTurnTopP).toBe(DEFAULT_SYNTHESIS.userTurnTopP);
  });
});
