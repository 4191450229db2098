// A seeded random stream for tiny models, training order, synthesis and tests: the same seed gives the same bits in
// every browser and in Node, and named sub-streams keep one tensor's values fixed when another tensor is added or
// resized. It sits in src/util, below every layer that draws from it.

/** The splitmix32 finalizer: a well-mixed 32-bit value (Math.imul keeps it exact in every engine). */
function mix32(x: number): number {
  let z = x | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of a name: cheap, stable, and the same on every platform. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class Rng {
  private state: number;
  /** The state at creation, so fork() does not depend on how many numbers were drawn before it. */
  private origin: number;

  /** `seed` is any safe integer; bits above 32 are folded in so seeds 0 and 2^32 differ. */
  constructor(seed = 0) {
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 0x100000000) >>> 0;
    this.state = this.origin = mix32(lo ^ mix32(hi + 0x9e3779b9));
  }

  /** A uniform 32-bit unsigned integer (splitmix32: a Weyl counter through the finalizer). */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    return mix32(this.state);
  }

  /** Uniform in [0, 1), a multiple of 2^-32. */
  next(): number {
    return this.nextUint32() / 0x100000000;
  }

  /**
   * A standard normal sample (Irwin–Hall: the sum of 12 uniforms minus 6). Box–Muller would need Math.log and
   * Math.cos, whose last bits may differ between JavaScript engines; this sum is exact in float64 everywhere.
   * Tails stop at ±6, which random weights do not miss.
   */
  normal(): number {
    let s = 0;
    for (let i = 0; i < 12; i++) s += this.nextUint32();
    return s / 0x100000000 - 6;
  }

  /** `n` normal values with the given standard deviation and mean. */
  normals(n: number, std = 1, mean = 0): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** An independent stream named `name`: the same parent seed and name always give the same stream. */
  fork(name: string): Rng {
    const child = new Rng(0);
    child.state = child.origin = mix32(this.origin ^ mix32(hashName(name)));
    return child;
  }
}
