// Retention on the testbed models, through the product's default flow: for each rule, the demo preset's P alone
// (a phrasing the model never saw), or on the compound testbed a held-out compound P of a given length; synthesis
// with the app's default settings, training with each variant's default plan, and P's exact checker on inputs no
// record was trained on, per branch and over conversations of three turns. This is the number the method's
// defaults are chosen by: student accuracy without P over teacher accuracy with P, on its worst branch.
import type { Kernels } from '../gpu/kernel';
import { buildCompoundPrompt, compoundRulesOfPrompt, HELDOUT_PAIRS, makeMessage, type Action, type Branch, type CompoundRules, type Condition } from '../genpi/compound-testbed';
import { coverageText, type Coverage } from '../genpi/coverage';
import { formatBehaviour } from '../genpi/behaviour-table';
import type { BehaviourFigures } from '../genpi/eval-turns';
import { DEMO_PRESETS, demoPresetFor } from '../genpi/presets';
import { DEFAULT_SYNTHESIS } from '../genpi/synthesis-defaults';
import { TESTBED_WORDS, type TestbedRule } from '../genpi/testbed';
import type { Tokenizer } from '../model/tokenizer';
import { Rng } from '../util/rng';
import { stopDecision, stopRule } from '../train/early-stop';
import type { CurvePoint } from '../train/loop';
import type { TrainingVariant } from '../train/variants';
import { defaultTrainSettings, effectiveSettings } from '../ui/train-settings';
import type { SynthesisSettings } from '../worker/api';
import { EngineSession } from '../worker/session';

export interface QualityRow {
  /** The rule, or on the compound testbed "compound ~N tokens". */
  rule: string;
  /** P's tokens as the model's tokenizer counts its text. */
  promptTokens?: number;
  records: number;
  /** What the synthesized inputs cover (per branch of P among them). */
  coverage: Coverage | null;
  /** Inputs the accuracies are measured on: the held-out records' and fresh ones. */
  inputs: number;
  teacher: number;
  base: number;
  variants: {
    variant: TrainingVariant;
    /** Steps run, of the plan's maxSteps (fewer when early stopping ended the run), and the best scored step. */
    steps: number;
    maxSteps: number;
    bestStep: number | null;
    /** Turn-1 accuracy and retention (over all branches), as the table had them before later turns were scored. */
    student: number;
    retention: number | null;
    /** Per branch and per turn; `behaviour.retention` is the worst branch at any turn. */
    behaviour: BehaviourFigures | null;
    minutes: number;
  }[];
  synthesisMinutes: number;
}

/** Messages as the testbed's users write them (2–6 of its words), none equal to a training input. */
function freshInputs(n: number, exclude: Set<string>, seed: number): string[] {
  const rng = new Rng(seed);
  const out = new Set<string>();
  while (out.size < n) {
    const len = 2 + Math.floor(rng.next() * 5);
    const x = Array.from({ length: len }, () => TESTBED_WORDS[Math.floor(rng.next() * TESTBED_WORDS.length)]).join(' ');
    if (!exclude.has(x)) out.add(x);
  }
  return [...out];
}

/** One P to internalize, and the inputs to score it on given the records' inputs (trained and held out). */
export interface QualityCase {
  name: string;
  prompt: string;
  promptTokens?: number;
  testInputs: (trained: Set<string>, heldout: string[]) => string[];
}

/** The single-rule testbed's cases: each rule's demo preset, scored on held-out and fresh inputs. */
export function singleRuleCases(rules: TestbedRule[], testInputs: number): QualityCase[] {
  return rules.map((rule) => ({
    name: rule,
    prompt: DEMO_PRESETS.find((p) => p.id === `demo-${rule}`)!.text,
    testInputs: (trained, heldout) => [...heldout, ...freshInputs(Math.max(0, testInputs - heldout.length), new Set([...trained, ...heldout]), 7)],
  }));
}

/**
 * The compound testbed's cases: for each length, a held-out P (phrasings, policy sentences and a rule pair training
 * never saw: HELDOUT_PAIRS[pairIndex], or the i-th pair for the i-th length; `seed` draws other phrasings; a third
 * action for the rest, a prefix, two example turns) of about that many tokens; scored on the held-out records' inputs
 * and fresh ones, branch by branch in turn, so every branch has inputs at every turn.
 */
