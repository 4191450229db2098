// npm run bench: kernel rates, training throughput and memory on the adapter this machine has, as a table on
// stdout and as JSON in bench-results.json. Targets are checked and reported, not asserted (tests assert).
// Flags: --quick uses the tiny model only (minutes); --only kernels,train,generate,pipeline,quality,load,peer,
// peer-web,dispatch,demo-synth,user-turns picks sections (comma-separated; the last five only when asked); --rules
// upper,count and --variants joint,sft_only narrow the quality section (25 adapters in all); --lr, --pg-weight,
// --samples, --chain-turns, --user-turn-top-p, --input-pool, --rank, --epochs, --batch-size, --seed (training),
// --test-inputs and --turns (evaluation) override its defaults; --fresh-tests scores on fresh inputs only, the same
// whatever the samples; --trace also scores each checkpoint of a run with the checker;
// --testbed single|compound (or a model folder for the single-rule one) and --compound-tokens 300,1500 (or
// --compound-preset) pick its testbeds. The real-shaped models take many minutes on a software adapter, the 135M
// pipeline hours. --gpu-report runs the GPU check instead.
// --only longp: synthesis and training time, memory and read-back as P grows (--longp-tokens 250,1000,2000,4000,
// --longp-models testbed,135m, --samples N, --steps N, --longp-records N, --teacher-only for the teacher pass alone).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { benchKernels } from '../src/bench/kernels';
import { benchDispatch, formatDispatch, type DispatchCounts } from '../src/bench/dispatch';
import { benchLongP, benchTeacherPass, formatLongP, formatTeacherPass, type LongPRow, type TeacherPassRow } from '../src/bench/longp';
import { randomModel, SMOLLM2_135M, SMOLLM2_360M } from '../src/bench/random-model';
import { benchGeneration, benchTtft, type GenerationBench, type TtftResult } from '../src/bench/generate';
import { benchPipeline, type PipelineBench } from '../src/bench/pipeline';
import { benchPeer, formatPeer, type PeerRow } from '../src/bench/peer';
import { benchPeerChromium, type ChromiumPeer } from '../e2e/peer-bench';
import { benchDemoSynth, type DemoSynthBench, formatDemoSynth } from '../e2e/demo-synth-bench';
import { benchUserTurns, formatUserTurns, type UserTurnRow } from '../src/bench/user-turns';
import { benchQuality, compoundCases, compoundPresetCase, formatQuality, singleRuleCases, type QualityRow } from '../src/bench/quality';
import { HARD_RULES, TESTBED_MARKER, TESTBED_RULES, type TestbedRule } from '../src/genpi/testbed';
import type { TrainingVariant } from '../src/train/sequences';
import { VARIANT_NAMES } from '../src/train/variants';
import { benchTraining, type TrainResult } from '../src/bench/train';
import { benchLoadMemory, LLAMA32_1B, type LoadMemoryResult } from '../src/bench/load-memory';
import { summarize } from '../src/gpu/device';
import { createKernels } from '../src/gpu/kernel';
import { acquireNodeGpu } from '../src/gpu/node';
import { loadShaderSources } from '../src/gpu/shaders-node';
import { loraLayout, LORA_TARGETS } from '../src/llama/lora';
import { planTraining } from '../src/llama/planner';
import { parseModelConfig } from '../src/model/config';
import { openModel } from '../src/model/open';
import { loadTokenizer } from '../src/model/tokenizer';
import { BytesSource } from '../src/model/source';
import { makeTinyModel } from '../src/model/tiny/make';

// --gpu-report: the GPU check alone, one JSON (scripts/gpu-report.ts takes the flags).
if (process.argv.includes('--gpu-report')) await import('./gpu-report');

const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const sections = new Set((onlyAt >= 0 ? process.argv[onlyAt + 1] ?? '' : 'kernels,train,generate,pipeline,quality,load').split(','));
const log = (s: string) => process.stderr.write(`${s}\n`);
const listFlag = (name: string, all: readonly string[]) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? '').split(',').filter((x) => all.includes(x)) : [...all];
};
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

