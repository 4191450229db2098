// A peer measured in the same run: the same weights exported for transformers.js (src/export) and run by it on
// onnxruntime-node, against our engine on Dawn. Prefill tokens/s for one long prompt, and decode tokens/s at batch
// 1 and 16, as ratios ours / theirs. Both sides are greedy; transformers.js decodes through its own generate loop
// (KV cache as present -> past_key_values), timed as N+1 new tokens minus 1, so its prefill is not counted.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers';
import type { Kernels } from '../gpu/kernel';
import type { ModelFiles } from '../model/open';
import { BytesSource } from '../model/source';
import { makeTinyModel } from '../model/tiny/make';
import { exportOnnx } from '../export/merged-folder';
import { benchGeneration } from './generate';
import { theirRates, type PeerLM } from './peer-rates';

export interface PeerRow {
  model: string;
  promptTokens: number;
  ours: { prefill: number; decode1: number; decode16: number };
  theirs: { prefill: number; decode1: number; decode16: number };
}


/** A FileSet view that adds the tiny model's tokenizer files, for random models made without one. */
function withTokenizer(model: ModelFiles): ModelFiles {
  const tiny = makeTinyModel();
  const files = model.files;
  const extra = (f: string) => (f.startsWith('tokenizer') && tiny.has(f) ? new BytesSource(f, tiny.get(f)!) : null);
  return { ...model, files: { name: files.name, open: async (f) => (await files.open(f)) ?? extra(f) } };
}

async function theirRatesNode(model: ModelFiles, promptTokens: number, steps: number) {
  const root = await mkdtemp(join(tmpdir(), 'genpi-peer-'));
  try {
    const dir = join(root, 'model');
    for (const f of await exportOnnx(withTokenizer(model), null, { dtype: 'f32' })) {
      await mkdir(dirname(join(dir, f.name)), { recursive: true });
      await writeFile(join(dir, f.name), f.parts.length === 1 ? f.parts[0] : Buffer.concat(f.parts));
    }
    env.allowRemoteModels = false;
    env.localModelPath = root;
    const lm = await AutoModelForCausalLM.from_pretrained(basename(dir), { local_files_only: true, device: 'cpu', dtype: 'fp32' });
    const result = await theirRates(Tensor, lm as unknown as PeerLM, model.config.vocabSize, promptTokens, steps);
    await lm.dispose();
    return result;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const rates = (r: PeerRow['ours']) => `prefill ${r.prefill.toFixed(1)}, decode batch 1 ${r.decode1.toFixed(1)}, batch 16 ${r.decode16.toFixed(1)} tokens/s`;

/** `log` hears each side's figures as soon as they are measured, so a run cut short still tells how far it got. */
export async function benchPeer(kernels: Kernels, name: string, model: ModelFiles, promptTokens: number, steps: number,
  log: (line: string) => void = () => {}): Promise<PeerRow> {
  const g = await benchGeneration(kernels, name, model, [1, 16], steps, promptTokens);
  const at = (b: number) => g.decode.find((d) => d.batch === b)!.tokensPerSecond;
  const ours = { prefill: g.prefill.tokensPerSecond, decode1: at(1), decode16: at(16) };
  log(`peer: ${name}, ours: ${rates(ours)}`);
  const theirs = await theirRatesNode(model, promptTokens, steps);
  log(`peer: ${name}, transformers.js: ${rates(theirs)}`);
  return { model: name, promptTokens, ours, theirs };
}

/** The table; `sides` names both runtimes, e.g. "ours (Dawn, llvmpipe) vs transformers.js (onnxruntime-node, CPU)". */
export function formatPeer(rows: PeerRow[], sides: string): string {
  const lines = [`${sides}, tokens/s, ratio = ours / theirs`];
  lines.push('model                     prefill (ours / theirs = ratio)        decode batch 1                    decode batch 16');
  const cell = (a: number, b: number) => `${a.toFixed(1)} / ${b.toFixed(1)} = ${(a / b).toFixed(2)}x`.padEnd(34);
  for (const r of rows) {
    lines.push(`${`${r.model}, T=${r.promptTokens}`.padEnd(25)} ${cell(r.ours.prefill, r.theirs.prefill)} ${cell(r.ours.decode1, r.theirs.decode1)} ${cell(r.ours.decode16, r.theirs.decode16)}`);
  }
  return lines.join('\n');
}
