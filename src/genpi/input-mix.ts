// Which source writes the next round of pseudo inputs. A small model may follow no list request at all yet write
// fine user turns, or the reverse; which works is measured, not assumed: each round's requests go to the sources
// in proportion to what their last round yielded (unique inputs accepted per input asked).

/** Where a pseudo input came from: the user's seed inputs, user-turn sampling, or the numbered-list request. */
export type InputSource = 'seed' | 'user_turn' | 'list';
/** The sources the model writes for. */
export type GeneratedSource = Exclude<InputSource, 'seed'>;
export const GENERATED_SOURCES: readonly GeneratedSource[] = ['user_turn', 'list'];

/** One source's requests in one round: inputs asked (a list request asks for several) and unique ones accepted. */
export interface RoundTally {
  asked: number;
  accepted: number;
}

/** A source that has never yielded keeps this share of a round only while no source yields anything. */
export const MIN_SHARE = 0.1;

export class SourceMix {
  /** The last round each source was asked in. */
  private readonly last = new Map<GeneratedSource, RoundTally>();
  /** Inputs asked and accepted over all rounds. */
  readonly total = new Map<GeneratedSource, RoundTally>();

  constructor(readonly available: readonly GeneratedSource[]) {}

  /** Records a round; sources not asked in it keep their earlier yield. */
  record(round: Partial<Record<GeneratedSource, RoundTally>>): void {
    for (const s of this.available) {
      const t = round[s];
      if (!t || t.asked === 0) continue;
      this.last.set(s, { ...t });
      const sum = this.total.get(s) ?? { asked: 0, accepted: 0 };
      this.total.set(s, { asked: sum.asked + t.asked, accepted: sum.accepted + t.accepted });
    }
  }

  /** Unique accepted per input asked in the source's last round; null before it was asked. */
  yieldOf(s: GeneratedSource): number | null {
    const t = this.last.get(s);
    return t ? t.accepted / t.asked : null;
  }

  private everYielded(s: GeneratedSource): boolean {
    return (this.total.get(s)?.accepted ?? 0) > 0;
  }

  /**
   * The shares of the next round. A source not yet asked gets a full share (it must be tried once); a source that
   * has yielded before gets its last yield but at least MIN_SHARE, so one bad round does not end it; a source that
   * was asked and never yielded gets nothing, unless no source has yielded: then all are tried alike.
   */
  shares(): Map<GeneratedSource, number> {
    const anyYield = this.available.some((s) => this.everYielded(s));
    const weights = new Map<GeneratedSource, number>();
    for (const s of this.available) {
      const y = this.yieldOf(s);
      if (y === null) weights.set(s, 1);
      else if (this.everYielded(s)) weights.set(s, y);
      else if (!anyYield) weights.set(s, 1);
    }
    const out = new Map<GeneratedSource, number>();
    const sum = [...weights.values()].reduce((a, b) => a + b, 0);
    // Every weight zero: each eligible source has yielded before and none did last round; try them alike.
    for (const [s, w] of weights) out.set(s, sum > 0 ? w / sum : 1 / weights.size);
    // Floored sources get exactly MIN_SHARE; the others share the rest in proportion.
    const floored = [...out].filter(([s, share]) => share < MIN_SHARE && this.everYielded(s)).map(([s]) => s);
    if (!floored.length) return out;
    const rest = [...out].filter(([s]) => !floored.includes(s));
    const restSum = rest.reduce((a, [, share]) => a + share, 0);
    for (const s of floored) out.set(s, MIN_SHARE);
    for (const [s, share] of rest) out.set(s, (share / restSum) * (1 - MIN_SHARE * floored.length));
    return out;
  }

  /**
   * Unique inputs per input asked that the next round can expect: the shares' mean of the last yields (1 for a
   * source not yet tried), so a round can ask for enough to fill what is missing.
   */
  expectedYield(): number {
    let y = 0;
    for (const [s, share] of this.shares()) y += share * (this.yieldOf(s) ?? 1);
    return y;
  }

  /** `ask` inputs split by the shares; every source with a share asks at least one input. */
  allocate(ask: number): Map<GeneratedSource, number> {
    const out = new Map<GeneratedSource, number>();
    for (const [s, share] of this.shares()) if (share > 0) out.set(s, Math.max(1, Math.round(ask * share)));
    return out;
  }
}
