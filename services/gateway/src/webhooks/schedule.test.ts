import { describe, expect, it } from "vitest";
import { classifyResponse, JITTER, MAX_RETRY_AFTER_MS, nextAttemptDelay, parseRetryAfter, RETRY_DELAYS_MS } from "./schedule.js";

const H = 3_600_000;
const mid = () => 0.5; // no jitter

describe("retry schedule", () => {
  it("starts with the Standard Webhooks list and totals about three days", () => {
    expect(RETRY_DELAYS_MS.slice(0, 7)).toEqual([5_000, 300_000, 1_800_000, 2 * H, 5 * H, 10 * H, 10 * H]);
    const standard = RETRY_DELAYS_MS.slice(0, 7).reduce((a, b) => a + b, 0);
    expect(standard).toBe(27 * H + 35 * 60_000 + 5_000);
    const total = RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
    expect(total).toBe(71 * H + 35 * 60_000 + 5_000);
    expect(Math.abs(total - 72 * H)).toBeLessThan(H);
  });

  it("goes first at once, then follows the table, then is exhausted", () => {
    expect(nextAttemptDelay(0, { scale: 1, rng: mid })).toBe(0);
    RETRY_DELAYS_MS.forEach((d, i) => expect(nextAttemptDelay(i + 1, { scale: 1, rng: mid })).toBe(d));
    expect(nextAttemptDelay(RETRY_DELAYS_MS.length + 1, { scale: 1, rng: mid })).toBeUndefined();
    expect(() => nextAttemptDelay(-1, { scale: 1 })).toThrow(RangeError);
    expect(() => nextAttemptDelay(1, { scale: Number.NaN })).toThrow(RangeError);
  });

  it("jitters ±20 % and no more", () => {
    expect(nextAttemptDelay(4, { scale: 1, rng: () => 0 })).toBe(2 * H * (1 - JITTER));
    expect(nextAttemptDelay(4, { scale: 1, rng: () => 0.999999 })).toBeCloseTo(2 * H * (1 + JITTER), -2);
    for (let i = 0; i < 1000; i++) {
      const d = nextAttemptDelay(2, { scale: 1 })!;
      expect(d).toBeGreaterThanOrEqual(300_000 * 0.8);
      expect(d).toBeLessThanOrEqual(300_000 * 1.2);
    }
  });

  it("scales the schedule", () => {
    expect(nextAttemptDelay(6, { scale: 0.001, rng: mid })).toBe(36_000);
    expect(nextAttemptDelay(1, { scale: 0, rng: mid })).toBe(0);
  });

  it("honours a longer Retry-After, capped at 24 h, and ignores a shorter one", () => {
    expect(nextAttemptDelay(1, { scale: 1, rng: mid, retryAfterMs: 60_000 })).toBe(60_000);
    expect(nextAttemptDelay(3, { scale: 1, rng: mid, retryAfterMs: 60_000 })).toBe(1_800_000);
    expect(nextAttemptDelay(1, { scale: 1, rng: mid, retryAfterMs: 7 * 24 * H })).toBe(MAX_RETRY_AFTER_MS);
    expect(nextAttemptDelay(99, { scale: 1, retryAfterMs: 1000 })).toBeUndefined();
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2025-03-01T12:00:00Z");
  it("reads delta-seconds", () => {
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter(" 120 ", now)).toBe(120_000);
    expect(parseRetryAfter("0", now)).toBe(0);
  });
  it("reads an HTTP-date, past dates as 0", () => {
    expect(parseRetryAfter("Sat, 01 Mar 2025 12:01:30 GMT", now)).toBe(90_000);
    expect(parseRetryAfter("Saturday, 01-Mar-25 12:00:10 GMT", now)).toBe(10_000);
    expect(parseRetryAfter("Fri, 28 Feb 2025 12:00:00 GMT", now)).toBe(0);
  });
  it("ignores what is absent or unreadable", () => {
    for (const v of [undefined, "", "-5", "1.5", "soon", "2025-03-01T12:01:00Z", "Sat, 99 Foo 2025 GMT"]) expect(parseRetryAfter(v, now)).toBeUndefined();
  });
});

describe("classifyResponse", () => {
  it.each([
    [200, "delivered"], [201, "delivered"], [204, "delivered"], [299, "delivered"],
    [410, "disable"],
    [100, "retry"], [301, "retry"], [302, "retry"], [304, "retry"], [400, "retry"], [401, "retry"], [404, "retry"],
    [408, "retry"], [413, "retry"], [429, "retry"], [500, "retry"], [502, "retry"], [503, "retry"],
  ] as const)("%i → %s", (status, expected) => expect(classifyResponse(status)).toBe(expected));
});
