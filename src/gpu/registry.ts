// Builds compute pipelines by entry-point name from the WGSL files in shaders/, under an error scope, and caches
// them. The entry point's snake_case name is the registry key, and it is its src/ref function's name, or that name
// plus a suffix for one pass of it (attention_backward_dq, grad_norm_partial): src/gpu/naming.test.ts checks it.
import { GpuError, ShaderError } from './errors';

/** File stem ('add') -> WGSL source. Given by shaders-vite.ts in bundles and shaders-node.ts in Node. */
export type ShaderSources = Record<string, string>;

// `@compute @workgroup_size(...) fn name(` with the attributes in either order.
const ENTRY = /((?:@(?:compute|workgroup_size\([^)]*\))\s*)+)fn\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(/g;

export function entryPoints(source: string): string[] {
  const names: string[] = [];
  for (const m of source.matchAll(ENTRY)) if (m[1].includes('@compute')) names.push(m[2]);
  return names;
}

export interface RegistryOptions {
  /** Prepended to every module: `enable f16;` and type aliases chosen from the device's features. */
  preamble?: string;
}

export class KernelRegistry {
  private readonly fileOf = new Map<string, string>();
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();

  constructor(
    private readonly device: GPUDevice,
    private readonly sources: ShaderSources,
    private readonly opts: RegistryOptions = {},
  ) {
    for (const [file, src] of Object.entries(sources)) {
      for (const entry of entryPoints(src)) {
        const prev = this.fileOf.get(entry);
        if (prev) throw new GpuError(`WGSL entry point ${entry} is defined in both ${prev}.wgsl and ${file}.wgsl`);
        this.fileOf.set(entry, file);
      }
    }
  }

  get keys(): string[] {
    return [...this.fileOf.keys()].sort();
  }

  /** The pipeline for one entry point; `constants` fill WGSL `override` declarations. */
  pipeline(entry: string, constants: Record<string, number> = {}): Promise<GPUComputePipeline> {
    const key = `${entry}|${JSON.stringify(constants)}`;
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.build(entry, constants);
      this.pipelines.set(key, p);
      p.catch(() => this.pipelines.delete(key));
    }
    return p;
  }

  private async module(file: string, entry: string): Promise<GPUShaderModule> {
    let mod = this.modules.get(file);
    if (mod) return mod;
    this.device.pushErrorScope('validation');
    mod = this.device.createShaderModule({ label: `${file}.wgsl`, code: (this.opts.preamble ?? '') + this.sources[file] });
    const info = await mod.getCompilationInfo();
    const scoped = await this.device.popErrorScope();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length || scoped) {
      const lines = errors.map((m) => `${file}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}`);
      throw new ShaderError(entry, lines.join('\n') || scoped!.message);
    }
    this.modules.set(file, mod);
    return mod;
  }

  private async build(entry: string, constants: Record<string, number>): Promise<GPUComputePipeline> {
    const file = this.fileOf.get(entry);
    if (!file) throw new GpuError(`No WGSL entry point named ${entry} in shaders/ (known: ${this.keys.join(', ')})`);
    const module = await this.module(file, entry);
    this.device.pushErrorScope('validation');
    try {
      const pipeline = await this.device.createComputePipelineAsync({
        label: entry,
        layout: 'auto',
        compute: { module, entryPoint: entry, constants },
      });
      const scoped = await this.device.popErrorScope();
      if (scoped) throw new ShaderError(entry, scoped.message);
      return pipeline;
    } catch (e) {
      if (e instanceof ShaderError) throw e;
      await this.device.popErrorScope().catch(() => null);
      throw new ShaderError(entry, (e as Error).message);
    }
  }
}
