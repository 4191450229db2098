// genpi make-tiny: writes a tiny random (untrained) model in the Hugging Face layout, as a folder replaced whole
// under the rule for output folders (output-folder.ts): never over a real model or any folder it did not write.
import { writeTinyModel } from '../model/tiny/write-node';
import { floatFlag, intFlag, parseFlags, required } from './args';
import { UsageError } from './fail';
import { claimOutputFolder, refuseUnforced, writeOutputFolder, type FolderKind } from './output-folder';

const TINY_MODEL: FolderKind = { command: 'make-tiny', what: 'a tiny model' };

export async function makeTiny(argv: string[]): Promise<void> {
  const v = parseFlags('make-tiny', argv, {
    out: { type: 'string' },
    arch: { type: 'string', default: 'llama' },
    seed: { type: 'string' },
    dtype: { type: 'string', default: 'f32' },
    'qk-scale': { type: 'string' }, 'head-std': { type: 'string' }, merges: { type: 'string' }, force: { type: 'boolean' },
  });
  const out = required('make-tiny', v, 'out');
  if (v.arch !== 'llama' && v.arch !== 'qwen2' && v.arch !== 'qwen3' && v.arch !== 'gemma3') {
    throw new UsageError(`make-tiny: --arch must be llama, qwen2, qwen3 or gemma3, got "${v.arch}"`);
  }
  if (v.dtype !== 'f32' && v.dtype !== 'f16' && v.dtype !== 'bf16') {
    throw new UsageError(`make-tiny: --dtype must be f32, f16 or bf16, got "${v.dtype}"`);
  }
  const opts = { arch: v.arch, dtype: v.dtype, seed: intFlag('make-tiny', v, 'seed', 0), qkScale: floatFlag('make-tiny', v, 'qk-scale', 1, 0, 100),
    headStd: floatFlag('make-tiny', v, 'head-std', 0.5, 0, 100), numMerges: intFlag('make-tiny', v, 'merges', 128, 0) } as const;
  refuseUnforced(out, TINY_MODEL, await claimOutputFolder(out, TINY_MODEL, []), v.force === true);
  let files: string[] = [];
  await writeOutputFolder(out, TINY_MODEL, 'tiny-model', async (_write, stage) => {
    files = await writeTinyModel(stage, opts);
  });
  process.stderr.write(`wrote a tiny random ${v.arch} model (${v.dtype}, untrained) to ${out}: ${files.join(', ')}\n`);
}
