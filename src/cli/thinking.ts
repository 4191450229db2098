// Qwen3's thinking mode on the command line. Off unless --thinking turns it on, in every command that renders a
// chat template (synthesize, train, eval, generate). An adapter records the mode it was trained with
// (genpi_adapter.json), and a synthesized dataset the mode it was made with (each record's settings.thinking): that
// mode is then the default, so evaluation and chat render conversations as training did. A --thinking or
// --no-thinking that contradicts the record is obeyed, with a warning.
import { METADATA_FILE, parseAdapterMetadata, thinkingMismatch } from '../genpi/adapter-meta';
import type { GenpiRecord } from '../genpi/dataset';
import { readText } from '../model/source';
import { DirFileSet } from '../model/source-node';
import { loadTokenizer, type Tokenizer } from '../model/tokenizer';
import { UsageError } from './fail';

/** The flags' definition, for parseFlags. */
export const THINKING_FLAG = { thinking: { type: 'boolean' }, 'no-thinking': { type: 'boolean' } } as const;

/** What the command line asks: true (--thinking), false (--no-thinking), or undefined (the recorded mode, else off). */
export function thinkingFlag(command: string, values: { thinking?: boolean; 'no-thinking'?: boolean }): boolean | undefined {
  if (values.thinking && values['no-thinking']) throw new UsageError(`${command}: give --thinking or --no-thinking, not both`);
  return values.thinking ? true : values['no-thinking'] ? false : undefined;
}

/** The mode an adapter or a dataset was made with, and what to call it in messages. */
export interface RecordedThinking {
  what: string;
  thinking: boolean;
}

/** The adapter's recorded mode (older metadata: off); null for an adapter without genpi_adapter.json (Python's PEFT). */
export async function adapterThinking(adapterDir: string): Promise<RecordedThinking | null> {
  const src = await new DirFileSet(adapterDir).open(METADATA_FILE);
  if (!src) return null;
  return { what: adapterDir, thinking: parseAdapterMetadata(await readText(src), adapterDir).thinking ?? false };
}

/** The mode a synthesized dataset was made with; null when its records do not say (written before the flag, or by hand). */
export function datasetThinking(records: readonly GenpiRecord[], dataFile: string): RecordedThinking | null {
  const said = records.map((r) => r.settings?.thinking).find((t) => typeof t === 'boolean');
  return typeof said === 'boolean' ? { what: dataFile, thinking: said } : null;
}

/**
 * The model's tokenizer with the thinking mode this command runs with: the flag (thinkingFlag), else the recorded
 * mode, else off. Notes and warnings go to `log` (stderr).
 */
export async function loadCliTokenizer(command: string, modelDir: string, flag: boolean | undefined, recorded: RecordedThinking | null = null,
  log: (line: string) => void = (line) => process.stderr.write(line)): Promise<Tokenizer> {
  const thinking = flag ?? recorded?.thinking ?? false;
  const tokenizer = await loadTokenizer(new DirFileSet(modelDir), { thinking });
  if (!tokenizer.hasThinkingMode) {
    if (flag === true) log(`${command}: --thinking has no effect: the chat template of ${modelDir} has no thinking mode\n`);
    return tokenizer;
  }
  if (flag === undefined && recorded?.thinking) log(`${command}: thinking on, as ${recorded.what} was made with it\n`);
  const why = recorded ? thinkingMismatch(recorded, recorded.what, thinking) : null;
  if (why) log(`warning: ${why}\n`);
  return tokenizer;
}
