// The models the app suggests: small instruction-tuned Llama-family models that train in a browser tab. Sizes are
// the hub's safetensors downloads (bf16), so the user knows what a click costs before it starts.
import { formatBytes } from './format';

export interface CuratedModel {
  id: string;
  parameters: string;
  /** Download size in bytes (approximate). */
  bytes: number;
  note: string;
}

export const CURATED_MODELS: readonly CuratedModel[] = [
  { id: 'HuggingFaceTB/SmolLM2-135M-Instruct', parameters: '135M', bytes: 269e6, note: 'fastest; a good first run' },
  { id: 'HuggingFaceTB/SmolLM2-360M-Instruct', parameters: '360M', bytes: 724e6, note: 'better text, still quick' },
  { id: 'Qwen/Qwen2.5-0.5B-Instruct', parameters: '494M', bytes: 988e6, note: 'strong for its size; 150k-token vocabulary' },
  // 596M parameters in bf16 with the head tied to the embedding (151,936 x 1,024): computed from its config.json.
  { id: 'Qwen/Qwen3-0.6B', parameters: '596M', bytes: 1.19e9, note: 'Qwen3, 150k-token vocabulary; thinking is off (it answers directly)' },
  // Gemma 3, tied head (262,144 x 640 and x 1,152), from their config.json: 268M and 1.00B parameters in bf16.
  { id: 'google/gemma-3-270m-it', parameters: '268M', bytes: 536e6, note: 'gated: accept the license on the hub first; Gemma 3, made for task fine-tuning; 262k-token vocabulary' },
  { id: 'google/gemma-3-1b-it', parameters: '1.00B', bytes: 2.0e9, note: 'gated: accept the license on the hub first; Gemma 3, 262k-token vocabulary; needs a discrete GPU' },
  { id: 'meta-llama/Llama-3.2-1B-Instruct', parameters: '1.24B', bytes: 2.47e9, note: 'gated: accept the license on the hub first; needs a discrete GPU' },
];

/** A curated model's button: what it loads and what the click costs (the name after the owner, the size). */
export function loadLabel(m: CuratedModel): string {
  return `Load ${m.id.split('/').pop()} (${m.parameters} parameters, ${formatBytes(m.bytes)} download)`;
}

/** The built-in model: random weights in the Qwen2 layout, made in the worker; runs the whole flow in seconds. */
export const TINY_SOURCE = { kind: 'tiny', arch: 'qwen2', seed: 0 } as const;