export function compoundCases(tok: Tokenizer, tokens: number[], testInputs: number, pairIndex?: number, seed = 0): QualityCase[] {
  const count = (s: string) => tok.encode(s, { addSpecialTokens: false }).length;
  return tokens.map((target, i) => {
    const rng = new Rng(11 + seed + i);
    const next = () => rng.next();
    const pair = HELDOUT_PAIRS[(pairIndex ?? i) % HELDOUT_PAIRS.length].map((x) => x.split(':') as [Condition, Action]);
    const rules: CompoundRules = {
      branches: pair.map(([when, action]) => ({ when, action })),
      otherwise: (['first', 'last', 'count', 'double', 'reverse'] as const).find((a) => !pair.some(([, b]) => b === a))!,
      prefix: 'OK:',
    };
    const all: Branch[] = [...rules.branches.map((b) => b.when), 'other'];
    const prompt = buildCompoundPrompt({ rules, split: 'heldout', examples: all.slice(0, 2).map((b) => makeMessage(b, next)), targetTokens: target, count, next });
    return compoundCase(`compound ~${target}`, prompt, testInputs, next, count(prompt));
  });
}

/** The app's compound demo preset as a case, with its own message draws: the P the suite's compound run uses. */
export function compoundPresetCase(testInputs: number, tok?: Tokenizer): QualityCase {
  const rng = new Rng(5);
  const prompt = demoPresetFor('compound').text;
  return compoundCase('compound preset', prompt, testInputs, () => rng.next(), tok?.encode(prompt, { addSpecialTokens: false }).length);
}

/**
 * A compound P as a case: scored on the held-out records' inputs, then fresh messages branch by branch in turn (as
 * compoundRulesOfPrompt reads P's branches) until there are `testInputs`, so every branch has inputs at every turn.
 */
export function compoundCase(name: string, prompt: string, testInputs: number, next: () => number, promptTokens?: number): QualityCase {
  const rules = compoundRulesOfPrompt(prompt);
  if (!rules) throw new Error(`${name}: P states no compound rules the testbed's checker reads`);
  const all: Branch[] = [...rules.branches.map((b) => b.when), 'other'];
  return {
    name,
    prompt,
    promptTokens,
    testInputs: (trained, heldout) => {
      const seen = new Set([...trained, ...heldout]);
      const out = [...heldout];
      for (let k = 0; out.length < testInputs && k < 100 * testInputs; k++) {
        const x = makeMessage(all[k % all.length], next);
        if (!seen.has(x)) out.push(x), seen.add(x);
      }
      return out;
    },
  };
}

