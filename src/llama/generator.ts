// Generation for many requests at once: continuous batching over KV-cache slots (a finished sequence's slot goes
// to the next waiting request), shared prefixes prefilled once, a LoRA adapter (or none) per request switched
// without touching the base weights, stop tokens and stop strings, streaming, and cancellation.
import { storageBuffer } from '../gpu/buffers';
import { ModelError } from '../model/errors';
import type { Tokenizer } from '../model/tokenizer';
import type { LlamaEngine } from './engine';
import { loraFor, NonFiniteLogitsError } from './engine';
import { InferencePass, type Segment } from './infer';
import { KvCache, type PrefixEntry } from './kv-cache';
import { LORA_TARGETS, loraLayout, type LoraLayout } from './lora';
import type { LoraAdapter } from './peft';
import { TextStream } from './text-stream';

export interface GenRequest {
  /** Tokens after the prefix (the whole prompt when there is none). */
  prompt: number[];
  /** A shared prefix (e.g. the templated prompt P): prefilled once per adapter and reused. */
  prefix?: number[];
  /** A name given to addAdapter, or null/undefined for the base model. */
  adapter?: string | null;
  maxNewTokens?: number;
  temperature?: number; // 0 (default) = greedy
  topK?: number;
  topP?: number;
  /** Drops tokens under minP times the top token's probability (sampling-settings.ts); 0 (default) = off. */
  minP?: number;
  seed?: number;
  /** Default: the model's EOS ids and the tokenizer's end-of-turn ids. */
  stopTokenIds?: number[];
  stopStrings?: string[];
  /** Called per token with the text that became final (stop-string look-ahead is held back). */
  onToken?: (token: number, text: string) => void;
  /** Called once when the request is done (stopped, cut or cancelled), so a batch can report progress per request. */
  onFinish?: () => void;
  signal?: AbortSignal;
}

export type FinishReason = 'stop_token' | 'stop_string' | 'length' | 'cancelled';

export interface GenResult {
  tokens: number[]; // generated ids (a stop token included)
  text: string; // decoded, special tokens and anything from a stop string on removed
  finishReason: FinishReason;
}

export interface GeneratorOptions {
  /** Sequences decoded together. */
  slots?: number;
  /** Tokens per slot (prompt + generated); also the longest prefix. */
  slotLength?: number;
  prefixSlots?: number;
  /** Tokens per forward pass (prefill is chunked to this). */
  maxTokensPerPass?: number;
  tokenizer?: Tokenizer;
}

interface State {
  req: GenRequest;
  index: number;
  slot: number;
  prefix: PrefixEntry | null;
  prompt: number[]; // what goes into the own slot (the prefix tokens too when no prefix slot was free)
  generated: number[];
  maxNew: number;
  stops: Set<number>;
  text: TextStream;
  done?: GenResult;
}

export class Generator {
  readonly cache: KvCache;
  private pass: InferencePass;
  private readonly adapters = new Map<string, { layout: LoraLayout; params: GPUBuffer }>();
  private readonly slotLength: number;

  constructor(readonly engine: LlamaEngine, readonly opts: GeneratorOptions = {}) {
    const cfg = engine.cfg;
    this.slotLength = Math.min(opts.slotLength ?? 1024, cfg.maxPositionEmbeddings);
    this.cache = new KvCache(engine.kernels.device, cfg, opts.slots ?? 16, opts.prefixSlots ?? 2, this.slotLength);
    this.pass = new InferencePass(engine, this.cache, opts.maxTokensPerPass ?? 512, null);
  }

  /** Loads (or replaces) an adapter; refuses one made for another model before uploading anything. */
  addAdapter(name: string, adapter: LoraAdapter): void {
    const expected = loraLayout(this.engine.cfg, adapter.layout.spec);
    const fits = expected.size === adapter.params.length && expected.slots.every((s, i) => s.K === adapter.layout.slots[i]?.K && s.N === adapter.layout.slots[i]?.N);
    if (!fits) {
      throw new ModelError(`adapter "${name}"`, `was made for another model: its shapes do not fit ${this.engine.cfg.architecture} with hidden size ${this.engine.cfg.hiddenSize} and ${this.engine.cfg.numLayers} layers`);
    }
    this.removeAdapter(name);
    this.adapters.set(name, { layout: expected, params: storageBuffer(this.engine.kernels.device, adapter.params, `adapter.${name}`) });
    const rank = Math.max(...[...this.adapters.values()].map((a) => a.layout.spec.rank));
    if (rank > (this.passRank ?? 0)) this.rebuildPass(rank);
  }

  removeAdapter(name: string): void {
    const a = this.adapters.get(name);
    if (!a) return;
    a.params.destroy();
    this.adapters.delete(name);
    this.cache.dropPrefixes(name);
  }

  private passRank: number | undefined;
  private rebuildPass(rank: number): void {
    this.pass.destroy();
    this.pass = new InferencePass(this.engine, this.cache, this.pass.maxT, { rank, targets: LORA_TARGETS });
    this.passRank = rank;
  }

