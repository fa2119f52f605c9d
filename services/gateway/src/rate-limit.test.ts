import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate-limit.js";

describe("RateLimiter", () => {
  it("grants the burst, then refuses with the wait until enough tokens have accrued", () => {
    let t = 0;
    const r = new RateLimiter(10, 20, () => t);
    expect(r.take("a", 20)).toBe(0);
    expect(r.take("a", 1)).toBe(1);
    t = 500; // 5 tokens back
    expect(r.take("a", 5)).toBe(0);
    expect(r.take("a", 10)).toBe(1);
    t = 2500; // 20 more, capped at the burst
    expect(r.take("a", 20)).toBe(0);
  });

  it("keeps parties apart", () => {
    const r = new RateLimiter(1, 2, () => 0);
    expect(r.take("a", 2)).toBe(0);
    expect(r.take("a", 1)).toBeGreaterThan(0);
    expect(r.take("b", 2)).toBe(0);
  });

  it("says how long a big request must wait", () => {
    const r = new RateLimiter(100, 1000, () => 0);
    expect(r.take("a", 1000)).toBe(0);
    expect(r.take("a", 500)).toBe(5);
  });
});