const ctx = await acquireNodeGpu();
const k = createKernels(ctx, loadShaderSources());
const gpu = { ...summarize(ctx), weights: k.f16 ? 'f16' : 'f32' };
log(`adapter: ${gpu.name} (${gpu.weights} weights)`);

log('kernels…');
const kernels = sections.has('kernels') || sections.has('train') ? await benchKernels(k) : [];
const bestMatmul = Math.max(0, ...kernels.filter((r) => r.kernel.startsWith('matmul')).map((r) => r.gflops!));

const tinyFiles = makeTinyModel({ arch: 'llama' });
const tiny = await openModel({ name: 'tiny', open: async (f) => (tinyFiles.has(f) ? new BytesSource(f, tinyFiles.get(f)!) : null) });
const m135 = quick ? null : await randomModel(SMOLLM2_135M);

const training: TrainResult[] = [];
if (sections.has('train')) {
  log('training: tiny model…');
  training.push(await benchTraining(k, 'tiny (llama, C64, 2 layers)', tiny, 256, 10));
  if (m135) {
    log('training: SmolLM2-135M-shaped random model, T=256 (slow on a software adapter)…');
    training.push(await benchTraining(k, 'SmolLM2-135M-shaped', m135, 256, 1));
  }
}

const generation: GenerationBench[] = [];
const ttft: TtftResult[] = [];
if (sections.has('generate')) {
  log('generation: tiny model…');
  generation.push(await benchGeneration(k, 'tiny', tiny, [1, 4, 16, 64], 8, 256));
  ttft.push(await benchTtft(k, 'tiny', tiny, 1000));
  if (m135) {
    log('generation: SmolLM2-135M-shaped (slow on a software adapter)…');
    generation.push(await benchGeneration(k, 'SmolLM2-135M-shaped', m135, [1, 4, 16, 64], 2, 128));
    log('generation: SmolLM2-360M-shaped…');
    generation.push(await benchGeneration(k, 'SmolLM2-360M-shaped', await randomModel(SMOLLM2_360M), [1, 4, 16, 64], 1, 64));
    log('time to first token with a 1,000-token P, SmolLM2-135M-shaped…');
    ttft.push(await benchTtft(k, 'SmolLM2-135M-shaped', m135, 1000));
  }
}
// Synthesize + train for 64 samples. The 135M-shaped model has SmolLM2-135M's layers with the tiny model's
// 387-token byte-level tokenizer (no real tokenizer can be downloaded here): its embedding and head are smaller
// than the real 49,152-token ones, so its times understate the real model's by that share.
const pipeline: PipelineBench[] = [];
if (sections.has('pipeline')) {
  log('pipeline: synthesize + train, 64 samples, tiny model…');
  pipeline.push(await benchPipeline(k, 'tiny (qwen2, C64, 2 layers)', makeTinyModel({ arch: 'qwen2' }), { samples: 64, maxNewTokens: 64, reasonTokens: 128, epochs: 10 }));
  if (!quick) {
    log('pipeline: synthesize + train, 64 samples, SmolLM2-135M-shaped (hours on a software adapter)…');
    const m135Files = makeTinyModel({ arch: 'llama', hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9, numKvHeads: 3, dtype: 'f16' });
    pipeline.push(await benchPipeline(k, 'SmolLM2-135M-shaped (tiny tokenizer)', m135Files, { samples: 64, maxNewTokens: 64, reasonTokens: 128, epochs: 1 }));
  }
}

