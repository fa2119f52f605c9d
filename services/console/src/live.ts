/**
 * The live flow, from the services' Prometheus metrics: what each party is being delivered per second, the
 * field actions applied to its deliveries, dead letters by reason, quota use against the limits, and the
 * policy version each router applies beside the policy service's. Queried from Prometheus (PX_PROMETHEUS_URL),
 * which scrapes every service; the console keeps no samples of its own.
 */
import { ConsoleError } from "./errors.js";

/** The queries, by what they show; each is an instant query. */
export const LIVE_QUERIES = {
  delivered: "sum by (party) (rate(px_router_delivered_total[1m]))",
  fieldActions: "sum by (party, action) (rate(px_router_field_actions_total[1m]))",
  deadLetterRate: "sum by (reason) (rate(px_rejected_total[5m]))",
  deadLetterTotal: "sum by (reason) (px_rejected_total)",
  quotaUsage: "max by (party, class) (px_router_quota_usage_ratio)",
  quotaLimit: "max by (party, class) (px_router_quota_limit)",
  routerVersion: "max by (instance, version) (px_router_policy_info) == 1",
  routerSequence: "max by (instance) (px_router_policy_sequence)",
  routerRouting: "max by (instance) (px_router_routing)",
  releaseSequence: "max(px_policy_release_sequence)",
} as const;

export type LiveQuery = keyof typeof LIVE_QUERIES;

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export type LiveSamples = Readonly<Record<LiveQuery, readonly Sample[]>>;

export interface RouterRow {
  readonly instance: string;
  readonly version: string;
  readonly sequence?: number;
  readonly routing?: boolean;
  /** Behind the policy service's newest release. */
  readonly behind: boolean;
}

export interface LiveFlow {
  readonly delivered: readonly { readonly party: string; readonly perSec: number }[];
  readonly fieldActions: readonly { readonly party: string; readonly action: string; readonly perSec: number }[];
  /** Undefined for a party user: dead letters carry no party (they are the operator's and the regulator's). */
  readonly deadLetters?: readonly { readonly reason: string; readonly perSec: number; readonly total: number }[];
  readonly quota: readonly { readonly party: string; readonly class: string; readonly usage: number; readonly limit?: number }[];
  readonly routers: readonly RouterRow[];
  readonly releaseSequence?: number;
}

const by = <T>(xs: readonly T[], key: (x: T) => string): T[] => [...xs].sort((a, b) => key(a).localeCompare(key(b)));
const l = (s: Sample, name: string): string => s.labels[name] ?? "";

/** The page's figures from the query results; a party user sees only its own rows. */
export function liveFlow(q: LiveSamples, party?: string): LiveFlow {
  const mine = (s: Sample) => party === undefined || l(s, "party") === party;
  const limits = new Map(q.quotaLimit.map((s) => [`${l(s, "party")}|${l(s, "class")}`, s.value]));
  const seq = new Map(q.routerSequence.map((s) => [l(s, "instance"), s.value]));
  const routing = new Map(q.routerRouting.map((s) => [l(s, "instance"), s.value === 1]));
  const release = q.releaseSequence[0]?.value;
  const totals = new Map(q.deadLetterTotal.map((s) => [l(s, "reason"), s.value]));
  const reasons = new Set([...q.deadLetterRate.map((s) => l(s, "reason")), ...totals.keys()]);
  const rates = new Map(q.deadLetterRate.map((s) => [l(s, "reason"), s.value]));
  return {
    delivered: by(q.delivered.filter(mine), (s) => l(s, "party")).map((s) => ({ party: l(s, "party"), perSec: s.value })),
    fieldActions: by(q.fieldActions.filter(mine), (s) => `${l(s, "party")}|${l(s, "action")}`).map((s) => ({ party: l(s, "party"), action: l(s, "action"), perSec: s.value })),
    ...(party === undefined ? { deadLetters: [...reasons].sort().map((reason) => ({ reason, perSec: rates.get(reason) ?? 0, total: totals.get(reason) ?? 0 })) } : {}),
    quota: by(q.quotaUsage.filter(mine), (s) => `${l(s, "party")}|${l(s, "class")}`).map((s) => {
      const limit = limits.get(`${l(s, "party")}|${l(s, "class")}`);
      return { party: l(s, "party"), class: l(s, "class"), usage: s.value, ...(limit !== undefined ? { limit } : {}) };
    }),
    routers: by(q.routerVersion, (s) => l(s, "instance")).map((s) => {
      const instance = l(s, "instance");
      const sequence = seq.get(instance);
      const r = routing.get(instance);
      return { instance, version: l(s, "version"), ...(sequence !== undefined ? { sequence } : {}), ...(r !== undefined ? { routing: r } : {}), behind: sequence !== undefined && release !== undefined && sequence < release };
    }),
    ...(release !== undefined ? { releaseSequence: release } : {}),
  };
}

interface PromAnswer {
  readonly status?: string;
  readonly error?: string;
  readonly data?: { readonly resultType?: string; readonly result?: readonly { readonly metric?: Record<string, string>; readonly value?: readonly [number, string] }[] };
}

/** Prometheus's HTTP API, for instant queries. */
export class PrometheusClient {
  constructor(readonly baseUrl: string) {}

  async query(expr: string): Promise<Sample[]> {
    const url = `${this.baseUrl.replace(/\/+$/, "")}/api/v1/query?query=${encodeURIComponent(expr)}`;
    let answer: PromAnswer;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      answer = (await res.json()) as PromAnswer;
    } catch (err) {
      throw new ConsoleError("UNAVAILABLE", `Prometheus at ${this.baseUrl} did not answer (${(err as Error).message})`);
    }
    if (answer.status !== "success" || answer.data?.resultType !== "vector") throw new ConsoleError("UNAVAILABLE", `Prometheus refused '${expr}': ${answer.error ?? "not a vector"}`);
    return (answer.data.result ?? []).map((r) => ({ labels: r.metric ?? {}, value: Number(r.value?.[1]) })).filter((s) => Number.isFinite(s.value));
  }

  async all(): Promise<LiveSamples> {
    const keys = Object.keys(LIVE_QUERIES) as LiveQuery[];
    const results = await Promise.all(keys.map((k) => this.query(LIVE_QUERIES[k])));
    return Object.fromEntries(keys.map((k, i) => [k, results[i]!])) as unknown as LiveSamples;
  }
}
