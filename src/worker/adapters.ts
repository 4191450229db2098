// The adapters the page sends with evaluate and chat calls, uploaded to one generator once each: they are keyed by
// a hash of their spec and params, so ten chat turns with the same adapter upload it once. A new generator starts
// with an empty cache (its adapters went with the old one).
import type { Generator } from '../llama/generator';
import { loraLayout, type LoraSpec } from '../llama/lora';
import type { LoraAdapter } from '../llama/peft';
import type { ModelConfig } from '../model/config';
import { ModelError } from '../model/errors';
import type { AdapterData } from './api';

/** Adapters kept on the GPU at once: the one being chatted with and the one just trained, typically. */
const KEEP = 2;

/** 64 bits over every word of the params (two independent 32-bit lanes); ~10 ms for a few million floats. */
export function adapterKey(spec: LoraSpec, params: Float32Array): string {
  const w = new Uint32Array(params.buffer, params.byteOffset, params.length);
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < w.length; i++) {
    a = Math.imul(a ^ w[i], 0x01000193);
    b = Math.imul(b ^ (b >>> 15), 0x85ebca6b) + w[i];
  }
  const hex = (x: number) => (x >>> 0).toString(16).padStart(8, '0');
  return `${JSON.stringify(spec)}|${params.length}|${hex(a)}${hex(b)}`;
}

/** An adapter the page sends to an export, laid out for the loaded model; one made for another model is refused. */
export function adapterFor(cfg: ModelConfig, adapter: AdapterData, baseModel: string): LoraAdapter {
  const layout = loraLayout(cfg, adapter.spec);
  if (layout.size !== adapter.params.length) {
    throw new ModelError('the adapter', `was made for another model: its ${adapter.params.length} values do not fit ${baseModel}, which needs ${layout.size}`);
  }
  return { layout, params: adapter.params, baseModel };
}

export class AdapterCache {
  /** key -> the adapter's name on the generator, least recently used first. */
  private readonly names = new Map<string, { name: string; adapter: LoraAdapter }>();
  private counter = 0;

  constructor(private readonly gen: Generator) {}

  /** The adapter under a name the generator knows, uploading it (and dropping the least recently used) if new. */
  use(data: AdapterData, baseModel: string): { name: string; adapter: LoraAdapter } {
    const key = adapterKey(data.spec, data.params);
    let entry = this.names.get(key);
    if (entry) {
      this.names.delete(key);
    } else {
      const adapter: LoraAdapter = { layout: loraLayout(this.gen.engine.cfg, data.spec), params: data.params, baseModel };
      entry = { name: `lora${++this.counter}`, adapter };
      // addAdapter refuses params that do not fit this model's layout before uploading anything.
      this.gen.addAdapter(entry.name, adapter);
      while (this.names.size >= KEEP) {
        const [oldest, old] = this.names.entries().next().value!;
        this.gen.removeAdapter(old.name);
        this.names.delete(oldest);
      }
    }
    this.names.set(key, entry);
    return entry;
  }
}
