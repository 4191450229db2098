// The GPU check, `npm run bench -- --gpu-report` or `npx tsx scripts/gpu-report.ts`: one JSON (src/bench/gpu-report.ts)
// in under 8 minutes on a GPU. Also the entry of the offline bundle (scripts/gpu-report-bundle.sh), which a machine
// without npm or a network runs from the repository's root: shaders are read from ./shaders there.
// Flags: --quick (a software adapter's dry run: two layers per shape, short batches), --out FILE (gpu-report.json),
// --budget SECONDS (420: no section starts after it).
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gpuReport } from '../src/bench/gpu-report';
import { createKernels } from '../src/gpu/kernel';
import { acquireNodeGpu } from '../src/gpu/node';
import { loadShaderSources } from '../src/gpu/shaders-node';

const flag = (name: string) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const log = (s: string) => process.stderr.write(`${s}\n`);
const out = flag('--out') ?? 'gpu-report.json';
// No adapter still writes the file: on a machine held for minutes, the reason is the result.
const ctx = await acquireNodeGpu().catch((e: unknown) => {
  const error = e instanceof Error ? e.message : String(e);
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), error, env: { VK_DRIVER_FILES: process.env.VK_DRIVER_FILES ?? null } }, null, 2));
  log(`gpu report: no WebGPU adapter (${error}); ${out} says so`);
  process.exit(1);
});
const kernels = createKernels(ctx, loadShaderSources(resolve('shaders')));
log(`gpu report: ${ctx.info.name} (${kernels.f16 ? 'f16' : 'f32'} weights)`);
const report = await gpuReport(ctx, kernels, { quick: process.argv.includes('--quick'), budgetSeconds: Number(flag('--budget') ?? 420), log });
const json = JSON.stringify(report, null, 2);
writeFileSync(out, json);
log(`gpu report: ${out}, ${json.length} bytes, ${report.seconds.toFixed(0)} s`);
process.exit(0);