// Only with --only peer: our engine against transformers.js on onnxruntime-node, same weights, in this run; then
// the same in Chromium (tiny model; peer-web runs that part alone).
const peer: PeerRow[] = [];
let peerWeb: ChromiumPeer | null = null;
if (sections.has('peer')) {
  log('peer: tiny model, ours vs transformers.js on onnxruntime-node…');
  peer.push(await benchPeer(k, 'tiny', tiny, 1000, 16, log));
  if (m135) {
    log('peer: SmolLM2-135M-shaped…');
    peer.push(await benchPeer(k, 'SmolLM2-135M-shaped', m135, 1000, 4, log));
  }
}
if (sections.has('peer') || sections.has('peer-web')) {
  log('peer in Chromium: tiny model, ours on WebGPU vs transformers.js on onnxruntime-web…');
  peerWeb = await benchPeerChromium('tiny', tinyFiles, 1000, 16);
}

// Only with --only demo-synth: the demo's default synthesis in Chromium, without and with the optional parts.
let demoSynth: DemoSynthBench | null = null;
if (sections.has('demo-synth')) {
  log('demo-synth: the demo model\'s default synthesis in Chromium, without and then with AS-IS answers and reasons…');
  const at = process.argv.indexOf('--samples');
  demoSynth = await benchDemoSynth(at >= 0 ? Number(process.argv[at + 1]) : undefined);
}

// Only with --only user-turns: the branches of a compound P that sampled user turns reach, by temperature and nucleus.
let userTurns: UserTurnRow[] = [];
if (sections.has('user-turns')) {
  log('user-turns: branch shares of sampled user turns on the compound testbed…');
  userTurns = await benchUserTurns(k, 'public/compound-model');
}

// Only with --only dispatch: GPU calls per training step and per decode token, whole and per layer.
const dispatch: DispatchCounts[] = [];
if (sections.has('dispatch')) {
  log('dispatch: GPU calls per training step and decode token, testbed shape…');
  dispatch.push(await benchDispatch(k, 'testbed', JSON.parse(readFileSync('public/demo-model/config.json', 'utf8'))));
  if (!quick) {
    log('dispatch: SmolLM2-135M shape…');
    dispatch.push(await benchDispatch(k, 'SmolLM2-135M-shaped', SMOLLM2_135M));
  }
}

// Only with --only longp: P of about 250 to 4,000 tokens, the whole default job on the testbed model and on the
// SmolLM2-135M shape (random weights, the tiny tokenizer; context 8,192).
const longp: LongPRow[] = [];
const teacherPass: TeacherPassRow[] = [];
if (sections.has('longp')) {
  const flag = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
  const tokens = (flag('--longp-tokens') ?? '250,1000,2000,4000').split(',').map(Number);
  const models = (flag('--longp-models') ?? 'testbed,135m').split(',');
  const o = { tokens, samples: flag('--samples') ? Number(flag('--samples')) : undefined, steps: flag('--steps') ? Number(flag('--steps')) : undefined, log };
  const readDir = (dir: string) => new Map(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(`${dir}/${f}`))]));
  const testbed = readDir('public/demo-model');
  const m135Files = makeTinyModel({ arch: 'llama', hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9, numKvHeads: 3, dtype: 'f16', maxPositionEmbeddings: 8192 });
  // The teacher pass alone, P's KV shared against each record's whole view (how it ran before): --longp-records N.
  const pass = { tokens, records: Number(flag('--longp-records') ?? 32), recordTokens: 128, log };
  if (models.includes('testbed')) teacherPass.push(...await benchTeacherPass(k, 'testbed (demo-model)', testbed, pass));
  if (models.includes('135m')) teacherPass.push(...await benchTeacherPass(k, 'SmolLM2-135M-shaped', m135Files, pass));
  if (!process.argv.includes('--teacher-only')) {
    if (models.includes('testbed')) longp.push(...await benchLongP(k, 'testbed (demo-model)', testbed, o));
    if (models.includes('135m')) longp.push(...await benchLongP(k, 'SmolLM2-135M-shaped', m135Files, o));
  }
}

