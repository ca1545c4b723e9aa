/**
 * Token buckets for admission control: a `TokenBucket` refills continuously up
 * to its capacity; a `RateLimiter` keeps one bucket per key (remote IP) in a
 * map whose size is bounded, so a flood of distinct addresses cannot grow it.
 */

/** Shape of a bucket: burst size and steady refill rate. */
export interface TokenBucketOptions {
  /** Largest burst; the bucket starts full. Must be > 0. */
  capacity: number;
  /** Tokens added per second. Must be >= 0. */
  refillPerSecond: number;
  /** Clock in milliseconds; injected so tests control time. */
  now?: () => number;
}

function validate(options: TokenBucketOptions): void {
  if (!(options.capacity > 0) || !Number.isFinite(options.capacity)) {
    throw new RangeError(
      `Token bucket capacity must be a positive number, got ${options.capacity}`,
    );
  }
  if (
    !(options.refillPerSecond >= 0) || !Number.isFinite(options.refillPerSecond)
  ) {
    throw new RangeError(
      `Token bucket refill rate must be >= 0, got ${options.refillPerSecond}`,
    );
  }
}

/** A single bucket. `tryTake()` is the only mutating operation. */
export class TokenBucket {
  readonly capacity: number;
  readonly refillPerSecond: number;
  #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(options: TokenBucketOptions) {
    validate(options);
    this.capacity = options.capacity;
    this.refillPerSecond = options.refillPerSecond;
    this.#now = options.now ?? Date.now;
    this.#tokens = options.capacity;
    this.#updatedAt = this.#now();
  }

  /** Tokens available now (fractional). */
  tokens(): number {
    this.#refill();
    return this.#tokens;
  }

  /** True when the bucket has refilled to capacity (it then carries no state). */
  isFull(): boolean {
    return this.tokens() >= this.capacity;
  }

  /** Takes `n` tokens if available; returns whether it did. */
  tryTake(n = 1): boolean {
    this.#refill();
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  #refill(): void {
    const now = this.#now();
    // A clock that goes backwards adds nothing rather than draining the bucket.
    const elapsedMs = Math.max(0, now - this.#updatedAt);
    this.#updatedAt = now;
    this.#tokens = Math.min(
      this.capacity,
      this.#tokens + (elapsedMs / 1000) * this.refillPerSecond,
    );
  }
}

/** A bucket per key, with a cap on how many keys are remembered. */
export interface RateLimiterOptions extends TokenBucketOptions {
  /** Most keys held at once; least recently used ones are forgotten first. */
  maxKeys: number;
}

/**
 * Per-key token buckets in a bounded map. When the map is full, buckets that
 * have refilled completely are dropped first (forgetting them changes
 * nothing), then the least recently used, down to 7/8 of `maxKeys` so the
 * sweep is paid rarely.
 */
export class RateLimiter {
  readonly maxKeys: number;
  #options: TokenBucketOptions;
  #buckets = new Map<string, TokenBucket>();

  constructor(options: RateLimiterOptions) {
    validate(options);
    if (!Number.isInteger(options.maxKeys) || options.maxKeys < 1) {
      throw new RangeError(
        `Rate limiter maxKeys must be a positive integer, got ${options.maxKeys}`,
      );
    }
    this.maxKeys = options.maxKeys;
    this.#options = {
      capacity: options.capacity,
      refillPerSecond: options.refillPerSecond,
      now: options.now ?? Date.now,
    };
  }

  /** Number of keys currently tracked. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token from `key`'s bucket; false means "over the limit". */
  allow(key: string): boolean {
    let bucket = this.#buckets.get(key);
    if (bucket) {
      // Re-insert to keep the map in least-recently-used order.
      this.#buckets.delete(key);
    } else {
      if (this.#buckets.size >= this.maxKeys) this.#evict();
      bucket = new TokenBucket(this.#options);
    }
    this.#buckets.set(key, bucket);
    return bucket.tryTake();
  }

  #evict(): void {
    const target = Math.min(this.maxKeys - 1, Math.floor(this.maxKeys * 7 / 8));
    for (const [key, bucket] of this.#buckets) {
      if (bucket.isFull()) this.#buckets.delete(key);
    }
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size <= target) break;
      this.#buckets.delete(key);
    }
  }
}
