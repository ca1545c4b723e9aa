/**
 * Seeded xorshift128 generator: the datasets must be reproducible from a
 * seed (same seed, same bytes), and fast enough to make 1 GiB in a few
 * seconds. Words are stored in the platform's byte order (little-endian on
 * every machine this runs on). Not for cryptography.
 * @module
 */

/** A reproducible stream of 32-bit words. */
export class Prng {
  #x: number;
  #y = 362436069;
  #z = 521288629;
  #w = 88675123;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(
        `Cannot seed a PRNG with ${seed}: expected an integer in 0..2^32-1`,
      );
    }
    // Mix the seed so nearby seeds give unrelated streams.
    let s = (seed ^ 0x9e3779b9) >>> 0;
    s = Math.imul(s ^ (s >>> 16), 0x85ebca6b) >>> 0;
    s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35) >>> 0;
    this.#x = (s ^ (s >>> 16)) | 0 || 1;
  }

  /** The next word, 0..2^32-1. */
  next(): number {
    const t = this.#x ^ (this.#x << 11);
    this.#x = this.#y;
    this.#y = this.#z;
    this.#z = this.#w;
    this.#w = this.#w ^ (this.#w >>> 19) ^ (t ^ (t >>> 8));
    return this.#w >>> 0;
  }

  /** An integer in 0..n-1 (n ≤ 2^32; the slight modulo bias does not matter here). */
  below(n: number): number {
    return this.next() % n;
  }

  /** Fills `buf` with noise (incompressible, nothing to deduplicate). */
  fill(buf: Uint8Array): void {
    // State in locals and signed words: several times faster than next().
    let x = this.#x, y = this.#y, z = this.#z, w = this.#w;
    const whole = buf.byteLength >>> 2;
    if ((buf.byteOffset & 3) !== 0) {
      for (let i = 0; i < buf.length; i++) buf[i] = this.next();
      return;
    }
    const words = new Int32Array(buf.buffer, buf.byteOffset, whole);
    for (let i = 0; i < whole; i++) {
      const t = x ^ (x << 11);
      x = y;
      y = z;
      z = w;
      w = w ^ (w >>> 19) ^ (t ^ (t >>> 8));
      words[i] = w;
    }
    this.#x = x;
    this.#y = y;
    this.#z = z;
    this.#w = w;
    for (let i = whole * 4; i < buf.length; i++) buf[i] = this.next();
  }
}
