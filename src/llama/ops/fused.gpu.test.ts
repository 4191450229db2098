// The fused input halves of a decoder layer (shaders/fused.wgsl) on Dawn against their float64 references: T = 1,
// between the rounded row counts, and the bound; K not a multiple of the 64-way split; q, k and v of different
// widths (grouped-query attention), N not a multiple of the columns per workgroup; f32 and f16 weights.
import { describe, expect, it } from 'vitest';
import { expectMatches, kernelSuite, read, scaled, upload, zeros } from '../../gpu/testing';
import * as ref from '../../ref/fused';
import { FUSED_ROWS_MAX, mlp_gate_forward_rows, qkv_forward_rows } from './fused';

// Sums over K = 70 products of O(1) values after a norm: f32 rounding a few 1e-7 of the output's scale.
const TOL = { rel: 1e-5, floor: 1 };

for (const f16 of [false, true]) {
  describe(`fused layer halves (${f16 ? 'f16' : 'f32'} weights)`, () => {
    const suite = kernelSuite(f16);
    const [K, Nq, Nk, N, eps] = [70, 96, 33, 131, 1e-5];

    for (const T of [1, 5, 19, FUSED_ROWS_MAX]) {
      it(`qkv_forward_rows and mlp_gate_forward_rows T=${T}`, async () => {
        const k = suite.kernels;
        const x = scaled(T * K, 50 + T, 2, 0.3); // off-centre, so the norm's scale matters
        const norm = suite.weight(scaled(K, 51, 0.5, 1), 'norm');
        const [wq, wk, wv] = [suite.weight(scaled(Nq * K, 52, 1), 'wq'), suite.weight(scaled(Nk * K, 53, 1), 'wk'), suite.weight(scaled(Nk * K, 54, 1), 'wv')];
        const [wg, wu] = [suite.weight(scaled(N * K, 55, 1), 'wg'), suite.weight(scaled(N * K, 56, 1), 'wu')];
        const xb = suite.keep(upload(k, x));
        const [q, kk, v, h] = [T * Nq, T * Nk, T * Nk, T * N].map((n) => suite.keep(zeros(k, n)));
        await k.run('fused', async (pass) => {
          await qkv_forward_rows(k, pass, { x: xb, norm: norm.buf, eps, T, K, wq: wq.buf, wk: wk.buf, wv: wv.buf, q, k: kk, v, Nq, Nk, Nv: Nk });
          await mlp_gate_forward_rows(k, pass, { x: xb, norm: norm.buf, eps, T, K, wg: wg.buf, wu: wu.buf, h, N });
        });
        const want = ref.qkv_forward(x, norm.ref, eps, wq.ref, wk.ref, wv.ref, T, K, Nq, Nk, Nk);
        expectMatches(`qkv_forward_rows.q T=${T}`, await read(k, q, T * Nq), want.q, TOL);
        expectMatches(`qkv_forward_rows.k T=${T}`, await read(k, kk, T * Nk), want.k, TOL);
        expectMatches(`qkv_forward_rows.v T=${T}`, await read(k, v, T * Nk), want.v, TOL);
        expectMatches(`mlp_gate_forward_rows.h T=${T}`, await read(k, h, T * N), ref.mlp_gate_forward(x, norm.ref, eps, wg.ref, wu.ref, T, K, N), TOL);
      });
    }

    it('refuses more rows than it holds', async () => {
      const k = suite.kernels;
      const b = suite.keep(zeros(k, 4));
      await expect(k.run('fused', (pass) => mlp_gate_forward_rows(k, pass, { x: b, norm: b, eps, T: FUSED_ROWS_MAX + 1, K: 1, wg: b, wu: b, h: b, N: 1 })))
        .rejects.toThrow(/exceeds/);
    });
  });
}
