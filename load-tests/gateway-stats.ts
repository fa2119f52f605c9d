/**
 * Pure helpers of the gateway benchmark (load-tests/gateway.ts): its events, batching, per-CPU rates, latency
 * summaries and the Markdown table. No I/O, no clock, no randomness: the same inputs give the same outputs.
 */
import type { TrackingEventInput } from "@parcel-exchange/sdk";

const STATUSES = ["ACCEPTED", "PICKED_UP", "ARRIVED_HUB", "DEPARTED_HUB", "ARRIVED_HUB", "DEPARTED_HUB", "OUT_FOR_DELIVERY", "DELIVERED"] as const;
/** A fixed instant (2024-06-01T00:00:00Z), so that the events do not depend on the clock. */
export const BENCH_T0 = Date.UTC(2024, 5, 1);

/**
 * N TrackingEvents of courier sf-express for taobao orders (no locker), with staff fields the contract masks
 * for taobao. Event ids are `<tag>-<i>`; about eight events per parcel (`SF<tag>P<k>`), so the parcels spread
 * over every partition while each parcel keeps its order.
 */
export function trackingEvents(n: number, tag: string, perParcel = 8): { type: "TrackingEvent"; event: TrackingEventInput }[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a whole number >= 0, got ${n}`);
  if (!/^[A-Za-z0-9_.-]+$/.test(tag)) throw new RangeError(`tag '${tag}' must be letters, digits, '.', '_' or '-'`);
  const out: { type: "TrackingEvent"; event: TrackingEventInput }[] = [];
  for (let i = 0; i < n; i++) {
    const parcel = Math.floor(i / perParcel);
    const step = i % perParcel;
    const withStaff = step === 1 || step >= 6;
    out.push({
      type: "TrackingEvent",
      event: {
        eventId: `${tag}-${i}`,
        parcelId: `SF${tag}P${parcel}`,
        courier: "sf-express",
        platform: "taobao",
        locker: null,
        eventTime: BENCH_T0 + i * 1000,
        status: STATUSES[step % STATUSES.length]!,
        province: "浙江省",
        city: "杭州市",
        district: "西湖区",
        siteCode: `HZ-${String(parcel % 1000).padStart(3, "0")}`,
        exceptionReason: null,
        staffId: withStaff ? `SF-${String(10000 + (parcel % 90000))}` : null,
        staffName: withStaff ? "李建国" : null,
        staffPhone: withStaff ? `139${String(parcel % 100_000_000).padStart(8, "0")}` : null,
        recipientPhone: step === 6 ? `138${String((parcel * 7) % 100_000_000).padStart(8, "0")}` : null,
      },
    });
  }
  return out;
}

/** Consecutive slices of at most `size` items. */
export function chunks<T>(xs: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a whole number >= 1, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** CPU seconds (user + system) between two process.cpuUsage() readings. */
export function cpuSeconds(from: { user: number; system: number }, to: { user: number; system: number }): number {
  return (to.user - from.user + (to.system - from.system)) / 1e6;
}

/** Items per second over `ms` milliseconds (0 when no time passed). */
export const perSecond = (count: number, ms: number): number => (ms > 0 ? (count * 1000) / ms : 0);

/** Items per CPU second: the rate "per core" (0 when no CPU was used). */
export const perCpuSecond = (count: number, cpuSec: number): number => (cpuSec > 0 ? count / cpuSec : 0);

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentiles of latencies (NaN for every figure when there are none). */
export function latencySummary(xs: readonly number[]): LatencySummary {
  const s = Float64Array.from(xs).sort();
  const q = (p: number): number => (s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!);
  return { count: s.length, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: s.length === 0 ? Number.NaN : s[s.length - 1]! };
}

/**
 * How many events an open-loop sender at `rate` events/s should have sent `elapsedMs` after its start, capped
 * at `total`.
 */
export const dueEvents = (rate: number, elapsedMs: number, total: number): number => Math.min(total, Math.max(0, Math.floor((rate * elapsedMs) / 1000)));

/** A Markdown table; `align` per column, "r" right-aligned (numbers), "l" left. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], align: readonly ("l" | "r")[] = header.map((_, i) => (i === 0 ? "l" : "r"))): string {
  const bad = rows.find((r) => r.length !== header.length);
  if (bad !== undefined) throw new RangeError(`a row has ${bad.length} cells, the header ${header.length}`);
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(header), `| ${align.map((a) => (a === "r" ? "---:" : "---")).join(" | ")} |`, ...rows.map(line)].join("\n");
}

/** a ÷ b as text with three decimals, or "n/a" when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "n/a";
  return (a / b).toFixed(3);
}
