// A model's label against the id exports write: the PEFT zip's base_model_name_or_path is what PEFT can load (a hub
// id, a folder's name), never the page's label for the demo or the tiny model.
import { describe, expect, it } from 'vitest';
import { shapeOf, exportFiles } from '../ui/adapter-io';
import { SUMMARY } from '../ui/state/testing';
import { testAdapter } from '../store/testing';
import type { ModelSummary } from './api';
import { demoModelLabel, modelIdOf, tinyModelLabel } from './model-labels';

describe('modelIdOf', () => {
  it('gives hub ids and folder names as they are, and the demo and tiny models without their description', () => {
    expect(modelIdOf('HuggingFaceTB/SmolLM2-135M-Instruct')).toBe('HuggingFaceTB/SmolLM2-135M-Instruct');
    expect(modelIdOf('my model (copy)')).toBe('my model (copy)');
    expect(modelIdOf(demoModelLabel('single'))).toBe('genpi-demo');
    expect(modelIdOf(demoModelLabel('compound'))).toBe('genpi-compound');
    expect(modelIdOf(tinyModelLabel('qwen2'))).toBe('tiny-random-qwen2');
  });

  it.each([
    [demoModelLabel('single'), 'genpi-demo'],
    [demoModelLabel('compound'), 'genpi-compound'],
    ['HuggingFaceTB/SmolLM2-135M-Instruct', 'HuggingFaceTB/SmolLM2-135M-Instruct'],
    ['SmolLM2-local', 'SmolLM2-local'],
  ])('the PEFT export of an adapter trained on "%s" names base model "%s"', (label, id) => {
    // A layout of rank 1 on q over the fake's 2 layers: 2 x (8 + 8) values.
    const shape = shapeOf({ ...SUMMARY, source: label } as ModelSummary);
    const a = testAdapter({
      model: { id: label, weightHash: SUMMARY.weightHash }, spec: { rank: 1, alpha: 2, dropout: 0, targets: ['q'] },
      params: new Float32Array(32), meta: { format: 'genpi-adapter', version: 1 } as never,
    });
    const files = exportFiles(a, shape);
    const config = JSON.parse(new TextDecoder().decode(files.get('adapter_config.json')));
    expect(config.base_model_name_or_path).toBe(id);
  });
});
