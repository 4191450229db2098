// What an adapter records beside its PEFT files: the base model (id and a hash of its weights, so it is never
// applied to another model), P's hash, the LoRA, training and synthesis settings, the dataset figures, the loss
// curve and the evaluation. The PG loss teaches the adapter to write P back out: it is as secret as P.
import type { LoraAdapter } from '../llama/peft';
import { exportPeft } from '../llama/peft';
import type { WeightIndex } from '../model/weights';

export const METADATA_FILE = 'genpi_adapter.json';

export interface AdapterMetadata {
  format: 'genpi-adapter';
  version: 1;
  created: string;
  base_model: { id: string; architecture: string; weight_hash: string; parameters: number };
  prompt: { sha256: string; chars: number; tokens: number };
  lora: { rank: number; alpha: number; dropout: number; targets: string[] };
  training: Record<string, unknown>;
  dataset: Record<string, unknown> | null;
  loss_curve: unknown[];
  evaluation: Record<string, unknown> | null;
  warning: string;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A 64-bit FNV-1a over every tensor's name, dtype, shape and bytes, in name order, read one tensor at a time. Not
 * cryptographic: it tells two sets of weights apart, which is its job, without holding the model in memory twice.
 */
export async function weightHash(weights: WeightIndex): Promise<string> {
  let lo = 0x84222325;
  let hi = 0xcbf29ce4;
  const eat = (bytes: Uint8Array) => {
    for (let i = 0; i < bytes.length; i++) {
      lo ^= bytes[i];
      // multiply the 64-bit state by the FNV prime 0x100000001b3 in two 32-bit halves
      const a = Math.imul(lo, 0x1b3) >>> 0;
      const carry = Math.floor(((lo >>> 0) * 0x1b3) / 2 ** 32);
      hi = (Math.imul(hi, 0x1b3) + (lo << 8) + carry) >>> 0;
      lo = a;
    }
  };
  for (const name of [...weights.tensors.keys()].sort()) {
    const t = weights.tensors.get(name)!;
    eat(new TextEncoder().encode(`${name}|${t.dtype}|${t.shape.join(',')}|`));
    eat((await weights.read(name)).bytes);
  }
  return `fnv1a64:${(hi >>> 0).toString(16).padStart(8, '0')}${(lo >>> 0).toString(16).padStart(8, '0')}`;
}

export function adapterFiles(adapter: LoraAdapter, meta: AdapterMetadata): Map<string, Uint8Array> {
  const files = exportPeft(adapter);
  files.set(METADATA_FILE, new TextEncoder().encode(JSON.stringify(meta, null, 2)));
  return files;
}

export const SECRET_WARNING = 'This adapter was trained to reproduce its prompt (the PG loss): anyone with it can recover the prompt. Keep it as secret as the prompt.';