export async function benchQuality(kernels: Kernels, files: Map<string, Uint8Array>, o: {
  cases: QualityCase[]; variants: TrainingVariant[]; samples?: number; reasonTokens?: number;
  /** The model's folder name, as the app would show it. */
  model?: string;
  /** User turns per evaluation conversation [3]. */
  turns?: number;
  /** Overrides of the default training settings, for sweeps: the learning rate, the PG term's weight. */
  lr?: number;
  pgWeight?: number;
  /** LoRA rank (alpha stays 2 x rank), the epochs and the batch (unset: sized to the records) and the training seed. */
  rank?: number;
  epochs?: number;
  batchSize?: number;
  seed?: number;
  /** false runs every step of the plan (early stopping off), to compare the steps it saves with what they cost. */
  earlyStop?: boolean;
  /**
   * Also scores the student with the checker at every step the held-out records are scored (from a checkpoint taken
   * there), to see whether the held-out score early stopping reads moves with the accuracy it stands in for.
   */
  trace?: boolean;
  /** Synthesis's seed [0], to tell a setting's effect from the draw of one dataset. */
  synthesisSeed?: number;
  /** Synthesis's later turns (chain-turns.ts) and its user-turn nucleus (user-turn.ts); the default's otherwise. */
  chainTurns?: number;
  userTurnTopP?: number;
  userTurnMinP?: number;
  /** Inputs gathered per input kept (input-spread.ts); the default's otherwise. */
  inputPool?: number;
  /**
   * Scores on fresh inputs only (none of any record's), not the held-out records' first: the held-out share grows
   * with the samples, so runs that differ in samples are otherwise scored on different inputs. The fresh draw is the
   * case's own, so two runs differ only where a record happens to hold one of its inputs.
   */
  freshTests?: boolean;
  log?: (s: string) => void;
}): Promise<QualityRow[]> {
  const rows: QualityRow[] = [];
  const session = new EngineSession(kernels);
  const log = o.log ?? (() => {});
  const model = o.model ?? 'demo-model';
  try {
    await session.loadModel({ kind: 'folder', name: model, files: [...files].map(([path, bytes]) => ({ path: `${model}/${path}`, file: new File([bytes as BlobPart], path) })) });
    for (const c of o.cases) {
      const { name: rule, prompt } = c;
      const d = DEFAULT_SYNTHESIS;
      const synth: SynthesisSettings = {
        samples: o.samples ?? d.samples, heldout: d.heldout, maxTurns: d.maxTurns, seed: o.synthesisSeed ?? 0, maxNewTokens: d.maxNewTokens,
        reasonTokens: o.reasonTokens ?? d.reasonTokens, seedInputs: [], environment: d.environment, actionPattern: '',
        chainTurns: o.chainTurns ?? d.chainTurns, userTurnTopP: o.userTurnTopP ?? d.userTurnTopP, userTurnMinP: o.userTurnMinP ?? d.userTurnMinP,
        inputPool: o.inputPool ?? d.inputPool,
      };
      const t0 = performance.now();
      const { records, figures } = await session.synthesize(`q-${rule}`, prompt, synth);
      const synthesisMinutes = (performance.now() - t0) / 60_000;
      log(`${rule}: ${records.length} records in ${synthesisMinutes.toFixed(1)} min; training inputs by word count ${wordCounts(records.map((r) => r.input))}`);
      if (figures.coverage) log(`${rule} inputs: ${coverageText(figures.coverage)}`);
      const trained = new Set(records.filter((r) => r.split === 'train').map((r) => r.input));
      const heldout = records.filter((r) => r.split === 'heldout').map((r) => r.input);
      const inputs = o.freshTests ? c.testInputs(new Set(records.map((r) => r.input)), []) : c.testInputs(trained, heldout);
      if (o.freshTests) log(`${rule} test inputs (fresh only): ${JSON.stringify(inputs)}`);
      const row: QualityRow = {
        rule, promptTokens: c.promptTokens, records: records.length, coverage: figures.coverage ?? null, inputs: inputs.length, teacher: 0, base: 0, variants: [], synthesisMinutes,
      };
      for (const variant of o.variants) {
        const settings = defaultTrainSettings();
        settings.loss.variant = variant;
        settings.checkpointEvery = 0;
        if (o.lr !== undefined) settings.lr = o.lr;
        if (o.pgWeight !== undefined) settings.loss.pgWeight = o.pgWeight;
        if (o.rank !== undefined) settings.lora = { ...settings.lora, rank: o.rank, alpha: 2 * o.rank };
        if (o.epochs !== undefined) settings.epochs = o.epochs;
        if (o.batchSize !== undefined) settings.batchSize = o.batchSize;
        if (o.seed !== undefined) settings.seed = o.seed;
        if (o.earlyStop === false) settings.earlyStop = false;
        const t1 = performance.now();
        const plan = await session.planTraining(prompt, records, effectiveSettings(settings));
        log(`${rule} ${variant} plan: ${plan.steps} steps; ${plan.stopping}`);
        const traced: { step: number; params: Float32Array }[] = [];
        if (o.trace) settings.checkpointEvery = stopRule(plan.steps).every;
        const r = await session.train(`q-${rule}-${variant}`, prompt, records, effectiveSettings(settings),
          o.trace ? { onCheckpoint: (c) => void traced.push({ step: c.step, params: c.params.slice() }) } : {});
        // The loop's own rule over the scores the curve carries: the step whose params the adapter holds.
        const scores = r.curve.flatMap((p) => (p.heldout === undefined ? [] : [{ step: p.step, score: p.heldout }]));
        const bestStep = scores.length ? stopDecision(scores, stopRule(plan.steps)).best?.step ?? null : null;
        const f = await session.evaluate(`q-${rule}-${variant}-eval`, { prompt, inputs, adapter: r.adapter, maxNewTokens: 32, actionPattern: '', turns: o.turns });
        const b = f.behaviour;
        if (!b) throw new Error(`${rule}: the model's testbed checker does not read this P; is ${model} the testbed P was written for?`);
        const first = b.per_turn[0];
        row.teacher = first.teacher;
        row.base = first.base;
        row.variants.push({
          variant, steps: r.steps, maxSteps: plan.steps, bestStep, student: first.student, retention: first.retention, behaviour: b,
          minutes: (performance.now() - t1) / 60_000,
        });
        if (scores.length) log(`${rule} ${variant} held-out scores: ${scores.map((s) => `${s.step}: ${s.score.toFixed(4)}`).join(', ')}`);
        for (const t of traced) {
          const tf = await session.evaluate(`q-${rule}-${variant}-trace`, { prompt, inputs, adapter: { ...r.adapter, params: t.params }, maxNewTokens: 32, actionPattern: '', turns: o.turns });
          const score = scores.find((x) => x.step === t.step)?.score;
          log(`${rule} ${variant} trace step ${t.step}: held-out score ${score?.toFixed(4) ?? '-'}, student by turn ${tf.behaviour?.per_turn.map((x) => x.student.toFixed(2)).join(' / ') ?? '-'}`);
        }
        log(`${rule} ${variant}: ${r.steps} of ${plan.steps} steps (best ${bestStep ?? '-'}), turn 1: student ${first.student.toFixed(2)}, teacher ${first.teacher.toFixed(2)}, ` +
          `base ${first.base.toFixed(2)}; worst branch ${b.worst ? `${b.worst.branch} at turn ${b.worst.turn}: ${b.worst.retention.toFixed(2)}` : '-'}`);
        log(`${rule} ${variant} curve: ${curveSummary(r.curve)}`);
        // Each variant's table as soon as it is scored: a run stopped before the last variant keeps what it measured.
        log(`${rule} ${variant} per branch and turn:\n${formatBehaviour(b)}`);
        if (b.misses.length) log(`${rule} ${variant} misses: ${b.misses.map((m) => `${m.branch} turn ${m.turn} ${JSON.stringify(m.input)} -> ${JSON.stringify(m.student)}`).join('; ')}`);
      }
      rows.push(row);
    }
  } finally {
    session.unload();
  }
  return rows;
}

