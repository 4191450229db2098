// A teacher's targets for logit distillation: the top-K next-token log-probabilities of the frozen model (no
// adapter) at chosen positions of a sequence. The layers run once over the whole sequence; the LM head then runs on a
// few rows at a time (memory stays bounded on 50k–260k vocabularies) and top_log_probs selects each row's top-K on
// the GPU, so only [positions,K] ids and log-probs come back: 8·K bytes per position instead of 4·V.
import { readBuffer, writeArray } from '../gpu/buffers';
import { Allocator } from './alloc';
import { allocLayerActs, allocScratch, type LlamaEngine } from './engine';
import { headLogits } from './head';
import { layerForward, type LayerActs, type Scratch } from './layer';
import { gather_rows } from './ops/gather';
import { teacherBuffers, teacherHeadRows } from './planner';
import { top_log_probs, TOP_LOG_PROBS_MAX_K } from './ops/top_log_probs';

export interface TopK {
  K: number;
  ids: Uint32Array; // [N,K] by descending probability, lowest id first on ties
  logp: Float32Array; // [N,K] log-probabilities (log-softmax over the whole vocabulary, on the GPU in f32)
}

export class TopLogProbs {
  private readonly a: Allocator;
  private readonly rows: number;
  private readonly b: Record<'x0' | 'x1' | 'ids' | 'pos' | 'seqStart' | 'gatherIdx' | 'gathered' | 'nf' | 'rstdf' | 'logits' | 'topIds' | 'topLogp', GPUBuffer> & { seqStartLocal?: GPUBuffer };
  private readonly acts: LayerActs;
  private readonly scratch: Scratch;

  /** Bytes read back to the CPU so far: the [positions,K] ids and log-probs, nothing per vocabulary entry. */
  bytesRead = 0;

  /** Room for sequences of up to maxT tokens; `rowsPerHead` overrides the rows of logits per LM head run (tests). */
  constructor(readonly engine: LlamaEngine, readonly maxT: number, readonly K: number, rowsPerHead?: number) {
    const cfg = engine.cfg;
    const V = cfg.vocabSize;
    const most = Math.min(V, TOP_LOG_PROBS_MAX_K);
    if (!Number.isInteger(K) || K < 1 || K > most) throw new Error(`top-K must be 1..${most} (the vocabulary, and the GPU selection's limit), got ${K}`);
    this.rows = rowsPerHead === undefined ? teacherHeadRows(cfg, maxT) : Math.max(1, Math.min(maxT, rowsPerHead));
    this.a = new Allocator(engine.kernels.device);
    this.acts = allocLayerActs(this.a, cfg, maxT, null, 'teacher.acts');
    this.scratch = allocScratch(this.a, cfg, maxT, 0);
    // seqStart stays zero: one sequence from position 0. The planner counts this same table (teacherPassBytes).
    this.b = this.a.table(teacherBuffers(cfg, maxT, this.rows, K), 'teacher') as TopLogProbs['b'];
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
    // Rounds of up to maxT positions (the outputs' rows), each read back once; the head runs on `rows` at a time.
    for (let c0 = 0; c0 < N; c0 += this.maxT) {
      const n = Math.min(this.maxT, N - c0);
      for (let r0 = c0; r0 < c0 + n; r0 += this.rows) {
        const B = Math.min(this.rows, c0 + n - r0);
        writeArray(k.device, this.b.gatherIdx, Uint32Array.from({ length: B }, (_, i) => positions[r0 + i]));
        await k.run('teacher.head', async (pass) => {
          await gather_rows(k, pass, { x: final, idx: this.b.gatherIdx, out: this.b.gathered, B, C: cfg.hiddenSize });
          await headLogits(k, pass, { cfg, weights: engine.weights, T: B }, this.b.gathered, this.b.nf, this.b.rstdf, this.b.logits);
          await top_log_probs(k, pass, { logits: this.b.logits, ids: this.b.topIds, logp: this.b.topLogp, R: B, V, K, row0: r0 - c0 });
        });
      }
      const [topIds, topLogp] = await Promise.all([
        readBuffer(k.device, this.b.topIds, n * K * 4),
        readBuffer(k.device, this.b.topLogp, n * K * 4),
      ]);
      out.ids.set(new Uint32Array(topIds), c0 * K);
      out.logp.set(new Float32Array(topLogp), c0 * K);
      this.bytesRead += topIds.byteLength + topLogp.byteLength;
    }
    return out;
  }

  destroy(): void {
    this.a.destroy();
  }
}