// Retention on the testbed models, the product's default flow from P alone, every variant: the single-rule one
// (public/demo-model, or a folder --testbed names) and the compound one (public/compound-model, P of about 300 and
// 1,500 tokens, --compound-tokens to change), per branch and per turn. --testbed single|compound picks one.
const quality: QualityRow[] = [];
if (sections.has('quality')) {
  const dirAt = process.argv.indexOf('--testbed');
  const which = dirAt >= 0 ? process.argv[dirAt + 1] : 'both';
  const singleDir = ['single', 'compound', 'both'].includes(which) ? 'public/demo-model' : which;
  const readDir = (dir: string) => new Map(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(`${dir}/${f}`))]));
  const rules = listFlag('--rules', [...TESTBED_RULES, ...HARD_RULES]).filter((r) => process.argv.includes('--rules') || (TESTBED_RULES as readonly string[]).includes(r)) as TestbedRule[];
  // Unasked, the five the README's tables compare (on_policy, the default, too); --variants may name any variant.
  const compared: TrainingVariant[] = ['on_policy', 'kl_only', 'joint', 'sft_only', 'joint_kl'];
  const variants = (process.argv.includes('--variants') ? listFlag('--variants', VARIANT_NAMES) : compared) as TrainingVariant[];
  const numberFlag = (name: string) => {
    const at = process.argv.indexOf(name);
    return at >= 0 ? Number(process.argv[at + 1]) : undefined;
  };
  const testInputs = numberFlag('--test-inputs') ?? 48;
  const common = { variants, log, lr: numberFlag('--lr'), pgWeight: numberFlag('--pg-weight'), samples: numberFlag('--samples'),
    chainTurns: numberFlag('--chain-turns'), userTurnTopP: numberFlag('--user-turn-top-p'), userTurnMinP: numberFlag('--user-turn-min-p'), inputPool: numberFlag('--input-pool'),
    synthesisSeed: numberFlag('--synthesis-seed'), rank: numberFlag('--rank'), epochs: numberFlag('--epochs'), batchSize: numberFlag('--batch-size'), seed: numberFlag('--seed'),
    turns: numberFlag('--turns'), earlyStop: process.argv.includes('--no-early-stop') ? false : undefined, trace: process.argv.includes('--trace'),
    freshTests: process.argv.includes('--fresh-tests') };
  if (which !== 'compound') {
    log(`quality: ${rules.length} rules x ${variants.length} variants on the testbed model (default synthesis and plan)…`);
    quality.push(...await benchQuality(k, readDir(singleDir), { ...common, cases: singleRuleCases(rules, testInputs) }));
  }
  if (which === 'compound' || which === 'both') {
    const dir = 'public/compound-model';
    const marker = `${dir}/${TESTBED_MARKER}`;
    const kind = existsSync(marker) ? (JSON.parse(readFileSync(marker, 'utf8')) as { kind?: string }).kind : undefined;
    if (kind !== 'compound') {
      log(`quality: compound testbed skipped: ${existsSync(dir) ? `${marker} is missing or does not say "kind": "compound"` : `${dir} does not exist`} ` +
        '(train it with scripts/testbed/make-compound-data.ts)');
    } else {
      const files = readDir(dir);
      const tok = await loadTokenizer({ name: 'compound-model', open: async (f) => (files.has(f) ? new BytesSource(`${dir}/${f}`, files.get(f)!) : null) });
      const at = process.argv.indexOf('--compound-tokens');
      // --compound-preset: the app's compound demo preset (the P the suite's compound run uses), alone unless
      // --compound-tokens also names lengths.
      const preset = process.argv.includes('--compound-preset');
      const tokens = at >= 0 ? process.argv[at + 1].split(',').map(Number) : preset ? [] : [300, 1500];
      const named = [...(tokens.length ? [`P of ${tokens.join(', ')} tokens`] : []), ...(preset ? ['the demo preset'] : [])];
      log(`quality: compound ${named.join(' and ')} x ${variants.length} variants on the compound testbed model…`);
      // --compound-pair N: every length uses HELDOUT_PAIRS[N] (1, 2, 4 and 5 have a digit branch) instead of its own;
      // --compound-seed S draws other phrasings, policy sentences and examples for the same pair.
      const cases = compoundCases(tok, tokens, testInputs, numberFlag('--compound-pair'), numberFlag('--compound-seed'));
      if (preset) cases.push(compoundPresetCase(testInputs, tok));
      quality.push(...await benchQuality(k, files, { ...common, model: 'compound-model', cases }));
    }
  }
}

