// The training form's defaults match the method's, the SFT-only switch zeroes w_pg, and bad values are named.
import { describe, expect, it } from 'vitest';
import { LORA_TARGETS } from '../llama/lora';
import { defaultTrainSettings, effectiveSettings, settingsProblems, VARIANTS } from './train-settings';

describe('training settings', () => {
  it('defaults to on_policy, rank 16, alpha 32, dropout 0.05 on every target, lr 2e-3 (measured on the testbed model, not the paper 1e-4), and keeps 0.7/0.3 for joint', () => {
    const s = defaultTrainSettings();
    expect(s.lora).toMatchObject({ rank: 16, alpha: 32, dropout: 0.05 });
    expect(s.lora.targets).toEqual([...LORA_TARGETS]);
    expect(s.lr).toBe(2e-3);
    expect(s.loss).toEqual({ sftWeight: 0.7, pgWeight: 0.3, variant: 'on_policy', klWeight: 1, klTopK: 32 });
    expect(settingsProblems(s)).toEqual([]);
    expect(VARIANTS.map((v) => v.value)).toEqual(['on_policy', 'kl_only', 'joint', 'sft_only', 'pg_no_reason', 'pg_no_prompt', 'prepend_0.5', 'prepend_1.0', 'joint_kl']);
  });

  it('leaves batch and epochs on auto (empty) by default, and takes a number the user types', () => {
    const s = defaultTrainSettings();
    expect(s).toMatchObject({ epochs: null, batchSize: null });
    s.epochs = 3;
    s.batchSize = 1;
    expect(settingsProblems(s)).toEqual([]);
    s.batchSize = 0;
    expect(settingsProblems(s)).toEqual(['batch size must be a whole number of at least 1 (or empty for auto)']);
  });

  it('sends w_pg = 0 for SFT only, without touching the form', () => {
    const s = defaultTrainSettings();
    s.loss.variant = 'sft_only';
    expect(effectiveSettings(s).loss.pgWeight).toBe(0);
    expect(s.loss.pgWeight).toBe(0.3);
  });

  it('keeps the KL settings only for the distilling variants; KL only sends w_sft = w_pg = 0', () => {
    const s = defaultTrainSettings();
    s.loss.variant = 'joint';
    expect(effectiveSettings(s).loss).toEqual({ sftWeight: 0.7, pgWeight: 0.3, variant: 'joint' });
    s.loss.variant = 'joint_kl';
    expect(effectiveSettings(s).loss).toEqual({ sftWeight: 0.7, pgWeight: 0.3, variant: 'joint_kl', klWeight: 1, klTopK: 32 });
    s.loss.variant = 'kl_only';
    expect(effectiveSettings(s).loss).toEqual({ sftWeight: 0, pgWeight: 0, variant: 'kl_only', klWeight: 1, klTopK: 32 });
    expect(settingsProblems(s)).toEqual([]);
    s.loss.klWeight = 0;
    s.loss.klTopK = 300;
    expect(settingsProblems(s)).toEqual(['the KL weight must be above 0', "the teacher's top-K must be a whole number from 1 to 256"]);
  });

  it('names each bad value', () => {
    const s = defaultTrainSettings();
    s.lora.rank = 0;
    s.lora.targets = [];
    s.lr = 0;
    expect(settingsProblems(s)).toEqual(['rank must be a whole number of at least 1', 'pick at least one target module', 'learning rate must be between 0 and 1']);
  });
});
