// A teacher's targets for logit distillation: the top-K next-token log-probabilities of the frozen model (no
// adapter) at chosen positions of many sequences that all start with the same prefix (P through the chat template).
// The prefix's KV is computed once and kept in a KV cache; each sequence's own tokens then run against it, several
// sequences packed per pass, so the pass costs P once plus the records, not P per record. The LM head runs on a few
// rows at a time (memory stays bounded on 50k–260k vocabularies) and top_log_probs selects each row's top-K on the
// GPU, so only [positions,K] ids and log-probs come back: 8·K bytes per position instead of 4·V.
import { readBuffer, writeArray } from '../gpu/buffers';
import { Allocator } from './alloc';
import { cachedLayers } from './cached-forward';
import { allocLayerActs, type LlamaEngine } from './engine';
import { headLogits } from './head';
import { KvCache } from './kv-cache';
import type { LayerActs } from './layer';
import { gather_rows } from './ops/gather';
import { top_log_probs, TOP_LOG_PROBS_MAX_K } from './ops/top_log_probs';
import { teacherBuffers, teacherLayout, type TeacherLayout } from './planner';

export interface TopK {
  K: number;
  ids: Uint32Array; // [N,K] by descending probability, lowest id first on ties
  logp: Float32Array; // [N,K] log-probabilities (log-softmax over the whole vocabulary, on the GPU in f32)
}

/** One sequence to score: its whole token ids (the shared prefix first) and the positions whose next token is scored. */
export interface TeacherSequence {
  ids: ArrayLike<number>;
  positions: ArrayLike<number>;
}

/**
 * Tokens every sequence starts with, up to its first scored position: the prefix a TopLogProbs for them can share
 * (P through the chat template, and whatever the template opens each record with).
 */
export function sharedPrefixLength(seqs: readonly TeacherSequence[]): number {
  if (!seqs.length) return 0;
  const first = seqs[0].ids;
  let n = Infinity;
  for (const s of seqs) {
    n = Math.min(n, s.ids.length);
    for (let i = 0; i < s.positions.length; i++) n = Math.min(n, s.positions[i]);
  }
  for (const s of seqs) {
    let i = 0;
    while (i < n && s.ids[i] === first[i]) i++;
    n = i;
  }
  return n;
}

type Buffers = Record<'x0' | 'x1' | 'tmp' | 'ids' | 'pos' | 'meta' | 'seqStart' | 'gatherIdx' | 'gathered' | 'nf' | 'rstdf' | 'logits' | 'topIds' | 'topLogp', GPUBuffer>;

export class TopLogProbs {
  readonly layout: TeacherLayout;
  private readonly a: Allocator;
  private readonly cache: KvCache;
  private readonly b: Buffers;
  private readonly acts: LayerActs;
  private readonly prefix: number[];
  private prefilled = false;

  /** Bytes read back to the CPU so far: the [positions,K] ids and log-probs, nothing per vocabulary entry. */
  bytesRead = 0;
  /** Tokens run through the layers so far: the prefix once, then each sequence's own tokens. */
  tokensRun = 0;

