// What the engine commands share: a WebGPU device in Node, the model on it, and an optional PEFT adapter.
import { existsSync } from 'node:fs';
import { createKernels } from '../gpu/kernel';
import { acquireNodeGpu } from '../gpu/node';
import { loadShaderSources } from '../gpu/shaders-node';
import { LlamaEngine } from '../llama/engine';
import { importPeft, type LoraAdapter } from '../llama/peft';
import { openModel, type ModelFiles } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { checkAdapterBase } from './adapter-check';
import { settleFolder } from './atomic-write';

export interface CliEngine {
  model: ModelFiles;
  engine: LlamaEngine;
  adapter: LoraAdapter | null;
}

/** Opens and checks the model and adapter files before the GPU is touched, so bad input fails fast. */
export async function openCliEngine(modelDir: string, adapterDir?: string): Promise<CliEngine> {
  const model = await openModel(new DirFileSet(modelDir));
  // A kill while train swapped in a new adapter folder can leave only the old one set aside and the new one beside
  // it; the swap is finished before reading. Only then: a folder that is there may be one a running train is writing.
  if (adapterDir && !existsSync(adapterDir)) await settleFolder(adapterDir);
  if (adapterDir) await checkAdapterBase(adapterDir, modelDir, model);
  const adapter = adapterDir ? await importPeft(new DirFileSet(adapterDir), model.config) : null;
  const ctx = await acquireNodeGpu();
  const kernels = createKernels(ctx, loadShaderSources(), { f16: process.env.GENPI_F16 !== '0' });
  process.stderr.write(`loading ${modelDir} on ${ctx.info.name} (${kernels.f16 ? 'f16' : 'f32'} weights)\n`);
  const engine = await LlamaEngine.load(kernels, model);
  return { model, engine, adapter };
}
