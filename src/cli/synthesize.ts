// genpi synthesize: the training data from the prompt alone, as JSONL; the quality figures as the last stdout line.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { behaviourChecker } from '../genpi/behaviour';
import { coverageText } from '../genpi/coverage';
import { toJsonl } from '../genpi/dataset';
import { MAX_INPUT_POOL } from '../genpi/input-spread';
import { DEFAULT_ENVIRONMENT } from '../genpi/roleplay';
import { shortfallMessage } from '../genpi/shortfall';
import { DEFAULT_SYNTHESIS } from '../genpi/synthesis-defaults';
import { promptRoom } from '../genpi/prompt-room';
import { synthesisSlotTokens } from '../genpi/synthesis-slots';
import { stageLine } from '../genpi/synthesis-stages';
import { synthesize } from '../genpi/synthesize';
import { TESTBED_MARKER } from '../genpi/testbed';
import { readTextFile } from '../model/source-node';
import type { Tokenizer } from '../model/tokenizer';
import { OPTIONAL_PARTS, type OptionalPart } from '../train/sequences';
import { floatFlag, intFlag, parseFlags, required } from './args';
import { writeFileAtomic } from './atomic-write';
import { checkOutputFile } from './output-folder';
import { UsageError } from './fail';
import { openPipeline, progress, readPrompt } from './pipeline';
import { THINKING_FLAG, thinkingFlag } from './thinking';

