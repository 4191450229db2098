// genpi eval: base, teacher and student on the dataset's held-out inputs; agreement with the teacher, KL with the
// teacher's tokens forced, what dropping P saves, and on a testbed model accuracy per branch of P and per turn of
// conversations of --turns user turns. --json prints one object; otherwise a table.
import { readDataset } from '../genpi/dataset';
import { evaluate } from '../genpi/evaluate';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { behaviourChecker, singleRuleChecker } from '../genpi/behaviour';
import { formatBehaviour } from '../genpi/behaviour-table';
import { HARD_RULES, TESTBED_MARKER, TESTBED_RULES, type TestbedRule } from '../genpi/testbed';
import { ModelError } from '../model/errors';
import { readTextFile } from '../model/source-node';
import { intFlag, parseFlags, required } from './args';
import { UsageError } from './fail';
import { openPipeline, progress, readPrompt } from './pipeline';
import { adapterPromptMismatch } from './adapter-check';
import { adapterThinking, datasetThinking, THINKING_FLAG, thinkingFlag } from './thinking';

export async function evalCommand(argv: string[]): Promise<void> {
  const v = parseFlags('eval', argv, {
    model: { type: 'string' }, adapter: { type: 'string' }, prompt: { type: 'string' }, data: { type: 'string' },
    json: { type: 'boolean' }, 'action-pattern': { type: 'string' }, rule: { type: 'string' }, 'max-new-tokens': { type: 'string' }, limit: { type: 'string' },
    turns: { type: 'string' },
    ...THINKING_FLAG,
  });
  const modelDir = required('eval', v, 'model');
  const adapterDir = required('eval', v, 'adapter');
  const dataFile = required('eval', v, 'data');
  const promptFile = required('eval', v, 'prompt');
  const prompt = await readPrompt(promptFile);
  const thinking = thinkingFlag('eval', v);
  let actionPattern: RegExp | undefined;
  if (v['action-pattern']) {
    try {
      actionPattern = new RegExp(v['action-pattern'] as string, 'm');
    } catch (e) {
      throw new UsageError(`eval: --action-pattern is not a regular expression (${(e as Error).message})`);
    }
  }
  // A testbed model (its folder has the marker) is scored on what P states, per branch and turn; --rule names a
  // single rule for any model.
  const rules: TestbedRule[] = [...TESTBED_RULES, ...HARD_RULES];
  const rule = v.rule as TestbedRule | undefined;
  if (rule !== undefined && !rules.includes(rule)) throw new UsageError(`eval: --rule must be one of ${rules.join(', ')} (the testbed model's rules)`);
  const checker = rule ? singleRuleChecker(rule) : existsSync(join(modelDir, TESTBED_MARKER)) ? behaviourChecker(prompt.text) : null;
  const turns = intFlag('eval', v, 'turns', 3, 1);
  const { records, errors } = readDataset(await readTextFile(dataFile), dataFile);
  for (const e of errors) process.stderr.write(`${dataFile}:${e.line}: skipped: ${e.message}\n`);
  const inputs = records.filter((r) => r.split === 'heldout').map((r) => r.input).slice(0, intFlag('eval', v, 'limit', 1e9, 1));
  if (!inputs.length) throw new ModelError(dataFile, 'has no held-out records to evaluate on; synthesize with --heldout above 0');
  const promptWhy = await adapterPromptMismatch(adapterDir, promptFile, prompt.text);
  if (promptWhy) process.stderr.write(`warning: ${promptWhy}\n`);
  // The adapter's mode wins (it is what is evaluated); a dataset made in the other mode is said, not silently ignored.
  const [fromAdapter, fromData] = [await adapterThinking(adapterDir), datasetThinking(records, dataFile)];
  if (thinking === undefined && fromAdapter && fromData && fromAdapter.thinking !== fromData.thinking) {
    const mode = (on: boolean) => (on ? 'on' : 'off');
    process.stderr.write(`eval: ${adapterDir} was trained with thinking ${mode(fromAdapter.thinking)}, ${dataFile} made with it ` +
      `${mode(fromData.thinking)}; evaluating with thinking ${mode(fromAdapter.thinking)}, as the adapter was trained ` +
      '(--thinking or --no-thinking to choose)\n');
  }
  const maxNew = intFlag('eval', v, 'max-new-tokens', 256, 1);
  const { engine, adapter, generator, tokenizer } = await openPipeline(modelDir, {
    adapterDir, prompt, turnTokens: (checker ? turns : 1) * (maxNew + 512), command: 'eval', thinking,
  });
  generator.addAdapter('student', adapter!);
  const figures = await evaluate(engine, generator, tokenizer, prompt, inputs, { name: 'student', adapter: adapter! }, {
    maxNewTokens: maxNew, actionPattern, checker, turns, onProgress: (s) => progress(`eval: ${s}`),
  });
  process.stderr.write('\n');
  if (v.json) {
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    return;
  }
  const f = (x: number | null) => (x === null ? '-' : x.toFixed(4));
  process.stdout.write(
    `held-out inputs: ${figures.inputs}\n` +
      `                 exact match  token F1  ROUGE-L   KL(teacher || ·)\n` +
      `student (no P)   ${f(figures.exact_match).padStart(11)}  ${f(figures.token_f1).padStart(8)}  ${f(figures.rouge_l).padStart(7)}   ${f(figures.kl_teacher_student)}\n` +
      `base (no P)      ${f(figures.base.exact_match).padStart(11)}  ${f(figures.base.token_f1).padStart(8)}  ${f(figures.base.rouge_l).padStart(7)}   ${f(figures.kl_teacher_base)}\n` +
      (figures.rule_accuracy
        ? `rule "${figures.rule_accuracy.rule}" applied: teacher ${f(figures.rule_accuracy.teacher)}, student ${f(figures.rule_accuracy.student)}, ` +
          `base ${f(figures.rule_accuracy.base)}; retention ${f(figures.rule_accuracy.retention)}\n`
        : '') +
      (figures.behaviour ? `${formatBehaviour(figures.behaviour)}\n` : '') +
      `P: ${figures.prompt_tokens} tokens (${figures.tokens_saved_per_turn} fewer per request); time to first token ${figures.prefill_ms_with_prompt.toFixed(0)} ms with P, ` +
      `${figures.prefill_ms_without_prompt.toFixed(0)} ms without\n`,
  );
}
