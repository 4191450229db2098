// Checks the AdamW reference against a line-by-line transcription of torch.optim.AdamW (_single_tensor_adamw) and
// torch.nn.utils.clip_grad_norm_, and a few cases worked by hand. AdamW has no backward, so no finite differences.
import { describe, expect, it } from 'vitest';
import { lcg } from '../util/lcg';
import { adamw_update, clip_scale, grad_norm, type AdamWOptions } from './adamw';

/** torch's order of operations, in place: clip, decay, moments, then addcdiv with the bias corrections split. */
function torchStyle(p: Float64Array, g0: ArrayLike<number>, m: Float64Array, v: Float64Array, o: AdamWOptions): void {
  const clipCoef = o.maxNorm / (o.gradNorm + 1e-6);
  const scale = o.maxNorm > 0 ? Math.min(clipCoef, 1) : 1; // clip_coef_clamped
  const bc1 = 1 - o.beta1 ** o.step;
  const bc2 = 1 - o.beta2 ** o.step;
  const stepSize = o.lr / bc1;
  for (let i = 0; i < p.length; i++) {
    const g = g0[i] * scale;
    p[i] *= 1 - o.lr * o.weightDecay; // param.mul_(1 - lr * weight_decay)
    m[i] += (g - m[i]) * (1 - o.beta1); // exp_avg.lerp_(grad, 1 - beta1)
    v[i] = v[i] * o.beta2 + (1 - o.beta2) * g * g; // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
    const denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + o.eps;
    p[i] += -stepSize * (m[i] / denom); // param.addcdiv_(exp_avg, denom, value=-step_size)
  }
}

describe('adamw_update vs torch.optim.AdamW', () => {
  const P = 50;
  for (const [maxNormFactor, weightDecay] of [
    [0, 0],
    [0.3, 0.1], // clipping active
    [5, 0.1], // clipping configured but inactive
  ]) {
    it(`10 steps, maxNorm = ${maxNormFactor}·norm, weightDecay ${weightDecay}`, () => {
      let params: Float64Array = lcg(P, 1);
      let m: Float64Array = new Float64Array(P);
      let v: Float64Array = new Float64Array(P);
      const tp = Float64Array.from(params);
      const tm = new Float64Array(P);
      const tv = new Float64Array(P);
      for (let step = 1; step <= 10; step++) {
        const grads = lcg(P, 100 + step, 0.1 * step);
        const gradNorm = grad_norm(grads);
        const o = { step, lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, maxNorm: maxNormFactor * gradNorm, gradNorm };
        ({ params, m, v } = adamw_update(params, grads, m, v, o));
        torchStyle(tp, grads, tm, tv, o);
        for (let i = 0; i < P; i++) {
          expect(params[i]).toBeCloseTo(tp[i], 13);
          expect(m[i]).toBeCloseTo(tm[i], 14);
          expect(v[i]).toBeCloseTo(tv[i], 14);
        }
      }
    });
  }
});

describe('adamw by hand', () => {
  it('grad_norm of [3, 4] is 5', () => {
    expect(grad_norm([3, 4])).toBe(5);
    expect(grad_norm([])).toBe(0);
  });

  it('clip_scale follows clip_grad_norm_', () => {
    expect(clip_scale(0, 100)).toBe(1);
    expect(clip_scale(1, 10)).toBeCloseTo(1 / (10 + 1e-6), 15);
    expect(clip_scale(20, 10)).toBe(1);
  });

  it('step 1 moves each parameter by lr·sign(g) (m̂ = g, v̂ = g²), minus the decay of the old value', () => {
    const o = { step: 1, lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 0, weightDecay: 0.5, maxNorm: 0, gradNorm: 0 };
    const r = adamw_update([1, -2], [0.3, -4], [0, 0], [0, 0], o);
    expect(r.params[0]).toBeCloseTo(1 - 0.1 * (1 + 0.5 * 1), 14);
    expect(r.params[1]).toBeCloseTo(-2 - 0.1 * (-1 + 0.5 * -2), 14);
    expect(r.m[0]).toBeCloseTo(0.03, 15);
    expect(r.v[1]).toBeCloseTo(0.001 * 16, 15);
  });

  it('clipping scales the gradient before it enters m and v', () => {
    const o = { step: 1, lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1, gradNorm: 10 };
    const r = adamw_update([0], [6], [0], [0], o);
    expect(r.m[0]).toBeCloseTo(0.1 * 6 * (1 / (10 + 1e-6)), 15);
  });

  it('refuses step 0 (bias correction would divide by zero)', () => {
    const o = { step: 0, lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 0, gradNorm: 0 };
    expect(() => adamw_update([0], [1], [0], [0], o)).toThrow(/step 0/);
  });
});
