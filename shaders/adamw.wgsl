// AdamW over the LoRA's flat parameter buffer with global-norm clipping that never leaves the GPU: grad_norm_partial
// and grad_norm_finish write ||g|| into a 1-element buffer that adamw_update reads. Reference: src/ref/adamw.ts.

const ADAMW_WG: u32 = 256u;

// ---- grad_norm_partial: Σ g² per workgroup, grid-stride over P ----

struct GradNormPartialParams {
  P: u32,       // elements
  stride: u32,  // workgroups * 256: the grid's width in elements
}

@group(0) @binding(0) var<storage, read> gn_grads: array<f32>;           // [P]
@group(0) @binding(1) var<storage, read_write> gn_partials: array<f32>;  // [workgroups] Σ g² of each
@group(0) @binding(2) var<uniform> gn_p: GradNormPartialParams;

var<workgroup> adamw_red: array<f32, 256>;

// Tree sum of adamw_red; every invocation of the workgroup must call it.
fn adamw_reduce(lid: u32) -> f32 {
  workgroupBarrier();
  for (var half = ADAMW_WG / 2u; half > 0u; half >>= 1u) {
    if (lid < half) {
      adamw_red[lid] += adamw_red[lid + half];
    }
    workgroupBarrier();
  }
  return adamw_red[0];
}

@compute @workgroup_size(256)
fn grad_norm_partial(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  var s = 0.0;
  for (var i = gid.x; i < gn_p.P; i += gn_p.stride) {
    let g = gn_grads[i];
    s += g * g;
  }
  adamw_red[lid] = s;
  let total = adamw_reduce(lid);
  if (lid == 0u) {
    gn_partials[wid.x] = total;
  }
}

// ---- grad_norm_finish: one workgroup sums the partials, norm[0] = sqrt(Σ) ----

struct GradNormFinishParams {
  groups: u32,  // partials written by grad_norm_partial
}

@group(0) @binding(0) var<storage, read> gn_fin_partials: array<f32>;  // [groups]
@group(0) @binding(1) var<storage, read_write> gn_fin_norm: array<f32>;  // [1]
@group(0) @binding(2) var<uniform> gn_fin_p: GradNormFinishParams;

@compute @workgroup_size(256)
fn grad_norm_finish(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < gn_fin_p.groups; i += ADAMW_WG) {
    s += gn_fin_partials[i];
  }
  adamw_red[lid] = s;
  let total = adamw_reduce(lid);
  if (lid == 0u) {
    gn_fin_norm[0] = sqrt(total);
  }
}

// ---- adamw_update: one element per invocation; the grid may spill into y (src/gpu/dispatch.ts grid1d) ----

struct AdamwParams {
  n: u32,
  row: u32,            // elements per grid row (x workgroups * 256)
  lr: f32,
  beta1: f32,
  beta2: f32,
  one_minus_beta1: f32,  // 1 - beta1 from float64: in f32, 1 - f32(0.999) is off by 1.3e-5 relative
  one_minus_beta2: f32,
  eps: f32,
  weight_decay: f32,
  max_norm: f32,       // 0 = no clipping
  bias1: f32,          // 1 - beta1^step, computed in float64 by the caller
  bias2: f32,          // 1 - beta2^step
}

@group(0) @binding(0) var<storage, read_write> adamw_params: array<f32>;  // [P]
@group(0) @binding(1) var<storage, read> adamw_grads: array<f32>;         // [P] unclipped
@group(0) @binding(2) var<storage, read_write> adamw_m: array<f32>;       // [P] first moment
@group(0) @binding(3) var<storage, read_write> adamw_v: array<f32>;       // [P] second moment
@group(0) @binding(4) var<storage, read> adamw_norm: array<f32>;          // [1] ||grads|| from grad_norm_finish
@group(0) @binding(5) var<uniform> adamw_p: AdamwParams;

@compute @workgroup_size(256)
fn adamw_update(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * adamw_p.row + gid.x;
  if (i >= adamw_p.n) {
    return;
  }
  // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1.
  var clip = 1.0;
  if (adamw_p.max_norm > 0.0) {
    clip = min(1.0, adamw_p.max_norm / (adamw_norm[0] + 1e-6));
  }
  let g = adamw_grads[i] * clip;
  let m = adamw_p.beta1 * adamw_m[i] + adamw_p.one_minus_beta1 * g;
  let v = adamw_p.beta2 * adamw_v[i] + adamw_p.one_minus_beta2 * g * g;
  adamw_m[i] = m;
  adamw_v[i] = v;
  let mhat = m / adamw_p.bias1;
  let vhat = v / adamw_p.bias2;
  let p = adamw_params[i];
  // Decoupled decay of the pre-step value, as torch.optim.AdamW (p *= 1 - lr·wd, then the Adam step).
  adamw_params[i] = p - adamw_p.lr * (mhat / (sqrt(vhat) + adamw_p.eps) + adamw_p.weight_decay * p);
}
