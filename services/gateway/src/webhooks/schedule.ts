/**
 * When to try a failed webhook delivery again, and what a response means.
 *
 * The Standard Webhooks / Svix schedule retries immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
 * 10 h after the previous failure: 27 h 35 min 5 s in all. Parcel Exchange promises to keep trying for about
 * three days (a receiver down over a weekend still gets its events), so the same list continues with three
 * more 10 h steps and a final 14 h one: 71 h 35 min 5 s from the first failure to the last attempt. Every
 * delay is jittered ±20 % so that endpoints which failed together do not all come back at once.
 */

const S = 1000;
const M = 60 * S;
const H = 60 * M;

/**
 * Delay before retry n (index n-1), counted from the failure of the attempt before it. The first attempt
 * goes immediately; after the last entry the schedule is exhausted and the endpoint is disabled.
 *
 * | retry | after previous failure | since first failure |
 * | ----: | ---------------------: | ------------------: |
 * |     1 |                    5 s |              0:00:05 |
 * |     2 |                  5 min |              0:05:05 |
 * |     3 |                 30 min |              0:35:05 |
 * |     4 |                    2 h |              2:35:05 |
 * |     5 |                    5 h |              7:35:05 |
 * |     6 |                   10 h |             17:35:05 |
 * |     7 |                   10 h |             27:35:05 | ← end of the Standard Webhooks list
 * |     8 |                   10 h |             37:35:05 |
 * |     9 |                   10 h |             47:35:05 |
 * |    10 |                   10 h |             57:35:05 |
 * |    11 |                   14 h |             71:35:05 | ≈ 3 days; then the endpoint is disabled
 */
export const RETRY_DELAYS_MS: readonly number[] = Object.freeze([
  5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H, 10 * H, 10 * H, 10 * H, 14 * H,
]);

/** Share of a delay by which jitter moves it either way. */
export const JITTER = 0.2;
/** The longest a receiver's Retry-After can push a retry out. */
export const MAX_RETRY_AFTER_MS = 24 * H;

export interface DelayOptions {
  /** Multiplies every scheduled delay (1 in production; small in tests and local demos). */
  scale: number;
  /** Uniform in [0, 1); Math.random by default. */
  rng?: () => number;
  /** What the receiver asked for with Retry-After, in ms (see parseRetryAfter). */
  retryAfterMs?: number;
}

/**
 * Milliseconds to wait before the next attempt, after `failedAttempts` attempts have failed (0: the first
 * attempt, which goes at once). `undefined` when the schedule is exhausted: disable the endpoint. A
 * Retry-After longer than the scheduled delay wins, up to MAX_RETRY_AFTER_MS; a shorter one does not
 * hasten the retry.
 */
export function nextAttemptDelay(failedAttempts: number, opts: DelayOptions): number | undefined {
  if (!Number.isInteger(failedAttempts) || failedAttempts < 0) throw new RangeError("failedAttempts is a whole number ≥ 0");
  if (!(opts.scale >= 0) || !Number.isFinite(opts.scale)) throw new RangeError("scale is a finite number ≥ 0");
  if (failedAttempts === 0) return 0;
  const base = RETRY_DELAYS_MS[failedAttempts - 1];
  if (base === undefined) return undefined;
  const r = (opts.rng ?? Math.random)();
  const scheduled = Math.round(base * opts.scale * (1 + (2 * r - 1) * JITTER));
  const asked = opts.retryAfterMs === undefined ? 0 : Math.min(Math.max(opts.retryAfterMs, 0), MAX_RETRY_AFTER_MS);
  return Math.max(scheduled, asked);
}

/**
 * A Retry-After header (RFC 9110 §10.2.3) as milliseconds from `nowMs`: delta-seconds or an HTTP-date.
 * `undefined` when absent or unreadable; a date in the past gives 0.
 */
export function parseRetryAfter(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const v = header.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms) starts with the weekday's name.
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export type ResponseClass = "delivered" | "retry" | "disable";

/**
 * What a receiver's status means: 2xx delivered; 410 Gone means the endpoint was removed on purpose, so it is
 * disabled at once; anything else (3xx, which is never followed, 429, other 4xx and 5xx) is retried on the
 * schedule, since a misconfigured receiver is usually fixed within the three days.
 */
export function classifyResponse(status: number): ResponseClass {
  if (status >= 200 && status <= 299) return "delivered";
  if (status === 410) return "disable";
  return "retry";
}