  /**
   * Room for sequences that start with `prefix` and have up to `suffix` tokens after it; `rowsPerHead` overrides
   * the rows of logits per LM head run and `passTokens` the tokens per pass (tests: more runs and passes).
   */
  constructor(readonly engine: LlamaEngine, prefix: ArrayLike<number>, suffix: number, readonly K: number, o: { rowsPerHead?: number; passTokens?: number } = {}) {
    const cfg = engine.cfg;
    const most = Math.min(cfg.vocabSize, TOP_LOG_PROBS_MAX_K);
    if (!Number.isInteger(K) || K < 1 || K > most) throw new Error(`top-K must be 1..${most} (the vocabulary, and the GPU selection's limit), got ${K}`);
    if (prefix.length) engine.checkTokens(prefix, 'teacher prefix');
    this.prefix = Array.from(prefix);
    const t = teacherLayout(cfg, this.prefix.length, suffix);
    const maxT = o.passTokens === undefined ? t.maxT : Math.max(t.L, o.passTokens);
    const rows = o.rowsPerHead === undefined ? t.rows : Math.max(1, Math.min(maxT, o.rowsPerHead));
    this.layout = { ...t, maxT, rows, seqSlots: Math.max(1, Math.floor(maxT / t.L)) };
    this.a = new Allocator(engine.kernels.device);
    this.cache = new KvCache(engine.kernels.device, cfg, this.layout.seqSlots, this.layout.prefixSlots, this.layout.L);
    try {
      this.acts = allocLayerActs(this.a, cfg, maxT, null, 'teacher.acts');
      // The planner counts this same table (teacherPassBytes).
      this.b = this.a.table(teacherBuffers(cfg, maxT, rows, K), 'teacher') as Buffers;
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  /** GPU memory this pass holds besides the weights (what teacherPassBytes plans). */
  get bytes(): number {
    return this.a.bytes + this.cache.bytes;
  }

  /** Runs tokens through the layers: meta rows (slot, pos, prefixSlot, prefixLen) and RoPE positions per token. */
  private async layers(ids: number[], pos: number[], meta: number[]): Promise<GPUBuffer> {
    const { kernels: k } = this.engine;
    const d = k.device;
    writeArray(d, this.b.ids, Uint32Array.from(ids));
    writeArray(d, this.b.pos, Uint32Array.from(pos));
    writeArray(d, this.b.meta, Uint32Array.from(meta));
    this.tokensRun += ids.length;
    let final: GPUBuffer | null = null;
    await k.run('teacher.layers', async (pass) => {
      final = await cachedLayers(this.engine, this.cache, pass, {
        T: ids.length, ids: this.b.ids, pos: this.b.pos, meta: this.b.meta, seqStart: this.b.seqStart, xs: [this.b.x0, this.b.x1],
        acts: this.acts, scratch: { tmp: this.b.tmp },
      }, () => null);
    });
    return final!;
  }

  /** The prefix's KV, once: chunks of a pass, token j at slot j / L, seeing the whole slots before its own. */
  private async prefill(): Promise<void> {
    const { L, maxT } = this.layout;
    for (let j0 = 0; j0 < this.prefix.length; j0 += maxT) {
      const n = Math.min(maxT, this.prefix.length - j0);
      const pos = Array.from({ length: n }, (_, i) => j0 + i);
      await this.layers(this.prefix.slice(j0, j0 + n), pos, pos.flatMap((j) => [Math.floor(j / L), j % L, 0, Math.floor(j / L) * L]));
    }
    this.prefilled = true;
  }

  /**
   * The top-K at each sequence's positions (the distribution of the token after each), in order. Every sequence
   * must start with the prefix and every position must be at or after its end.
   */
  async run(seqs: readonly TeacherSequence[]): Promise<TopK[]> {
    const K = this.K;
    const out: TopK[] = seqs.map((s) => ({ K, ids: new Uint32Array(s.positions.length * K), logp: new Float32Array(s.positions.length * K) }));
    await this.passes(seqs, async (final, rows, members) => {
      const got = await this.head(final, rows);
      let r0 = 0;
      for (const i of members) {
        const n = seqs[i].positions.length * K;
        out[i].ids.set(got.ids.subarray(r0, r0 + n));
        out[i].logp.set(got.logp.subarray(r0, r0 + n));
        r0 += n;
      }
    });
    return out;
  }

  /**
   * The whole logits [positions,V] at each sequence's positions, read back a head run at a time: for evaluation's
   * KL over the full vocabulary, where V floats per position are wanted (training reads only the top-K, run()).
   */
  async logits(seqs: readonly TeacherSequence[]): Promise<Float32Array[]> {
    const { kernels: k, cfg } = this.engine;
    const V = cfg.vocabSize;
    const out = seqs.map((s) => new Float32Array(s.positions.length * V));
    await this.passes(seqs, async (final, rows, members) => {
      const owner = members.flatMap((i) => Array.from(seqs[i].positions, (_, r) => [i, r]));
      for (let r0 = 0; r0 < rows.length; r0 += this.layout.rows) {
        const B = Math.min(this.layout.rows, rows.length - r0);
        writeArray(k.device, this.b.gatherIdx, Uint32Array.from(rows.slice(r0, r0 + B)));
        await k.run('teacher.head', async (pass) => {
          await gather_rows(k, pass, { x: final, idx: this.b.gatherIdx, out: this.b.gathered, B, C: cfg.hiddenSize });
          await headLogits(k, pass, { cfg, weights: this.engine.weights, T: B }, this.b.gathered, this.b.nf, this.b.rstdf, this.b.logits);
        });
        const got = new Float32Array(await readBuffer(k.device, this.b.logits, B * V * 4));
        this.bytesRead += got.byteLength;
        for (let b = 0; b < B; b++) {
          const [i, r] = owner[r0 + b];
          out[i].set(got.subarray(b * V, (b + 1) * V), r * V);
        }
      }
    });
    return out;
  }

  /**
   * The sequences' own tokens through the layers behind the prefix (prefilled first, once), whole sequences per
   * pass, up to seqSlots of them and maxT tokens; `onPass` gets the last layer's output, the rows of each scored
   * position in it (in sequence order, then position order) and which sequences the pass held.
   */
  private async passes(seqs: readonly TeacherSequence[], onPass: (final: GPUBuffer, rows: number[], members: number[]) => Promise<void>): Promise<void> {
    const { maxT, seqSlots, prefixSlots } = this.layout;
    const P = this.prefix.length;
    seqs.forEach((s, i) => this.check(s, `teacher sequence ${i}`));
    if (!this.prefilled) await this.prefill();
    for (let i0 = 0; i0 < seqs.length;) {
      const ids: number[] = [];
      const pos: number[] = [];
      const meta: number[] = [];
      const rows: number[] = [];
      const members: number[] = [];
      for (let i = i0; i < seqs.length && members.length < seqSlots && ids.length + seqs[i].ids.length - P <= maxT; i++) {
        const s = seqs[i];
        const at = ids.length;
        for (let j = P; j < s.ids.length; j++) {
          ids.push(s.ids[j]);
          pos.push(j);
          meta.push(prefixSlots + members.length, j - P, 0, P);
        }
        for (let r = 0; r < s.positions.length; r++) rows.push(at + s.positions[r] - P);
        members.push(i);
      }
      i0 += members.length;
      if (!ids.length) continue; // nothing after the prefix, so no position to score
      await onPass(await this.layers(ids, pos, meta), rows, members);
    }
  }

  private check(s: TeacherSequence, what: string): void {
    const P = this.prefix.length;
    this.engine.checkTokens(s.ids, what);
    if (s.ids.length - P > this.layout.L) throw new Error(`${what} has ${s.ids.length - P} tokens after the prefix; this scorer was sized for ${this.layout.L}`);
    for (let j = 0; j < P; j++) if (s.ids[j] !== this.prefix[j]) throw new Error(`${what} does not start with the shared prefix (token ${j} differs)`);
    for (let i = 0; i < s.positions.length; i++) {
      const t = s.positions[i];
      if (!(t >= P && t < s.ids.length)) throw new Error(`${what}: position ${t} is outside its ${s.ids.length - P} tokens after the ${P}-token prefix`);
    }
  }

  /** LM head and top-K over rows of `final`, `rows` at a time, read back once: [rows,K] ids and log-probs. */
  private async head(final: GPUBuffer, idx: number[]): Promise<{ ids: Uint32Array; logp: Float32Array }> {
    const { engine, K } = this;
    const { kernels: k, cfg } = engine;
    const N = idx.length;
    const R = this.layout.rows;
    if (!N) return { ids: new Uint32Array(0), logp: new Float32Array(0) };
    for (let r0 = 0; r0 < N; r0 += R) {
      const B = Math.min(R, N - r0);
      writeArray(k.device, this.b.gatherIdx, Uint32Array.from(idx.slice(r0, r0 + B)));
      await k.run('teacher.head', async (pass) => {
        await gather_rows(k, pass, { x: final, idx: this.b.gatherIdx, out: this.b.gathered, B, C: cfg.hiddenSize });
        await headLogits(k, pass, { cfg, weights: engine.weights, T: B }, this.b.gathered, this.b.nf, this.b.rstdf, this.b.logits);
        await top_log_probs(k, pass, { logits: this.b.logits, ids: this.b.topIds, logp: this.b.topLogp, R: B, V: cfg.vocabSize, K, row0: r0 });
      });
    }
    const [ids, logp] = await Promise.all([readBuffer(k.device, this.b.topIds, N * K * 4), readBuffer(k.device, this.b.topLogp, N * K * 4)]);
    this.bytesRead += ids.byteLength + logp.byteLength;
    return { ids: new Uint32Array(ids), logp: new Float32Array(logp) };
  }

  destroy(): void {
    this.a.destroy();
    this.cache?.destroy();
  }
}
