/**
 * Per-party rate limits: a token bucket per party (rate per second, burst), refilled continuously. A request
 * of n events takes n tokens or none; when there are too few, the answer says how long until there are.
 * Per gateway instance: N instances behind a balancer allow N × the rate.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes n tokens from the party's bucket: 0 when granted, else the seconds to wait (whole, ≥ 1). */
  take(party: string, n: number): number {
    const t = this.now();
    const b = this.buckets.get(party) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.ratePerSec);
    b.at = t;
    this.buckets.set(party, b);
    if (n <= b.tokens) {
      b.tokens -= n;
      return 0;
    }
    // A request bigger than the burst can never fit: it waits as if the bucket were full, and is refused then too.
    const missing = Math.min(n, this.burst) - b.tokens;
    return Math.max(1, Math.ceil(missing / this.ratePerSec));
  }
}
