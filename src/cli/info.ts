// genpi info: the model's architecture, dimensions, parameter count and dtype, and the GPU adapter, as one JSON
// object. A missing GPU does not fail the command: the model facts are still useful, and gpu_error says why. Tokenizer
// files that would fail where they are used (model/tokenizer-check.ts) are warnings, on stderr and in the object.
import { summarize } from '../gpu/device';
import { acquireNodeGpu } from '../gpu/node';
import { describeModel, openModel } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { tokenizerProblems } from '../model/tokenizer-check';
import { parseFlags, required } from './args';

export async function info(argv: string[]): Promise<void> {
  const v = parseFlags('info', argv, { model: { type: 'string' } });
  const dir = required('info', v, 'model');
  const model = await openModel(new DirFileSet(dir));
  const warnings = await tokenizerProblems(model.files);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  let gpu = null;
  let gpu_error: string | undefined;
  try {
    const ctx = await acquireNodeGpu();
    gpu = summarize(ctx);
    ctx.device.destroy();
  } catch (e) {
    gpu_error = (e as Error).message;
  }
  process.stdout.write(`${JSON.stringify({ model: dir, ...describeModel(model), warnings, gpu, ...(gpu_error ? { gpu_error } : {}) })}\n`);
}
