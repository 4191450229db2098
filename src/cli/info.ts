// genpi info: the model's architecture, dimensions, parameter count and dtype, and the GPU adapter, as one JSON
// object. A missing GPU does not fail the command: the model facts are still useful, and gpu_error says why.
import { summarize } from '../gpu/device';
import { acquireNodeGpu } from '../gpu/node';
import { describeModel, openModel } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { parseFlags, required } from './args';

export async function info(argv: string[]): Promise<void> {
  const v = parseFlags('info', argv, { model: { type: 'string' } });
  const dir = required('info', v, 'model');
  const model = await openModel(new DirFileSet(dir));
  let gpu = null;
  let gpu_error: string | undefined;
  try {
    const ctx = await acquireNodeGpu();
    gpu = summarize(ctx);
    ctx.device.destroy();
  } catch (e) {
    gpu_error = (e as Error).message;
  }
  process.stdout.write(`${JSON.stringify({ model: dir, ...describeModel(model), gpu, ...(gpu_error ? { gpu_error } : {}) })}\n`);
}
