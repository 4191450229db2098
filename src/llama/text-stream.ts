// The text of a generated sequence as tokens arrive: decoded without special tokens, cut at the first stop string,
// and released for streaming only once it can no longer turn out to be the start of a stop string or half of a
// multi-byte character.
import type { Tokenizer } from '../model/tokenizer';

export class TextStream {
  /** The text so far (up to, not including, a stop string). */
  text = '';
  private readonly ids: number[] = [];
  private emitted = 0;
  private stopped = false;
  private readonly holdBack: number;

  constructor(
    private readonly tokenizer: Tokenizer | undefined,
    private readonly stopStrings: string[],
  ) {
    this.holdBack = Math.max(0, ...stopStrings.map((s) => s.length - 1));
  }

  /** Adds a token (a stop token adds no text); true when a stop string has now appeared. */
  push(token: number, isStopToken: boolean): boolean {
    if (!this.tokenizer || this.stopped) return this.stopped;
    if (!isStopToken) this.ids.push(token);
    const full = this.tokenizer.decode(this.ids, { skipSpecialTokens: true });
    let cut = -1;
    for (const s of this.stopStrings) {
      const i = s ? full.indexOf(s) : -1;
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    this.stopped = cut >= 0;
    this.text = this.stopped ? full.slice(0, cut) : full;
    return this.stopped;
  }

  /** Text that is now final and was not returned before. */
  takeFinal(): string {
    let end = this.stopped ? this.text.length : Math.max(this.emitted, this.text.length - this.holdBack);
    while (!this.stopped && end > this.emitted && this.text.charCodeAt(end - 1) === 0xfffd) end--;
    const out = this.text.slice(this.emitted, end);
    this.emitted = end;
    return out;
  }

  /** Everything not yet returned (at the end of the sequence). */
  flush(): string {
    const out = this.text.slice(this.emitted);
    this.emitted = this.text.length;
    return out;
  }
}