/** "words: count" of the inputs, e.g. "1: 3, 2: 20, 5: 1": whether training saw the lengths the test asks. */
function wordCounts(inputs: string[]): string {
  const n = new Map<number, number>();
  for (const x of inputs) {
    const w = x.trim().split(/\s+/).filter(Boolean).length;
    n.set(w, (n.get(w) ?? 0) + 1);
  }
  return [...n].sort((a, b) => a[0] - b[0]).map(([w, c]) => `${w}: ${c}`).join(', ');
}

/**
 * Each term's loss and the gradient norm at the first step, a quarter, half and the end (means of a few steps), so a
 * variant that falls short says which term kept the step: a PG loss that stays high is a target the model cannot
 * learn, and a gradient norm far over the clip shrinks every term's share of the step.
 */
function curveSummary(curve: CurvePoint[]): string {
  const at = (f: number) => {
    const i = Math.min(curve.length - 1, Math.floor(f * curve.length));
    const w = curve.slice(Math.max(0, i - 2), i + 3);
    const mean = (k: 'sft' | 'pg' | 'kl' | 'gradNorm') => {
      const xs = w.map((p) => p[k]).filter((x): x is number => x !== null);
      return xs.length ? (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2) : '-';
    };
    return `step ${curve[i].step}: sft ${mean('sft')} pg ${mean('pg')} kl ${mean('kl')} |g| ${mean('gradNorm')}`;
  };
  return curve.length ? [0, 0.25, 0.5, 1].map(at).join('; ') : 'no steps';
}

export function formatQuality(rows: QualityRow[]): string {
  const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(0)}%`);
  const variants = rows[0]?.variants.map((v) => v.variant) ?? [];
  // Each variant's cell: turn-1 student accuracy (retention), the worst branch's retention at any turn, then steps
  // run / the plan's steps and the best step kept.
  const head = `rule            records  inputs  teacher  base  ${variants.map((v) => `${v} (ret.) worst run/plan best`.padStart(40)).join(' ')}  minutes`;
  const lines = rows.map((r) => {
    const cells = r.variants.map((v) => `${pct(v.student)} (${pct(v.retention)}) ${pct(v.behaviour?.retention ?? null)} ${v.steps}/${v.maxSteps} ${v.bestStep ?? '-'}`.padStart(40)).join(' ');
    const minutes = r.synthesisMinutes + r.variants.reduce((a, v) => a + v.minutes, 0);
    return `${r.rule.padEnd(15)} ${String(r.records).padStart(7)}  ${String(r.inputs).padStart(6)}  ${pct(r.teacher).padStart(7)}  ${pct(r.base).padStart(4)}  ${cells}  ${minutes.toFixed(1).padStart(7)}`;
  });
  // Then per P: what the inputs covered, and each variant's branches by turn.
  const details = rows.flatMap((r) => [
    '',
    `${r.rule}${r.promptTokens ? ` (P: ${r.promptTokens} tokens)` : ''}: synthesis ${r.synthesisMinutes.toFixed(1)} min; inputs ${r.coverage ? coverageText(r.coverage) : '-'}`,
    ...r.variants.flatMap((v) => [`${v.variant}, ${v.minutes.toFixed(1)} min:`, v.behaviour ? formatBehaviour(v.behaviour) : 'no per-branch figures']),
  ]);
  return [head, ...lines, ...details].join('\n');
}
