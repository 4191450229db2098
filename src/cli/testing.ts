// Runs the genpi command as a user would (node bin/genpi.mjs ...), for the CLI tests.
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { join } from 'node:path';
import { expect } from 'vitest';
import { fillTensor } from '../model/testing/edit-tensors';
import { writeTinyModel } from '../model/tiny/write-node';

export function genpi(...args: string[]) {
  return genpiWithEnv({}, ...args);
}

/** genpi with extra environment variables (GENPI_F16=0, say). */
export function genpiWithEnv(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/genpi.mjs', ...args], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  // Dawn prints its own warnings on stderr; our errors are the lines that start with "genpi:".
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('genpi:'));
  return { code: r.status, stdout: r.stdout, errors, stderr: r.stderr, lastJson: () => JSON.parse(r.stdout.trim().split('\n').at(-1)!) };
}

/** The run failed as a user meets a failure: exit code 1 and one "genpi:" line, which matches `pattern`. */
export function expectFails(r: ReturnType<typeof genpi>, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.errors, r.stderr).toHaveLength(1);
  expect(r.errors[0]).toMatch(pattern);
}

/**
 * A tiny model that answers nothing: its final norm is zero, so every logit is 0 and greedy decoding picks id 0,
 * <|endoftext|>, a stop token. What a user meets with a model that ends every turn at once.
 */
export async function writeSilentModel(dir: string): Promise<void> {
  await writeTinyModel(dir, { arch: 'llama', seed: 1 });
  await fillTensor(join(dir, 'model.safetensors'), 'model.norm.weight', 0);
}

export interface GenpiRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  errors: string[];
}

/** genpi run without blocking (several at once, say), from the folder `cwd` if given. */
export function genpiAsync(o: { env?: Record<string, string>; cwd?: string }, ...args: string[]): Promise<GenpiRun> {
  return new Promise((done, failed) => {
    const child = spawn(process.execPath, [resolve('bin/genpi.mjs'), ...args], { cwd: o.cwd, env: { ...process.env, ...o.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('error', failed);
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr, errors: stderr.split('\n').filter((l) => l.startsWith('genpi:')) }));
  });
}
