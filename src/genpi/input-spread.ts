// Which of a larger pool of sampled inputs synthesis keeps (docs/METHOD.md "Beyond the paper"). User-turn sampling
// writes messages about as often as the model saw them, so a branch of P keyed on something the model rarely writes
// (a digit, a closing "!") gets few inputs, and a student only learns a branch it was shown. With no checker for P's
// branches, what a small model can key a rule on is what can be counted: surface traits (a digit, the closing mark,
// a leading word many messages share, a length band). Synthesis samples a pool of `inputPool` times N and keeps N so
// that every trait value the pool holds reaches a floor share of the inputs where the pool has enough of it; the rest
// are kept in the order they were drawn, so the mix stays the model's own beyond the floors.
//
// Measured (README, "The compound testbed"; the default flow with on_policy on the v9 weights, 24 inputs a turn, 3
// turns), a pool of 2 against 1: the digit P's digit branch got 12 inputs of 64 (19%) instead of 5 (8%), and the
// other P's shares moved by a few inputs. Retention did not follow: the digit P missed the same digit input at every
// turn either way (86%); a 314-token P kept every cell at 2 where 1 missed one input (88%), another missed two
// inputs at 2 (88%, worst) where 1 missed one (88%), and the demo preset missed one input at turn 1 (83%) where 1 kept
// every cell. One input either way on every P, so the default stays 1 (DEFAULT_SYNTHESIS.inputPool) and 2 is one
// switch away (--input-pool 2; the setting inputPool).

/** Most inputs gathered per input kept: each one past 1 costs another N sampled user turns. */
export const MAX_INPUT_POOL = 4;

/** Share of the kept inputs every trait value of the pool is brought up to, where the pool holds enough of it. */
export const TRAIT_FLOOR = 0.2;

/** A leading word is a trait of its own when at least this share of the pool (and 3 messages) starts with it. */
const LEAD_SHARE = 0.05;

function leadWord(s: string): string {
  return (s.trim().split(/\s+/)[0] ?? '').toLowerCase().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
}

/**
 * The trait values of one input, one per family: a digit or none, the closing mark, the leading word where `leads`
 * holds it (else "other"), and a band of word counts.
 */
export function inputTraits(s: string, leads: ReadonlySet<string>): string[] {
  const t = s.trim();
  const last = t.slice(-1);
  const words = t.split(/\s+/).filter((w) => w !== '').length;
  const lead = leadWord(t);
  return [
    /\p{N}/u.test(t) ? 'digit:yes' : 'digit:no',
    `end:${last === '?' || last === '!' || last === '.' ? last : 'other'}`,
    `lead:${leads.has(lead) ? lead : 'other'}`,
    `words:${words <= 3 ? '1-3' : words <= 12 ? '4-12' : '13+'}`,
  ];
}

/** The leading words that are a trait in this pool (see LEAD_SHARE). */
export function commonLeads(pool: readonly string[]): Set<string> {
  const n = new Map<string, number>();
  for (const s of pool) {
    const w = leadWord(s);
    if (w) n.set(w, (n.get(w) ?? 0) + 1);
  }
  const min = Math.max(3, LEAD_SHARE * pool.length);
  return new Set([...n].filter(([, k]) => k >= min).map(([w]) => w));
}

/**
 * Indices into `pool` of the `n` inputs to keep, in pool order. The first `keep` of the pool (the user's own seed
 * inputs) are always kept. Then, greedily, the earliest input that lifts the most trait values still under their
 * floor (min(pool's count, ceil(floor · n))), until none does; then the earliest of the rest.
 */
export function spreadInputs(pool: readonly string[], n: number, o: { keep?: number; floor?: number } = {}): number[] {
  if (pool.length <= n) return pool.map((_, i) => i);
  const leads = commonLeads(pool);
  const traits = pool.map((s) => inputTraits(s, leads));
  const inPool = new Map<string, number>();
  for (const ts of traits) for (const v of ts) inPool.set(v, (inPool.get(v) ?? 0) + 1);
  const want = Math.ceil((o.floor ?? TRAIT_FLOOR) * n);
  const deficit = new Map([...inPool].map(([v, k]) => [v, Math.min(k, want)]));
  const chosen = new Set<number>();
  const choose = (i: number) => {
    chosen.add(i);
    for (const v of traits[i]) deficit.set(v, deficit.get(v)! - 1);
  };
  for (let i = 0; i < Math.min(o.keep ?? 0, n); i++) choose(i);
  while (chosen.size < n) {
    let best = -1;
    let bestScore = 0;
    for (let i = 0; i < pool.length; i++) {
      if (chosen.has(i)) continue;
      const score = traits[i].filter((v) => deficit.get(v)! > 0).length;
      if (score > bestScore) [best, bestScore] = [i, score];
    }
    if (best < 0) break;
    choose(best);
  }
  for (let i = 0; i < pool.length && chosen.size < n; i++) if (!chosen.has(i)) chosen.add(i);
  return [...chosen].sort((a, b) => a - b);
}
