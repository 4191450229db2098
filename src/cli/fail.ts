// How the genpi command reports an error: one line on stderr naming the file and the problem, exit code 1, and
// the stack only with --debug. Messages come from typed errors, which already say what to do.

export class UsageError extends Error {
  override name = 'UsageError';
}

export function errorLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return `genpi: ${msg.replace(/\s*\n\s*/g, ' | ')}`;
}

export function fail(e: unknown, debug: boolean): never {
  process.stderr.write(`${errorLine(e)}\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
}