export async function synthesizeCommand(argv: string[]): Promise<void> {
  const v = parseFlags('synthesize', argv, {
    model: { type: 'string' }, prompt: { type: 'string' }, samples: { type: 'string' }, out: { type: 'string' },
    'max-turns': { type: 'string' }, 'chain-turns': { type: 'string' }, seed: { type: 'string' }, heldout: { type: 'string' }, 'seed-inputs': { type: 'string' },
    'env-name': { type: 'string' }, 'env-description': { type: 'string' }, 'end-marker': { type: 'string' },
    'action-pattern': { type: 'string' }, 'max-new-tokens': { type: 'string' }, 'reason-tokens': { type: 'string' },
    'max-rounds': { type: 'string' }, 'user-turn-top-p': { type: 'string' }, 'user-turn-min-p': { type: 'string' }, 'input-pool': { type: 'string' }, 'with-reasons': { type: 'boolean' }, ...THINKING_FLAG,
  });
  const modelDir = required('synthesize', v, 'model');
  const out = required('synthesize', v, 'out');
  const thinking = thinkingFlag('synthesize', v);
  // Synthesis takes minutes: an --out that could not be written is refused before any of it.
  await checkOutputFile(out, [{ flag: '--model', path: modelDir }, { flag: '--prompt', path: v.prompt as string | undefined },
    { flag: '--seed-inputs', path: v['seed-inputs'] as string | undefined }]);
  const samples = intFlag('synthesize', v, 'samples', DEFAULT_SYNTHESIS.samples, 1);
  const heldout = v.heldout === undefined ? DEFAULT_SYNTHESIS.heldout : Number(v.heldout);
  if (!(heldout >= 0 && heldout < 1)) throw new UsageError(`synthesize: --heldout must be in [0, 1), got "${v.heldout}"`);
  const prompt = await readPrompt(required('synthesize', v, 'prompt'));
  let actionPattern: RegExp | undefined;
  if (v['action-pattern']) {
    try {
      actionPattern = new RegExp(v['action-pattern'] as string, 'm');
    } catch (e) {
      throw new UsageError(`synthesize: --action-pattern is not a regular expression (${(e as Error).message})`);
    }
  }
  const seedInputs = v['seed-inputs'] ? (await readTextFile(v['seed-inputs'] as string)).split(/\r?\n/).map((l) => l.trim()).filter(Boolean) : [];
  process.stderr.write(`prompt: ${prompt.report}\n`);
  const maxNew = intFlag('synthesize', v, 'max-new-tokens', DEFAULT_SYNTHESIS.maxNewTokens, 1);
  const maxTurns = intFlag('synthesize', v, 'max-turns', DEFAULT_SYNTHESIS.maxTurns, 1);
  const chainTurns = intFlag('synthesize', v, 'chain-turns', DEFAULT_SYNTHESIS.chainTurns, 1);
  const reasonTokens = intFlag('synthesize', v, 'reason-tokens', DEFAULT_SYNTHESIS.reasonTokens, 1);
  const maxRounds = v['max-rounds'] === undefined ? undefined : intFlag('synthesize', v, 'max-rounds', 0, 0);
  const userTurnTopP = floatFlag('synthesize', v, 'user-turn-top-p', DEFAULT_SYNTHESIS.userTurnTopP, 0.1, 1);
  const userTurnMinP = floatFlag('synthesize', v, 'user-turn-min-p', DEFAULT_SYNTHESIS.userTurnMinP, 0, 1);
  const inputPool = floatFlag('synthesize', v, 'input-pool', DEFAULT_SYNTHESIS.inputPool, 1, MAX_INPUT_POOL);
  const environment = {
    name: (v['env-name'] as string) ?? DEFAULT_ENVIRONMENT.name,
    description: (v['env-description'] as string) ?? DEFAULT_ENVIRONMENT.description,
    endMarker: (v['end-marker'] as string) ?? DEFAULT_ENVIRONMENT.endMarker,
  };
  // AS-IS answers and reasons only when asked: the default variant never reads them (train writes them if needed).
  const parts: OptionalPart[] = v['with-reasons'] === true ? [...OPTIONAL_PARTS] : [];
  const slotTokens = (tok: Tokenizer) => synthesisSlotTokens(tok, prompt, { maxTurns, chainTurns, maxNewTokens: maxNew, reasonTokens, seedInputs, environment, parts });
  const { generator, tokenizer, pTokens } = await openPipeline(modelDir, { prompt, slotTokens, command: 'synthesize', thinking });
  process.stderr.write(`prompt tokens: ${pTokens}\n`);
  // How long P may be on this model, and why, before any request (a P over it is refused by synthesize).
  process.stderr.write(`${promptRoom(tokenizer, prompt, generator.engine.cfg.maxPositionEmbeddings, maxNew).sentence}\n`);
  const { records, figures } = await synthesize(generator, tokenizer, prompt, {
    samples, heldout, maxTurns, seed: intFlag('synthesize', v, 'seed', 0), seedInputs, actionPattern, maxNewTokens: maxNew, reasonTokens, maxRounds,
    environment, parts, chainTurns, userTurnTopP, userTurnMinP, inputPool,
    // On a testbed model (its folder has the marker) the figures count the inputs per branch of P.
    checker: existsSync(join(modelDir, TESTBED_MARKER)) ? behaviourChecker(prompt.text) : null,
    onProgress: (p) => progress(`synthesize: ${stageLine(p)}`),
  });
  // P travels with the data, so training can build the PG target without being told P again.
  // So does the thinking mode, so training renders the conversations as they were made (see thinking.ts).
  for (const r of records) r.settings = { ...r.settings, prompt: prompt.text, ...(tokenizer.hasThinkingMode ? { thinking: tokenizer.thinking } : {}) };
  // Written whole or not at all: a file at `out` is a finished dataset.
  await writeFileAtomic(out, toJsonl(records), 'dataset');
  process.stderr.write(`\nwrote ${records.length} records to ${out}\n`);
  if (figures.coverage) process.stderr.write(`inputs: ${coverageText(figures.coverage)}\n`);
  if (figures.user_turn_off) process.stderr.write(`synthesize: user-turn sampling was off: ${figures.user_turn_off}\n`);
  if (figures.list_off) process.stderr.write(`synthesize: the list request was off: ${figures.list_off}\n`);
  for (const s of Object.values(figures.skipped_requests ?? {})) process.stderr.write(`synthesize: skipped ${s.count}: ${s.why}\n`);
  const short = shortfallMessage(figures);
  if (short) process.stderr.write(`synthesize: ${short}\n`);
  process.stdout.write(`${JSON.stringify({ out, ...figures })}\n`);
}
