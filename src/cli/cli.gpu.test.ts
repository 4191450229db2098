// The genpi command as a user runs it (node bin/genpi.mjs): make-tiny then info for every architecture and dtype,
// info on a folder another tool wrote, and one-line errors with a non-zero exit.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { genpi } from './testing';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-cli-'));

/** Parameter count from the architecture's formula, independent of the weights reader. */
function expectedParams(c: Record<string, number | boolean>, bias: boolean): number {
  const C = c.hidden_size as number, F = c.intermediate_size as number, V = c.vocab_size as number;
  const H = c.num_attention_heads as number, KV = c.num_key_value_heads as number, D = c.head_dim as number;
  const layer = 2 * C + H * D * C + 2 * KV * D * C + C * H * D + 3 * F * C + (bias ? H * D + 2 * KV * D : 0);
  return V * C + (c.tie_word_embeddings ? 0 : V * C) + C + (c.num_hidden_layers as number) * layer;
}

describe('make-tiny + info', () => {
  for (const arch of ['llama', 'qwen2']) {
    for (const dtype of ['f32', 'f16', 'bf16']) {
      it(`${arch} ${dtype}`, () => {
        const dir = join(tmp, `${arch}-${dtype}`);
        const made = genpi('make-tiny', '--out', dir, '--arch', arch, '--dtype', dtype, '--seed', '3');
        expect(made.code, made.stderr).toBe(0);
        const r = genpi('info', '--model', dir);
        expect(r.code, r.stderr).toBe(0);
        const info = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
        expect(info.architecture).toBe(arch);
        expect(info.dtype).toBe(dtype.toUpperCase());
        expect(info.parameters).toBe(expectedParams(info, arch === 'qwen2'));
        expect(info.gpu?.name, info.gpu_error).toBeTruthy();
        expect(Array.isArray(info.gpu.features)).toBe(true);
      });
    }
  }
});

it('info reports the right parameter count for a sharded BF16 folder written by another tool', () => {
  const dir = join(tmp, 'python-written');
  const written = JSON.parse(execFileSync('python3', ['src/cli/fixtures/write_hf_folder.py', dir], { encoding: 'utf8' }));
  const r = genpi('info', '--model', dir);
  expect(r.code, r.stderr).toBe(0);
  const info = JSON.parse(r.stdout);
  expect(info.parameters).toBe(written.parameters);
  expect(info).toMatchObject({ architecture: 'llama', dtype: 'BF16', num_hidden_layers: 3, head_dim: 8, rope_scaling: 'llama3' });
});

describe('errors are one line and a non-zero exit', () => {
  const cases: [string, string[], RegExp][] = [
    ['no command', ['frobnicate'], /unknown command "frobnicate"/],
    ['missing flag', ['info'], /--model is required/],
    ['unknown flag', ['info', '--model', tmp, '--colour'], /Unknown option '--colour'/],
    ['bad dtype', ['make-tiny', '--out', join(tmp, 'x'), '--dtype', 'f64'], /--dtype must be f32, f16 or bf16/],
    ['no model folder', ['info', '--model', join(tmp, 'nothing-here')], /nothing-here: does not exist \(no such folder\)$/],
  ];
  for (const [what, args, pattern] of cases) {
    it(what, () => {
      const r = genpi(...args);
      expect(r.code).not.toBe(0);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
    });
  }

  it('names the file when config.json is not JSON, and shows the stack only with --debug', () => {
    const dir = join(tmp, 'broken');
    execFileSync(process.execPath, ['bin/genpi.mjs', 'make-tiny', '--out', dir]);
    writeFileSync(join(dir, 'config.json'), '{ "hidden_size": ');
    const r = genpi('info', '--model', dir);
    expect(r.code).toBe(1);
    expect(r.errors[0]).toMatch(/broken\/config\.json: not valid JSON/);
    expect(genpi('info', '--model', dir, '--debug').stderr).toMatch(/\n\s+at /);
  });

  it('names the tensor when a weight has the wrong shape', () => {
    const dir = join(tmp, 'misshaped');
    execFileSync(process.execPath, ['bin/genpi.mjs', 'make-tiny', '--out', dir]);
    const cfgPath = join(dir, 'config.json');
    const cfg = JSON.parse(execFileSync('cat', [cfgPath], { encoding: 'utf8' }));
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, intermediate_size: cfg.intermediate_size + 1 }));
    const r = genpi('info', '--model', dir);
    expect(r.code).toBe(1);
    expect(r.errors[0]).toMatch(/misshaped.*mlp\.gate_proj\.weight/);
  });
});