  /**
   * Why a request of these tokens cannot run here (over the model's context or this generator's slot), or null when
   * it can: a caller that can do without a request skips it rather than failing the whole batch.
   */
  tooLong(r: Pick<GenRequest, 'prompt' | 'prefix'>): string | null {
    const total = (r.prefix?.length ?? 0) + r.prompt.length;
    const context = this.engine.cfg.maxPositionEmbeddings;
    if (total >= context) return `the prompt has ${total} tokens; the model's context is ${context}, which leaves no room to generate`;
    if ((r.prefix?.length ?? 0) > this.slotLength || r.prompt.length >= this.slotLength) {
      return `the prompt (${r.prompt.length} tokens) or prefix (${r.prefix?.length ?? 0}) does not fit a cache slot of ${this.slotLength} tokens, ` +
        'the length this job sized its slots to from its settings; use a shorter input or prompt';
    }
    return null;
  }

  /** Checks every request before any GPU work: lengths against the context and the slot, adapter, tokens. */
  private check(reqs: GenRequest[]): void {
    reqs.forEach((r, i) => {
      const what = `request ${i}`;
      this.engine.checkVocab(r.prompt, `${what} prompt`);
      if (r.prefix?.length) this.engine.checkVocab(r.prefix, `${what} prefix`);
      const long = this.tooLong(r);
      if (long) throw new ModelError(what, long);
      if (r.adapter && !this.adapters.has(r.adapter)) throw new ModelError(what, `no adapter named "${r.adapter}" is loaded`);
      if (r.stopStrings?.length && !this.opts.tokenizer) throw new ModelError(what, 'stop strings need a tokenizer');
    });
  }

  async generate(reqs: GenRequest[]): Promise<GenResult[]> {
    this.check(reqs);
    const cfg = this.engine.cfg;
    const tok = this.opts.tokenizer;
    const defaultStops = [...new Set([...cfg.eosTokenIds, ...(tok?.endOfTurnIds ?? []), ...(tok?.eosTokenIds ?? [])])];
    const states: State[] = reqs.map((req, index) => ({
      req, index, slot: -1, prefix: null, prompt: req.prompt, generated: [],
      maxNew: req.maxNewTokens ?? 256, stops: new Set(req.stopTokenIds ?? defaultStops),
      text: new TextStream(tok, req.stopStrings ?? []),
    }));
    const queue = [...states];
    const active: State[] = [];
    try {
      while (queue.length || active.length) {
        const admitted: State[] = [];
        const fresh = new Set<PrefixEntry>();
        while (queue.length && this.cache.freeSlots > 0) {
          const st = queue.shift()!;
          if (st.req.signal?.aborted) this.finish(st, 'cancelled');
          else admitted.push(this.admit(st, fresh));
        }
        if (!admitted.length && !active.length && queue.length) throw new Error('generator: no free slot and nothing running');
        await this.prefill(admitted, [...fresh]);
        await this.decode(active.filter((s) => !s.done));
        // Admitted requests join the running ones, even those done in prefill, so every slot is released below.
        active.push(...admitted);
        for (let i = active.length - 1; i >= 0; i--) {
          const st = active[i];
          if (!st.done && st.req.signal?.aborted) this.finish(st, 'cancelled');
          if (st.done) {
            this.release(st);
            active.splice(i, 1);
          }
        }
      }
    } finally {
      for (const st of active) this.release(st);
    }
    return states.map((s) => s.done!);
  }

  /** Gives the request a slot and its prefix; a prefix new to the cache is added to `fresh` for prefilling. */
  private admit(st: State, fresh: Set<PrefixEntry>): State {
    st.slot = this.cache.takeSlot();
    const p = st.req.prefix;
    if (p?.length) {
      const adapter = st.req.adapter ?? null;
      st.prefix = this.cache.usePrefix(p, adapter) ?? null;
      if (!st.prefix) {
        st.prefix = this.cache.addPrefix(p, adapter) ?? null;
        if (st.prefix) fresh.add(st.prefix);
        else st.prompt = [...p, ...st.req.prompt]; // every prefix slot busy: carry the prefix in the own slot
      }
    }
    // Whatever the prefix, the sequence cannot outgrow its slot or the context.
    const room = Math.min(this.slotLength - st.prompt.length, this.engine.cfg.maxPositionEmbeddings - (st.prefix?.tokens.length ?? 0) - st.prompt.length);
    st.maxNew = Math.max(0, Math.min(st.maxNew, room));
    return st;
  }

  private release(st: State): void {
    if (st.slot >= 0) this.cache.releaseSlot(st.slot);
    if (st.prefix) this.cache.releasePrefix(st.prefix);
    st.slot = -1;
    st.prefix = null;
  }

