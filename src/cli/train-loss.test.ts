// The loss a run records is the same whichever surface started it: `genpi train`'s flags and the app's form both go
// through the variants table's effectiveLoss, so genpi_adapter.json no longer says sft 0.7 / pg 0.3 for a default
// CLI run and 0 / 0 for the same run from the app.
import { describe, expect, it } from 'vitest';
import { buildAdapterMetadata, type AdapterMetaInput } from '../genpi/adapter-meta';
import { DEFAULT_TRAINING } from '../genpi/train-adapter';
import { VARIANT_NAMES } from '../train/variants';
import { defaultTrainSettings, effectiveSettings } from '../ui/train-settings';
import { lossFromFlags } from './train';

const input = (loss: AdapterMetaInput['loss']): AdapterMetaInput => ({
  model: { id: 'm', architecture: 'llama', weightHash: 'fnv1a64:0', parameters: 1 },
  prompt: { text: 'P', tokens: 1 }, thinking: false, lora: DEFAULT_TRAINING.lora, loss,
  loop: { ...DEFAULT_TRAINING.loop, epochs: 10, batchSize: 4 }, maxTokensPerMicroBatch: 512, recompute: null,
  dataset: { name: 'd', records: [], figures: null, skippedLines: 0 }, curve: [], created: 0,
});

describe('the loss a run records', () => {
  it('is the same from the CLI with no flags and from the app with the defaults, down to genpi_adapter.json', async () => {
    const cli = lossFromFlags({});
    const app = effectiveSettings(defaultTrainSettings()).loss;
    expect(cli).toEqual(app);
    expect(cli).toEqual({ variant: 'on_policy', sftWeight: 0, pgWeight: 0, klWeight: 1, klTopK: 32 });
    const [fromCli, fromApp] = await Promise.all([buildAdapterMetadata(input(cli)), buildAdapterMetadata(input(app))]);
    expect(fromCli.training).toEqual(fromApp.training);
    expect(fromCli.warning).toBe(fromApp.warning);
  });

  it('is the same for every variant of the table, with only the terms it trains', () => {
    for (const variant of VARIANT_NAMES) {
      const app = effectiveSettings({ ...defaultTrainSettings(), loss: { ...defaultTrainSettings().loss, variant } }).loss;
      expect(lossFromFlags({ variant }), variant).toEqual(app);
    }
    expect(lossFromFlags({ variant: 'joint' })).toEqual({ variant: 'joint', sftWeight: 0.7, pgWeight: 0.3 });
    expect(lossFromFlags({ variant: 'sft_only', 'pg-weight': '0.5' })).toEqual({ variant: 'sft_only', sftWeight: 0.7, pgWeight: 0 });
    expect(() => lossFromFlags({ variant: 'nope' })).toThrow(/--variant must be one of on_policy, kl_only, joint, .*joint_kl/);
  });
});
