// float64 reference for shaders/adamw.wgsl: the global gradient norm and one AdamW step with norm clipping, as
// torch.nn.utils.clip_grad_norm_ followed by torch.optim.AdamW compute them.

/** sqrt(Σ g²) over a flat gradient buffer grads [P]. */
export function grad_norm(grads: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < grads.length; i++) sum += grads[i] * grads[i];
  return Math.sqrt(sum);
}

export interface AdamWOptions {
  /** 1-based step number (bias corrections use beta^step). */
  step: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the gradient to this global norm; 0 = no clipping. */
  maxNorm: number;
  /** Global norm of the unclipped gradient (grad_norm(grads)). */
  gradNorm: number;
}

/** Gradient scale of torch.nn.utils.clip_grad_norm_: min(1, maxNorm / (norm + 1e-6)), or 1 without clipping. */
export function clip_scale(maxNorm: number, gradNorm: number): number {
  return maxNorm > 0 ? Math.min(1, maxNorm / (gradNorm + 1e-6)) : 1;
}

/**
 * One AdamW step. params, grads, m, v: [P] (inputs are not modified). Decoupled weight decay as torch.optim.AdamW:
 * p ← p·(1 − lr·wd) first, then p ← p − lr·m̂/(√v̂ + eps); since the decay uses the pre-step p, this equals
 * p − lr·(m̂/(√v̂ + eps) + wd·p).
 */
export function adamw_update(
  params: ArrayLike<number>,
  grads: ArrayLike<number>,
  m: ArrayLike<number>,
  v: ArrayLike<number>,
  o: AdamWOptions,
): { params: Float64Array; m: Float64Array; v: Float64Array } {
  const P = params.length;
  if (grads.length !== P || m.length !== P || v.length !== P) throw new Error('adamw_update: params, grads, m, v differ in length');
  if (!(Number.isInteger(o.step) && o.step >= 1)) throw new Error(`adamw_update: step ${o.step} must be an integer >= 1`);
  const clip = clip_scale(o.maxNorm, o.gradNorm);
  const bc1 = 1 - o.beta1 ** o.step;
  const bc2 = 1 - o.beta2 ** o.step;
  const outP = new Float64Array(P);
  const outM = new Float64Array(P);
  const outV = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    const g = grads[i] * clip;
    outM[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
    outV[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
    const mhat = outM[i] / bc1;
    const vhat = outV[i] / bc2;
    outP[i] = params[i] - o.lr * (mhat / (Math.sqrt(vhat) + o.eps) + o.weightDecay * params[i]);
  }
  return { params: outP, m: outM, v: outV };
}