  private loraOf(adapter: string | null | undefined) {
    if (!adapter) return () => null;
    const a = this.adapters.get(adapter)!;
    return loraFor(a.layout, a.params, a.params, a.params);
  }

  /** Runs segments grouped by adapter and packed into passes; returns the sampled token of each sampling segment. */
  private async runSegments(items: { seg: Segment; adapter: string | null }[]): Promise<Map<Segment, number>> {
    const out = new Map<Segment, number>();
    const groups = new Map<string | null, Segment[]>();
    for (const { seg, adapter } of items) groups.set(adapter, [...(groups.get(adapter) ?? []), seg]);
    for (const [adapter, segs] of groups) {
      let batch: { piece: Segment; owner: Segment }[] = [];
      let tokens = 0;
      let samples = 0;
      const flush = async () => {
        if (!batch.length) return;
        const ids = await this.pass.run(batch.map((b) => b.piece), this.loraOf(adapter));
        // A broken model's NaN logits would otherwise sample some token (often a stop token) and end quietly.
        const bad = this.pass.lastNonFinite.find((n) => n > 0);
        if (bad) throw new NonFiniteLogitsError(bad, this.engine.cfg.vocabSize, 'at the next token', adapter ? `adapter "${adapter}"` : null);
        let i = 0;
        for (const b of batch) if (b.piece.sample) out.set(b.owner, ids[i++]);
        batch = [];
        tokens = samples = 0;
      };
      for (const seg of segs) {
        // A long prompt is cut into chunks of the pass size; its last chunk samples.
        for (let at = 0; at < seg.tokens.length; ) {
          const n = Math.min(this.pass.maxT - tokens, seg.tokens.length - at);
          const last = at + n === seg.tokens.length;
          batch.push({ owner: seg, piece: { ...seg, tokens: seg.tokens.slice(at, at + n), startPos: seg.startPos + at, sample: last ? seg.sample : null } });
          tokens += n;
          if (last && seg.sample) samples++;
          at += n;
          if (tokens === this.pass.maxT || samples === this.pass.maxB) await flush();
        }
      }
      await flush();
    }
    return out;
  }

  private settings(st: State) {
    const r = st.req;
    return { temperature: r.temperature ?? 0, topK: r.topK ?? 0, topP: r.topP ?? 1, minP: r.minP ?? 0, seed: r.seed ?? 0, step: st.generated.length };
  }

  private async prefill(admitted: State[], fresh: PrefixEntry[]): Promise<void> {
    if (!admitted.length) return;
    // New prefixes first: their KV must be in place before any prompt reads it.
    await this.runSegments(fresh.map((p) => ({ adapter: p.adapter, seg: { tokens: p.tokens, slot: p.slot, startPos: 0, prefixSlot: 0, prefixLen: 0, sample: null } })));
    const segs = admitted.map((st) => ({
      st,
      seg: {
        tokens: st.prompt, slot: st.slot, startPos: 0, prefixSlot: st.prefix?.slot ?? 0, prefixLen: st.prefix?.tokens.length ?? 0,
        sample: st.maxNew > 0 ? this.settings(st) : null,
      } as Segment,
    }));
    const ids = await this.runSegments(segs.map(({ st, seg }) => ({ seg, adapter: st.req.adapter ?? null })));
    for (const { st, seg } of segs) {
      if (st.maxNew === 0) this.finish(st, 'length');
      else this.accept(st, ids.get(seg)!);
    }
  }

  private async decode(stepping: State[]): Promise<void> {
    if (!stepping.length) return;
    const segs = stepping.map((st) => ({
      st,
      seg: {
        tokens: [st.generated.at(-1)!], slot: st.slot, startPos: st.prompt.length + st.generated.length - 1,
        prefixSlot: st.prefix?.slot ?? 0, prefixLen: st.prefix?.tokens.length ?? 0, sample: this.settings(st),
      } as Segment,
    }));
    const ids = await this.runSegments(segs.map(({ st, seg }) => ({ seg, adapter: st.req.adapter ?? null })));
    for (const { st, seg } of segs) this.accept(st, ids.get(seg)!);
  }

  private accept(st: State, token: number): void {
    st.generated.push(token);
    const stopString = st.text.push(token, st.stops.has(token));
    const emitted = st.text.takeFinal();
    st.req.onToken?.(token, emitted);
    if (st.stops.has(token)) this.finish(st, 'stop_token');
    else if (stopString) this.finish(st, 'stop_string');
    else if (st.generated.length >= st.maxNew) this.finish(st, 'length');
  }

  private finish(st: State, finishReason: FinishReason): void {
    if (st.done) return;
    const rest = st.text.flush();
    if (rest) st.req.onToken?.(-1, rest);
    st.done = { tokens: st.generated, text: st.text.text, finishReason };
    st.req.onFinish?.();
  }

  destroy(): void {
    for (const name of [...this.adapters.keys()]) this.removeAdapter(name);
    this.pass.destroy();
    this.cache.destroy();
  }
}
