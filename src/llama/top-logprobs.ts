// A teacher's targets for logit distillation: the top-K next-token log-probabilities of the frozen model (no
// adapter) at chosen positions of a sequence. The layers run once over the whole sequence; the LM head then runs on a
// few rows at a time and those [rows,V] logits come back for a top-K on the CPU (no kernel selects a top-K list), so
// memory stays bounded on 50k–150k vocabularies.
import { readF32, writeArray } from '../gpu/buffers';
import { Allocator } from './alloc';
import { allocLayerActs, allocScratch, type LlamaEngine } from './engine';
import { headLogits } from './head';
import { layerForward, type LayerActs, type Scratch } from './layer';
import { gather_rows } from './ops/gather';

/** Logits read back per round trip, in floats (16 MiB): a few dozen rows of a large vocabulary. */
const READ_FLOATS = 4 * 2 ** 20;

export interface TopK {
  K: number;
  ids: Uint32Array; // [N,K] by descending probability, lowest id first on ties
  logp: Float32Array; // [N,K] log-probabilities (log-softmax over the whole vocabulary, in float64)
}

/**
 * Row `r` of logits [rows,V]: its K most likely ids and their log-probs, written at row `out` of `dst`. One pass for
 * the log-sum-exp, one for the selection (a sorted list of K that a new value enters only above its last entry).
 */
export function topKRow(logits: Float32Array, r: number, V: number, dst: TopK, out: number): void {
  const { K } = dst;
  const base = r * V;
  let max = -Infinity;
  for (let v = 0; v < V; v++) if (logits[base + v] > max) max = logits[base + v];
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[base + v] - max);
  const lse = max + Math.log(sum);
  const vals = new Float64Array(K).fill(-Infinity);
  const ids = new Uint32Array(K);
  let n = 0;
  for (let v = 0; v < V; v++) {
    const x = logits[base + v];
    if (n === K && !(x > vals[K - 1])) continue;
    let j = n < K ? n++ : K - 1;
    // Strictly smaller entries move down, so an equal value keeps its earlier (lower) id ahead.
    while (j > 0 && vals[j - 1] < x) {
      vals[j] = vals[j - 1];
      ids[j] = ids[j - 1];
      j--;
    }
    vals[j] = x;
    ids[j] = v;
  }
  for (let k = 0; k < K; k++) {
    dst.ids[out * K + k] = ids[k];
    dst.logp[out * K + k] = vals[k] - lse;
  }
}

export class TopLogProbs {
  private readonly a: Allocator;
  private readonly rows: number;
  private readonly b: Record<'x0' | 'x1' | 'ids' | 'pos' | 'seqStart' | 'gatherIdx' | 'gathered' | 'nf' | 'rstdf' | 'logits', GPUBuffer> & { seqStartLocal?: GPUBuffer };
  private readonly acts: LayerActs;
  private readonly scratch: Scratch;

  /** Room for sequences of up to maxT tokens; `rowsPerRead` overrides the rows of logits per round trip (tests). */
  constructor(readonly engine: LlamaEngine, readonly maxT: number, readonly K: number, rowsPerRead?: number) {
    const cfg = engine.cfg;
    const V = cfg.vocabSize;
    if (!Number.isInteger(K) || K < 1 || K > V) throw new Error(`top-K must be 1..${V} (the vocabulary), got ${K}`);
    const C = cfg.hiddenSize;
    this.rows = Math.max(1, Math.min(maxT, rowsPerRead ?? Math.floor(READ_FLOATS / V)));
    const B = this.rows;
    this.a = new Allocator(engine.kernels.device);
    this.acts = allocLayerActs(this.a, cfg, maxT, null, 'teacher.acts');
    this.scratch = allocScratch(this.a, cfg, maxT, 0);
    // seqStart stays zero: one sequence from position 0.
    this.b = this.a.table({
      x0: maxT * C, x1: maxT * C, ids: maxT, pos: maxT, seqStart: maxT, gatherIdx: B, gathered: B * C, nf: B * C, rstdf: B, logits: B * V,
      ...(cfg.gemma ? { seqStartLocal: maxT } : {}),
    } as Record<string, number>, 'teacher') as TopLogProbs['b'];
  }

  /** The top-K at each of `positions` (the distribution of the token after it) of the sequence `ids`. */
  async run(ids: ArrayLike<number>, positions: ArrayLike<number>): Promise<TopK> {
    const { engine, K } = this;
    const { kernels: k } = engine;
    const cfg = engine.cfg;
    const T = ids.length;
    engine.checkTokens(ids, 'teacher sequence');
    if (T > this.maxT) throw new Error(`teacher sequence of ${T} tokens; this scorer was sized for ${this.maxT}`);
    for (let i = 0; i < positions.length; i++) {
      if (!(positions[i] >= 0 && positions[i] < T)) throw new Error(`teacher position ${positions[i]} is outside the sequence of ${T} tokens`);
    }
    writeArray(k.device, this.b.ids, Uint32Array.from(ids));
    writeArray(k.device, this.b.pos, Uint32Array.from({ length: T }, (_, i) => i));
    const xs = [this.b.x0, this.b.x1];
    const bb = engine.batch(T, this.b.pos, this.b.seqStart, new Uint32Array(T), this.b.seqStartLocal);
    await k.run('teacher.layers', async (pass) => {
      await engine.embed(pass, this.b.ids, xs[0], T);
      for (let l = 0; l < cfg.numLayers; l++) {
        await layerForward(k, pass, cfg, engine.weights.layers[l], l, xs[l % 2], xs[(l + 1) % 2], this.acts, this.scratch, bb, () => null);
      }
    });
    const final = xs[cfg.numLayers % 2];
    const N = positions.length;
    const out: TopK = { K, ids: new Uint32Array(N * K), logp: new Float32Array(N * K) };
    const V = cfg.vocabSize;
    for (let r0 = 0; r0 < N; r0 += this.rows) {
      const B = Math.min(this.rows, N - r0);
      writeArray(k.device, this.b.gatherIdx, Uint32Array.from({ length: B }, (_, i) => positions[r0 + i]));
      await k.run('teacher.head', async (pass) => {
        await gather_rows(k, pass, { x: final, idx: this.b.gatherIdx, out: this.b.gathered, B, C: cfg.hiddenSize });
        await headLogits(k, pass, { cfg, weights: engine.weights, T: B }, this.b.gathered, this.b.nf, this.b.rstdf, this.b.logits);
      });
      const logits = await readF32(k.device, this.b.logits, B * V);
      for (let r = 0; r < B; r++) topKRow(logits, r, V, out, r0 + r);
    }
    return out;
  }

  destroy(): void {
    this.a.destroy();
  }
}