// Peak JavaScript memory while a Llama-3.2-1B-shaped model loads (written to a temporary folder first).
const loading: LoadMemoryResult[] = [];
if (sections.has('load')) {
  log('loading: peak JavaScript memory, Llama-3.2-1B-shaped bf16 model from disk…');
  loading.push(await benchLoadMemory(k, 'Llama-3.2-1B-shaped', LLAMA32_1B));
}

const decodeScaling = generation.map((g) => {
  const at = (b: number) => g.decode.find((d) => d.batch === b)!.tokensPerSecond;
  return { model: g.prefill.model, batch16OverBatch1: at(16) / at(1) };
});

const cfg360 = parseModelConfig(SMOLLM2_360M);
const layout360 = loraLayout(cfg360, { rank: 16, alpha: 32, dropout: 0.05, targets: [...LORA_TARGETS] });
const plan = (recompute: boolean) => planTraining({
  cfg: cfg360, T: 1024, rank: 16, targets: layout360.spec.targets, loraParams: layout360.size, f16: true, recompute, vocabChunk: 2048, groups: 2,
});
const planner = { model: 'SmolLM2-360M-shaped', T: 1024, weights: 'f16', saved: plan(false), recompute: plan(true) };

const results = {
  date: new Date().toISOString(), gpu, kernels, bestMatmulGflops: bestMatmul, training, generation, ttft, decodeScaling,
  trainingShareOfBestMatmul: training.map((t) => ({ model: t.model, share: t.modelGflops / bestMatmul })),
  planner,
  pipeline,
  quality,
  loading,
  dispatch,
  demoSynth,
  userTurns,
  longp,
  teacherPass,
  targets: {
    'training step model FLOP/s >= 40% of best matmul': training.map((t) => `${t.model}: ${((100 * t.modelGflops) / bestMatmul).toFixed(0)}%`),
    'batch-16 aggregate decode >= 8x batch-1': decodeScaling.map((d) => `${d.model}: ${d.batch16OverBatch1.toFixed(1)}x`),
    'planner, SmolLM2-360M T=1024 f16 < 2 GB': `${mib(plan(true).total)} with recompute (${mib(plan(false).total)} saving all activations)`,
  },
};
writeFileSync('bench-results.json', JSON.stringify(results, null, 2));

