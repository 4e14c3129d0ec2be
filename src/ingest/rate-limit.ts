import { BoundedCache } from '../agents/index.ts';

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Per-key token bucket: `burst` at once, refilled at `perSecond`. In memory, so the limit is per replica;
 * that bounds what one key (an agent, a tenant, a client address) can cost one server, which is its purpose.
 * At most `maxKeys` buckets are kept, least recently used dropped first: keys chosen by strangers (client
 * addresses) cannot grow it without bound. A dropped bucket starts full again, which only forgives.
 */
export class RateLimiter {
  /** Buckets never expire by age (a full one is the same as none); only the least recently used are dropped. */
  private readonly buckets: BoundedCache<{ tokens: number; updated: number }>;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    maxKeys: number = 100_000,
  ) {
    this.buckets = new BoundedCache(maxKeys, Number.POSITIVE_INFINITY, now);
  }

  /** Takes one token; when none is left, returns how many seconds until one is. */
  take(key: string): RateDecision {
    const bucket = this.refilled(key);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: this.secondsUntilToken(bucket.tokens) };
  }

  /** Whether a token is left, without taking it: an address's failures are counted apart from its requests. */
  peek(key: string): RateDecision {
    if (!this.buckets.has(key)) return { allowed: true };
    const bucket = this.refilled(key);
    return bucket.tokens >= 1 ? { allowed: true } : { allowed: false, retryAfterSeconds: this.secondsUntilToken(bucket.tokens) };
  }

  get size(): number {
    return this.buckets.size;
  }

  private secondsUntilToken(tokens: number): number {
    return Math.max(1, Math.ceil((1 - tokens) / this.perSecond));
  }

  /** The key's bucket, refilled for the time since its last use and made the most recently used. */
  private refilled(key: string): { tokens: number; updated: number } {
    const t = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = { tokens: this.burst, updated: t }));
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((t - bucket.updated) / 1000) * this.perSecond);
    bucket.updated = t;
    return bucket;
  }
}
