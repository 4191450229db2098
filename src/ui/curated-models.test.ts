// Each suggested model's button says which model it loads and what the download costs; no two say the same.
import { expect, it } from 'vitest';
import { CURATED_MODELS, loadLabel } from './curated-models';

it('labels every model button with the model it loads and its size', () => {
  const labels = CURATED_MODELS.map(loadLabel);
  expect(labels[0]).toBe('Load SmolLM2-135M-Instruct (135M parameters, 256.5 MiB download)');
  expect(new Set(labels).size).toBe(CURATED_MODELS.length);
  for (const [i, m] of CURATED_MODELS.entries()) expect(labels[i]).toContain(m.id.split('/')[1]);
});