console.log(`\nadapter: ${gpu.name}, ${gpu.weights} weights, features: ${gpu.features.join(', ')}\n`);
console.log('kernel                      shape                      ms        rate');
for (const r of kernels) {
  const rate = r.gflops !== undefined ? `${r.gflops.toFixed(2)} GFLOP/s` : `${r.gbps!.toFixed(2)} GB/s`;
  console.log(`${r.kernel.padEnd(27)} ${r.shape.padEnd(24)} ${(r.seconds * 1000).toFixed(2).padStart(9)}  ${rate}`);
}
console.log('\ntraining (rank 16, all 7 targets)  T     tokens/s   model GFLOP/s  share of best matmul  weights     trainer     planned');
for (const t of training) {
  console.log(`${t.model.padEnd(34)} ${String(t.T).padEnd(5)} ${t.tokensPerSecond.toFixed(1).padStart(9)}  ${t.modelGflops.toFixed(2).padStart(13)}  ${`${((100 * t.modelGflops) / bestMatmul).toFixed(0)}%`.padStart(20)}  ${mib(t.weightsBytes).padStart(10)}  ${mib(t.trainerBytes).padStart(10)}  ${mib(t.weightsBytes + t.trainerBytes).padStart(10)} / ${mib(t.plannedBytes)}`);
}
if (generation.length) {
  console.log('\ngeneration                     prefill tok/s   decode tok/s at batch 1 / 4 / 16 / 64        16 vs 1   KV cache');
  for (const g of generation) {
    const d = g.decode.map((x) => x.tokensPerSecond.toFixed(1)).join(' / ');
    const s = decodeScaling.find((x) => x.model === g.prefill.model)!.batch16OverBatch1;
    console.log(`${g.prefill.model.padEnd(30)} ${g.prefill.tokensPerSecond.toFixed(1).padStart(13)}   ${d.padEnd(42)} ${`${s.toFixed(1)}x`.padStart(7)}   ${mib(g.kvCacheBytes)}`);
  }
  console.log('\ntime to first token, 20-token input   no P      P uncached   P prefix-cached');
  for (const t of ttft) console.log(`${`${t.model}, P=${t.promptTokens}`.padEnd(38)} ${t.noPrompt.toFixed(2).padStart(6)} s ${t.uncached.toFixed(2).padStart(9)} s ${t.prefixCached.toFixed(2).padStart(12)} s`);
}
if (pipeline.length) {
  console.log('\nsynthesize + train                   samples  answer/reason tokens  epochs  steps  train tokens  synthesize     train     total');
  for (const p of pipeline) console.log(`${p.model.slice(0, 36).padEnd(36)} ${String(p.samples).padStart(7)}  ${`${p.maxNewTokens}/${p.reasonTokens}`.padStart(20)}  ${String(p.epochs).padStart(6)}  ${String(p.steps).padStart(5)}  ${String(p.trainTokens).padStart(12)}  ${p.synthesizeSeconds.toFixed(0).padStart(8)} s ${p.trainSeconds.toFixed(0).padStart(7)} s ${p.totalSeconds.toFixed(0).padStart(7)} s`);
}
if (peer.length) console.log(`\n${formatPeer(peer, `ours (Dawn, ${gpu.name}) vs transformers.js (onnxruntime-node, CPU)`)}`);
if (peerWeb) {
  console.log(`\n${formatPeer([peerWeb.row], `Chromium: ours (WebGPU, ${peerWeb.adapter}) vs transformers.js (onnxruntime-web, ${peerWeb.theirBackend})`)}`);
  if (peerWeb.webgpuError) console.log(`onnxruntime-web's WebGPU backend failed on this adapter, so transformers.js ran on wasm: ${peerWeb.webgpuError}`);
}
if (dispatch.length) console.log(`\n${formatDispatch(dispatch)}`);
if (demoSynth) console.log(`\n${formatDemoSynth(demoSynth)}`);
if (userTurns.length) console.log(`\nuser turns sampled after a compound P with a digit branch (128 asked per row)\n${formatUserTurns(userTurns)}`);
if (teacherPass.length) console.log(`\nteacher pass alone: P's KV once vs each record's whole view (before)\n${formatTeacherPass(teacherPass)}`);
if (longp.length) console.log(`\nlong P: synthesis (default settings) and training (default plan) as P grows\n${formatLongP(longp)}`);
if (quality.length) {
  console.log('\nretention on the testbeds (student without P / teacher with P), accuracy on held-out and fresh inputs: turn 1, ' +
    'and the worst branch at any turn');
  console.log(formatQuality(quality));
}
for (const l of loading) {
  console.log(`\nloading ${l.model} (${(l.parameters / 1e9).toFixed(2)}B, ${l.weights} weights): peak JS memory ${mib(l.peak)}, ` +
    `${mib(l.peak - l.baseline)} above the ${mib(l.baseline)} baseline (largest tensor in f16: ${mib(l.largestTensorF16)}), ${l.seconds.toFixed(1)} s`);
}
console.log(`\nplanner, ${planner.model} T=1024 f16: ${mib(plan(false).total)} saving activations, ${mib(plan(true).total)} with recompute (target < 2 GB)`);
console.log('results: bench-results.json');
process.exit(0);
