// Which messages the user-turn sampling reaches (npm run bench -- --only user-turns): on the compound testbed, for
// P of about 300 tokens with a digit branch (the branch the default nucleus starves, src/genpi/user-turn.ts), the
// share of sampled user turns in each branch of P at several temperatures and nuclei, with what the extra reach
// costs in noise (turns cut by the token limit, characters no testbed message has, length). Synthesis samples at
// temperature 1; the other rows say what a wider draw would buy before anyone makes it a setting. At synthesis's own
// draw two more rows keep half of the unique turns, as a pool of 2 would (input-spread.ts): the first drawn, and the
// half spread over their traits.
import type { Kernels } from '../gpu/kernel';
import { branchOf, buildCompoundPrompt, HELDOUT_PAIRS, makeMessage, type Action, type Branch, type CompoundRules, type Condition } from '../genpi/compound-testbed';
import { spreadInputs } from '../genpi/input-spread';
import { parsePrompt } from '../genpi/prompt';
import { userTurnOpener } from '../genpi/user-turn';
import { LlamaEngine } from '../llama/engine';
import { Generator } from '../llama/generator';
import { DirFileSet } from '../model/source-node';
import { openModel } from '../model/open';
import { loadTokenizer } from '../model/tokenizer';
import { Rng } from '../util/rng';

export interface UserTurnRow {
  rules: string;
  temperature: number;
  topP: number;
  /** Which turns the row counts: every unique one, or half of them kept as a pool of 2 would. */
  pick: 'all' | 'first half' | 'spread half';
  asked: number;
  unique: number;
  cut: number;
  /** Share of the unique turns per branch of P. */
  shares: Partial<Record<Branch, number>>;
  medianWords: number;
  maxWords: number;
  /** Unique turns with a character no testbed message has (lower-case words, digits, a trailing "?"). */
  odd: number;
}

/** (temperature, top-p) pairs: synthesis's default, then wider draws. */
export const USER_TURN_DRAWS: [number, number][] = [[1, 0.9], [1, 1], [1.2, 1], [1.4, 1], [1.2, 0.95]];

/** `asked` user turns per draw for each held-out rule pair with a digit branch, after a 300-token compound P. */
export async function benchUserTurns(kernels: Kernels, dir: string, asked = 128): Promise<UserTurnRow[]> {
  const files = new DirFileSet(dir);
  const engine = await LlamaEngine.load(kernels, await openModel(files));
  const tok = await loadTokenizer(files);
  const gen = new Generator(engine, { tokenizer: tok, slots: 32, slotLength: 1024 });
  const count = (s: string) => tok.encode(s, { addSpecialTokens: false }).length;
  const rows: UserTurnRow[] = [];
  try {
    for (const [i, pair] of HELDOUT_PAIRS.filter((p) => p.some((x) => x.startsWith('digit:'))).entries()) {
      const branches = pair.map((x) => x.split(':') as [Condition, Action]).map(([when, action]) => ({ when, action }));
      const rules: CompoundRules = { branches, otherwise: 'first', prefix: i % 2 ? null : 'OK:' };
      const rng = new Rng(100 + i);
      const next = () => rng.next();
      const all: Branch[] = [...rules.branches.map((b) => b.when), 'other'];
      const text = buildCompoundPrompt({ rules, split: 'heldout', examples: all.slice(0, 2).map((b) => makeMessage(b, next)), targetTokens: 300, count, next });
      const opener = userTurnOpener(tok, parsePrompt(text));
      if (!opener.ok) throw new Error(`user turns cannot be opened after this P: ${opener.reason}`);
      for (const [temperature, topP] of USER_TURN_DRAWS) {
        const out = await gen.generate(Array.from({ length: asked }, (_, k) => ({
          prompt: opener.prompt, prefix: opener.prefix, maxNewTokens: 64, temperature, topP, seed: 77 + k * 7919,
        })));
        const whole = out.filter((r) => r.finishReason !== 'length').map((r) => r.text.trim()).filter(Boolean);
        const unique = [...new Set(whole)];
        const row = (pick: UserTurnRow['pick'], turns: string[]): UserTurnRow => {
          const shares: Partial<Record<Branch, number>> = {};
          for (const t of turns) shares[branchOf(rules, t)] = (shares[branchOf(rules, t)] ?? 0) + 1 / turns.length;
          const words = turns.map((t) => t.split(/\s+/).length).sort((a, b) => a - b);
          return {
            rules: pair.join(', '), temperature, topP, pick, asked, unique: turns.length, cut: out.length - whole.length, shares,
            medianWords: words[words.length >> 1] ?? 0, maxWords: words.at(-1) ?? 0, odd: turns.filter((t) => /[^a-z0-9? ]/.test(t)).length,
          };
        };
        rows.push(row('all', unique));
        if (temperature === 1 && topP === 1) {
          const half = unique.length >> 1;
          rows.push(row('first half', unique.slice(0, half)), row('spread half', spreadInputs(unique, half).map((k) => unique[k])));
        }
      }
    }
  } finally {
    gen.destroy();
    engine.destroy();
  }
  return rows;
}

export function formatUserTurns(rows: UserTurnRow[]): string {
  const head = 'P (held-out pair)               temp  top-p  turns         counted/asked  cut  shares of counted turns by branch          words (median, max)  odd';
  return [head, ...rows.map((r) => {
    const shares = Object.entries(r.shares).map(([b, x]) => `${b} ${(100 * x).toFixed(0)}%`).join(', ');
    return `${r.rules.padEnd(31)} ${r.temperature.toFixed(1).padStart(4)}  ${r.topP.toFixed(2).padStart(5)}  ${r.pick.padEnd(12)}  ${`${r.unique}/${r.asked}`.padStart(13)}  ` +
      `${String(r.cut).padStart(3)}  ${shares.padEnd(42)} ${`${r.medianWords}, ${r.maxWords}`.padStart(19)}  ${String(r.odd).padStart(3)}`;
  })].join('\n');
}
