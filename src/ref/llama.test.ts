// The whole-model reference checked by finite differences: d(loss)/d(LoRA params) from llama_backward equals the
// central difference of llama_forward's loss, on a micro model with every feature on (Qwen2 biases, Qwen3's per-head
// q/k norm with head_dim != hidden/heads, GQA, llama3 rope scaling, packed sequences, two loss groups, dropout with a
// fixed mask; Gemma 3's sandwich norms as 1 + w, GeGLU, query_pre_attn_scalar and a sliding window of 3 that the
// 5-token sequence crosses), and with the top-K distillation term.
import { describe, expect, it } from 'vitest';
import { loraLayout } from '../llama/lora';
import { parseModelConfig } from '../model/config';
import { Rng } from '../util/rng';
import { labelledCount, packGroups, type Sequence } from '../train/batch';
import { top_log_probs } from './top_log_probs';
import { llama_backward, llama_forward, type RefModel } from './llama';

const CLASS = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM', gemma3: 'Gemma3ForCausalLM' };
const GEMMA = {
  head_dim: 6, query_pre_attn_scalar: 5, sliding_window: 3, layer_types: ['sliding_attention', 'full_attention'],
  rope_local_base_freq: 100, hidden_activation: 'gelu_pytorch_tanh',
};

function microModel(arch: 'llama' | 'qwen2' | 'qwen3' | 'gemma3', seed: number): RefModel {
  const cfg = parseModelConfig({
    architectures: [CLASS[arch]], ...(arch === 'qwen3' ? { head_dim: 6 } : {}), ...(arch === 'gemma3' ? GEMMA : {}),
    hidden_size: 8, intermediate_size: 12,
    num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, rms_norm_eps: 1e-5, vocab_size: 11,
    max_position_embeddings: 64, tie_word_embeddings: arch === 'llama', rope_theta: 10000,
    rope_scaling: arch === 'llama' ? { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 4 } : null,
  });
  const rng = new Rng(seed);
  const t = (n: number, std = 0.5) => Float64Array.from({ length: n }, () => std * rng.normal());
  // Gemma stores its norms as w in 1 + w.
  const ones = (n: number) => Float64Array.from({ length: n }, () => (arch === 'gemma3' ? 0 : 1) + 0.1 * rng.normal());
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: F, vocabSize: V } = cfg;
  const bias = (n: number) => (cfg.attentionBias ? t(n, 0.1) : null);
  const embed = t(V * C, 1);
  return {
    cfg, embed, norm: ones(C), lmHead: cfg.tieWordEmbeddings ? embed : t(V * C),
    layers: Array.from({ length: cfg.numLayers }, () => ({
      inNorm: ones(C), postNorm: ones(C), q: t(H * D * C), k: t(KV * D * C), v: t(KV * D * C), o: t(C * H * D),
      qBias: bias(H * D), kBias: bias(KV * D), vBias: bias(KV * D), oBias: null,
      qNorm: cfg.qkNorm ? ones(D) : null, kNorm: cfg.qkNorm ? ones(D) : null,
      preFfNorm: cfg.gemma ? ones(C) : null, postFfNorm: cfg.gemma ? ones(C) : null,
      gate: t(F * C), up: t(F * C), down: t(C * F),
    })),
  };
}

describe.each(['llama', 'qwen2', 'qwen3', 'gemma3'] as const)('%s', (arch) => {
  it('llama_backward equals finite differences of llama_forward', () => {
    const m = microModel(arch, 3);
    const layout = loraLayout(m.cfg, { rank: 2, alpha: 4, dropout: 0.25, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] });
    const rng = new Rng(8);
    const params = Float64Array.from({ length: layout.size }, () => 0.3 * rng.normal());
    const batch = packGroups([
      { weight: 0.7, sequences: [{ input_ids: [1, 4, 9, 2], labels: [-100, 4, 9, 2] }, { input_ids: [3, 3], labels: [3, 3] }] },
      { weight: 0.3, sequences: [{ input_ids: [5, 6, 7, 8, 10], labels: [-100, -100, 7, 8, 10] }] },
    ]);
    const lora = { layout, params, dropoutSeed: 77 };
    const grads = llama_backward(m, lora, batch, llama_forward(m, lora, batch));
    const h = 1e-6;
    let worst = 0;
    for (let i = 0; i < layout.size; i++) {
      const save = params[i];
      params[i] = save + h;
      const up = llama_forward(m, lora, batch).loss;
      params[i] = save - h;
      const down = llama_forward(m, lora, batch).loss;
      params[i] = save;
      const fd = (up - down) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - grads[i]) / Math.max(1e-3, Math.abs(fd)));
    }
    console.log(`${arch}: ${layout.size} LoRA gradients, worst relative difference from finite differences ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
    expect(Math.max(...grads.map(Math.abs))).toBeGreaterThan(1e-3);
  });
});

describe('with the top-K distillation term', () => {
  it('llama_backward equals finite differences of llama_forward (CE groups + KL on the SFT tokens)', () => {
    const m = microModel('qwen2', 5);
    const layout = loraLayout(m.cfg, { rank: 2, alpha: 4, dropout: 0, targets: ['q', 'v', 'o', 'down'] });
    const rng = new Rng(9);
    const params = Float64Array.from({ length: layout.size }, () => 0.3 * rng.normal());
    const K = 3;
    const V = m.cfg.vocabSize;
    // Teacher targets: the top-K of random teacher logits, one row per labelled prediction.
    const withTeacher = (s: Sequence): Sequence => {
      const n = labelledCount(s);
      const ids = new Uint32Array(n * K);
      const logp = new Float32Array(n * K);
      for (let r = 0; r < n; r++) {
        const top = top_log_probs(Array.from({ length: V }, () => 2 * rng.normal()), K);
        ids.set(top.ids, r * K);
        logp.set(top.logp, r * K);
      }
      return { ...s, teacher: { K, ids, logp } };
    };
    const sft = [withTeacher({ input_ids: [1, 4, 9, 2], labels: [-100, 4, 9, 2] }), withTeacher({ input_ids: [3, 3, 7], labels: [-100, 3, 7] })];
    const batch = packGroups([
      { weight: 0.7, sequences: sft },
      { weight: 0.3, sequences: [{ input_ids: [5, 6, 7, 8, 10], labels: [-100, -100, 7, 8, 10] }] },
      { weight: 1.5, sequences: sft, kind: 'kl' },
    ]);
    const lora = { layout, params };
    const fwd = llama_forward(m, lora, batch);
    expect(fwd.klLoss).toBeGreaterThan(0.05);
    const grads = llama_backward(m, lora, batch, fwd);
    const h = 1e-6;
    let worst = 0;
    for (let i = 0; i < layout.size; i++) {
      const save = params[i];
      params[i] = save + h;
      const up = llama_forward(m, lora, batch).loss;
      params[i] = save - h;
      const down = llama_forward(m, lora, batch).loss;
      params[i] = save;
      const fd = (up - down) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - grads[i]) / Math.max(1e-3, Math.abs(fd)));
    }
    console.log(`with KL: ${layout.size} LoRA gradients, worst relative difference from finite differences ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
  });
});
