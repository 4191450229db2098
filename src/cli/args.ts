// Flag parsing for the subcommands on node:util's parseArgs, with its errors turned into one-line usage errors.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './fail';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<T extends Options>(command: string, argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options: { ...options, debug: { type: 'boolean' } }, strict: true, allowPositionals: false })
      .values;
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message} (see genpi --help)`);
  }
}

export function required(command: string, values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`${command}: --${name} is required (see genpi --help)`);
  return v;
}

/** A whole number flag within bounds, or its default. */
export function intFlag(command: string, values: Record<string, unknown>, name: string, def: number, min = 0): number {
  const v = values[name];
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${command}: --${name} must be a whole number >= ${min}, got "${v}"`);
  return n;
}

/** A number flag within [min, max], or its default. */
export function floatFlag(command: string, values: Record<string, unknown>, name: string, def: number, min: number, max: number): number {
  const v = values[name];
  if (v === undefined) return def;
  const x = Number(v);
  if (!Number.isFinite(x) || x < min || x > max) throw new UsageError(`${command}: --${name} must be a number in [${min}, ${max}], got "${v}"`);
  return x;
}
