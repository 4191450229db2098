// The KV cache for generation: per layer one K and one V buffer [S, L, KV, D] of S slots of L tokens. The first
// slots hold shared prefixes (a long prompt P prefilled once, reused by every request and every turn that starts
// with it); the others hold one sequence each and are reused as sequences finish.
import { Allocator } from './alloc';
import type { ModelConfig } from '../model/config';

export interface CacheShape {
  S: number; // slots in all
  L: number; // tokens per slot
}

export interface PrefixEntry {
  slot: number;
  tokens: number[];
  adapter: string | null;
  users: number;
  lastUsed: number;
}

export class KvCache {
  readonly k: GPUBuffer[]; // per layer [S,L,KV,D]
  readonly v: GPUBuffer[];
  private readonly free: number[];
  private readonly prefixes = new Map<string, PrefixEntry>();
  private readonly prefixFree: number[];
  private clock = 0;
  private readonly a: Allocator;

  constructor(device: GPUDevice, cfg: ModelConfig, readonly sequenceSlots: number, readonly prefixSlots: number, readonly L: number) {
    const S = sequenceSlots + prefixSlots;
    const per = S * L * cfg.numKvHeads * cfg.headDim;
    const bytes = per * 4;
    if (bytes > device.limits.maxStorageBufferBindingSize) {
      throw new Error(`KV cache: ${S} slots x ${L} tokens need ${bytes} bytes per layer, over the adapter's binding limit of ` +
        `${device.limits.maxStorageBufferBindingSize}; use fewer slots or a shorter slot length`);
    }
    this.a = new Allocator(device);
    this.k = Array.from({ length: cfg.numLayers }, (_, l) => this.a.floats(per, `kv.k${l}`));
    this.v = Array.from({ length: cfg.numLayers }, (_, l) => this.a.floats(per, `kv.v${l}`));
    this.prefixFree = Array.from({ length: prefixSlots }, (_, i) => i);
    this.free = Array.from({ length: sequenceSlots }, (_, i) => prefixSlots + i);
  }

  get shape(): CacheShape {
    return { S: this.sequenceSlots + this.prefixSlots, L: this.L };
  }

  get bytes(): number {
    return this.a.bytes;
  }

  get freeSlots(): number {
    return this.free.length;
  }

  takeSlot(): number {
    const s = this.free.pop();
    if (s === undefined) throw new Error('KV cache: no free sequence slot');
    return s;
  }

  releaseSlot(slot: number): void {
    this.free.push(slot);
  }

  private key(tokens: number[], adapter: string | null): string {
    return `${adapter ?? ''}|${tokens.length}|${tokens.join(',')}`;
  }

  /** The cached prefix for these tokens and adapter (its KV depends on both), counting a new user. */
  usePrefix(tokens: number[], adapter: string | null): PrefixEntry | undefined {
    const e = this.prefixes.get(this.key(tokens, adapter));
    if (e) {
      e.users++;
      e.lastUsed = ++this.clock;
    }
    return e;
  }

  /** A slot for a new prefix, evicting the least recently used prefix nobody is using; undefined when all are busy. */
  addPrefix(tokens: number[], adapter: string | null): PrefixEntry | undefined {
    let slot = this.prefixFree.pop();
    if (slot === undefined) {
      const idle = [...this.prefixes.entries()].filter(([, e]) => e.users === 0).sort((x, y) => x[1].lastUsed - y[1].lastUsed)[0];
      if (!idle) return undefined;
      this.prefixes.delete(idle[0]);
      slot = idle[1].slot;
    }
    const e: PrefixEntry = { slot, tokens: [...tokens], adapter, users: 1, lastUsed: ++this.clock };
    this.prefixes.set(this.key(tokens, adapter), e);
    return e;
  }

  releasePrefix(e: PrefixEntry): void {
    e.users--;
  }

  /** Forgets the prefixes made with an adapter (its weights changed or it was removed). */
  dropPrefixes(adapter: string | null): void {
    for (const [key, e] of this.prefixes) {
      if (e.adapter === adapter && e.users === 0) {
        this.prefixes.delete(key);
        this.prefixFree.push(e.slot);
      }
    }
  }

  destroy(): void {
    this.a.destroy();
  }
}
