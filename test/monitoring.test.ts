/**
 * The monitoring files (infra/monitoring): the Grafana dashboard is a well-formed dashboard whose queries name
 * only metrics the services define, with labels those metrics have; the alert rules likewise, each with a
 * severity and plain-words annotations, and promtool accepts them and passes their unit tests, which cover
 * every alert firing and not firing. The metric names and labels come from reading the services' sources
 * (`new Counter({ name: "px_…", labelNames: […] })`), not from importing them: an independent oracle.
 *
 * Needs Debian's promtool (package `prometheus`; PX_PROMTOOL_BIN to use another), and fails without it.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { LIVE_QUERIES } from "@parcel-exchange/console";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MONITORING = join(ROOT, "infra/monitoring");
const PROMTOOL = process.env.PX_PROMTOOL_BIN ?? "promtool";
const run = promisify(execFile);

// ---------------------------------------------------------------- the oracle: metrics defined in the sources

interface Defined {
  readonly kind: string;
  readonly labels: readonly string[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.includes("node_modules") && /(^|\/)src\//.test(f))
    .map((f) => join(dir, f));
}

function definedMetrics(): Map<string, Defined> {
  const out = new Map<string, Defined>();
  for (const file of sourceFiles(join(ROOT, "services"))) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/new (Counter|Gauge|Histogram|Summary)\(\{([\s\S]*?)\}\)/g)) {
      const name = /name:\s*"(px_[a-z0-9_]+)"/.exec(m[2]!)?.[1];
      if (name === undefined) continue;
      const labels = /labelNames:\s*\[([^\]]*)\]/.exec(m[2]!)?.[1];
      out.set(name, { kind: m[1]!, labels: labels ? [...labels.matchAll(/"([a-zA-Z_][a-zA-Z0-9_]*)"/g)].map((l) => l[1]!) : [] });
    }
  }
  return out;
}

const METRICS = definedMetrics();
/** Labels every scraped series has: Prometheus' job and instance, the registries' default `service`. */
const TARGET_LABELS = ["job", "instance", "service"];

/** What an expression is wrong about: metric names the services do not define, labels those metrics lack. */
function problemsOf(expr: string): string[] {
  const problems: string[] = [];
  const text = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""'); // label values are not names
  const names = [...new Set([...text.matchAll(/\b(px_[a-zA-Z0-9_]+)/g)].map((m) => m[1]!))];
  if (names.length === 0) problems.push("names no px_ metric");
  const labels = new Set([...TARGET_LABELS]);
  for (const n of names) {
    const base = n.replace(/_(bucket|sum|count)$/, "");
    const d = METRICS.get(n) ?? (METRICS.get(base)?.kind === "Histogram" || METRICS.get(base)?.kind === "Summary" ? METRICS.get(base) : undefined);
    if (d === undefined) problems.push(`${n} is not defined in services/*/src`);
    else d.labels.forEach((l) => labels.add(l));
    if (n.endsWith("_bucket")) labels.add("le");
  }
  const used = new Set<string>();
  for (const m of text.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) m[1]!.split(",").map((s) => s.trim()).filter(Boolean).forEach((l) => used.add(l));
  for (const m of text.matchAll(/\{([^}]*)\}/g)) for (const l of m[1]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) used.add(l[1]!);
  for (const l of used) if (!labels.has(l)) problems.push(`label ${l} is on none of ${names.join(", ")}`);
  return problems;
}

describe("the oracle", () => {
  it("finds the services' metrics and their labels in the sources", () => {
    expect(METRICS.get("px_rejected_total")).toEqual({ kind: "Counter", labels: ["reason"] });
    expect(METRICS.get("px_router_consumer_lag")).toEqual({ kind: "Gauge", labels: ["topic", "partition"] });
    expect(METRICS.get("px_gateway_webhook_delivery_seconds")?.kind).toBe("Histogram");
    expect(METRICS.has("px_policy_release_sequence")).toBe(true);
    expect(METRICS.has("px_router_policy_sequence")).toBe(true);
  });

  it("catches an unknown metric, a label the metric lacks, and a histogram suffix on a counter", () => {
    expect(problemsOf('sum by (party) (rate(px_router_delivered_total{party=~"$party"}[1m]))')).toEqual([]);
    expect(problemsOf("rate(px_router_delivred_total[1m])")).toEqual(["px_router_delivred_total is not defined in services/*/src"]);
    expect(problemsOf("sum by (parties) (px_router_delivered_total)")).toEqual(["label parties is on none of px_router_delivered_total"]);
    expect(problemsOf("px_rejected_total_bucket")).toEqual(["px_rejected_total_bucket is not defined in services/*/src"]);
    expect(problemsOf("up == 0")).toEqual(["names no px_ metric"]);
  });
});

// ---------------------------------------------------------------- promtool

async function promtool(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(PROMTOOL, args, { cwd: MONITORING });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { code: number | string; stdout?: string; stderr?: string };
    if (e.code === "ENOENT") throw new Error(`promtool not found (${PROMTOOL}): install Debian's prometheus package (apt-get install prometheus), or set PX_PROMTOOL_BIN`);
    return { code: typeof e.code === "number" ? e.code : 1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

const scratch = mkdtempSync(join(tmpdir(), "px-monitoring-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// ---------------------------------------------------------------- the dashboard

interface Target {
  readonly refId?: string;
  readonly expr?: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
}
interface Panel {
  readonly id?: number;
  readonly type?: string;
  readonly title?: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly gridPos?: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly targets?: readonly Target[];
  readonly panels?: readonly Panel[];
}
interface Dashboard {
  readonly uid?: string;
  readonly title?: string;
  readonly schemaVersion?: number;
  readonly panels?: readonly Panel[];
  readonly templating?: { readonly list?: readonly { readonly name: string; readonly type: string; readonly query?: unknown }[] };
}

const dashboard = JSON.parse(readFileSync(join(MONITORING, "grafana-dashboard.json"), "utf8")) as Dashboard;
/** Panels, those inside collapsed rows included. */
const panels: Panel[] = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
const queries = panels.filter((p) => p.type !== "row").flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title ?? `#${p.id}`, expr: t.expr ?? "" })));

describe("the Grafana dashboard", () => {
  it("is a dashboard: uid, title, schema version, a party variable and a Prometheus data source variable", () => {
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.title).toBe("Parcel Exchange");
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(41);
    const vars = dashboard.templating?.list ?? [];
    expect(vars.find((v) => v.name === "datasource")).toMatchObject({ type: "datasource", query: "prometheus" });
    expect(vars.find((v) => v.name === "party")).toMatchObject({ type: "query" });
    expect(String(vars.find((v) => v.name === "party")!.query)).toMatch(/label_values\(px_[a-z_]+, *party\)/);
  });

  it("gives every panel a Prometheus data source, a unique id and a place inside the 24 columns, without overlaps", () => {
    expect(panels.length).toBeGreaterThan(0);
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      const where = `panel ${p.id} (${p.title})`;
      expect(p.title, where).toBeTruthy();
      const g = p.gridPos!;
      expect(g, where).toBeDefined();
      expect(g.x >= 0 && g.y >= 0 && g.w >= 1 && g.h >= 1 && g.x + g.w <= 24, `${where}: gridPos ${JSON.stringify(g)}`).toBe(true);
      if (p.type === "row") continue;
      expect(p.datasource, where).toMatchObject({ type: "prometheus" });
      expect(p.datasource!.uid, where).toBeTruthy();
      expect((p.targets ?? []).length, `${where} has no query`).toBeGreaterThan(0);
      const refIds = p.targets!.map((t) => t.refId);
      expect(new Set(refIds).size, `${where}: refIds`).toBe(refIds.length);
      for (const t of p.targets!) {
        expect(t.expr, where).toBeTruthy();
        if (t.datasource) expect(t.datasource, where).toMatchObject({ type: "prometheus" });
      }
    }
    const boxes = panels.filter((p) => p.type !== "row" && !(dashboard.panels ?? []).some((r) => r.panels?.includes(p))).map((p) => ({ id: p.id, ...p.gridPos! }));
    for (const a of boxes) {
      for (const b of boxes) {
        if (a.id! >= b.id!) continue;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `panels ${a.id} and ${b.id} overlap`).toBe(false);
      }
    }
  });

  it("queries only metrics the services define, with labels they have", () => {
    const problems = queries.flatMap((q) => problemsOf(q.expr).map((p) => `${q.panel}: ${p} (${q.expr})`));
    expect(problems).toEqual([]);
  });

  it("shows deliveries, field actions, dead letters, lag, quotas, policy per router and service, and webhook attempts", () => {
    const all = queries.map((q) => q.expr).join("\n");
    for (const m of ["px_router_delivered_total", "px_router_field_actions_total", "px_rejected_total", "px_router_consumer_lag", "px_router_quota_usage_ratio", "px_router_policy_sequence", "px_policy_release_sequence", "px_router_policy_info", "px_gateway_webhook_attempts_total"]) {
      expect(all, m).toContain(m);
    }
    expect(all).toContain("rate(px_router_delivered_total");
  });

  it("has queries that Prometheus parses (checked by promtool as recording rules)", async () => {
    const rules = {
      groups: [{ name: "dashboard", rules: queries.map((q, i) => ({ record: `px_dashboard_query_${i}`, expr: q.expr.replaceAll("$party", ".*").replaceAll("$__rate_interval", "1m").replaceAll("$__interval", "1m") })) }],
    };
    const file = join(scratch, "dashboard-queries.yml");
    writeFileSync(file, JSON.stringify(rules, null, 2));
    const r = await promtool("check", "rules", file);
    expect(r.out).toContain(`SUCCESS: ${queries.length} rules found`);
    expect(r.code).toBe(0);
  });
});

// ---------------------------------------------------------------- the alert rules

interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}
const rulesFile = YAML.parse(readFileSync(join(MONITORING, "alerts.yml"), "utf8")) as { groups: { name: string; rules: Rule[] }[] };
const alerts = rulesFile.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);

interface RuleTests {
  readonly rule_files: string[];
  readonly tests: { name: string; alert_rule_test?: { alertname: string; eval_time: string; exp_alerts?: unknown[] }[] }[];
}
const ruleTests = YAML.parse(readFileSync(join(MONITORING, "alerts.test.yml"), "utf8")) as RuleTests;

describe("the alert rules", () => {
  it("are the group parcel-exchange with the alerts operators need", () => {
    expect(rulesFile.groups.map((g) => g.name)).toEqual(["parcel-exchange"]);
    expect(alerts.map((a) => a.alert).sort()).toEqual(["PxDeadLetterRateHigh", "PxPolicyPropagationSlow", "PxQuotaNearLimit", "PxRouterBehindPolicy", "PxRouterConsumerLagHigh", "PxRouterNotRouting"]);
  });

  it("each have a severity and a summary and description in plain words", () => {
    for (const a of alerts) {
      expect(["warning", "critical"], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary?.length ?? 0, `${a.alert} summary`).toBeGreaterThan(10);
      expect(a.annotations?.description?.length ?? 0, `${a.alert} description`).toBeGreaterThan(40);
      expect(a.for, `${a.alert} for`).toMatch(/^\d+[smh]$/);
    }
  });

  it("say what the issue asks: propagation slow after 2 s, behind (critical) and not routing after 1 m, quota at 90%", () => {
    const by = Object.fromEntries(alerts.map((a) => [a.alert!, a]));
    expect(by.PxPolicyPropagationSlow!.for).toBe("2s");
    expect(by.PxRouterBehindPolicy!).toMatchObject({ for: "1m", labels: { severity: "critical" } });
    expect(by.PxRouterNotRouting!).toMatchObject({ for: "1m", expr: "px_router_routing == 0" });
    expect(by.PxQuotaNearLimit!.expr).toMatch(/px_router_quota_usage_ratio\)? >= 0\.9$/);
    expect(by.PxDeadLetterRateHigh!.expr).toContain("rate(px_rejected_total[");
    for (const a of [by.PxPolicyPropagationSlow!, by.PxRouterBehindPolicy!]) {
      expect(a.expr).toContain("px_router_policy_sequence");
      expect(a.expr).toContain("px_policy_release_sequence");
    }
  });

  it("query only metrics the services define, with labels they have", () => {
    expect(alerts.flatMap((a) => problemsOf(a.expr).map((p) => `${a.alert}: ${p}`))).toEqual([]);
  });

  it("are tested by alerts.test.yml firing and not firing, every one of them", () => {
    expect(ruleTests.rule_files).toEqual(["alerts.yml"]);
    const cases = ruleTests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      expect(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${a.alert} is never expected to fire`).toBe(true);
      expect(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${a.alert} is never expected not to fire`).toBe(true);
    }
  });

  it("pass promtool check rules", async () => {
    const r = await promtool("check", "rules", "alerts.yml");
    expect(r.out).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(r.code).toBe(0);
  });

  it("pass their promtool unit tests", async () => {
    const r = await promtool("test", "rules", "alerts.test.yml");
    expect(r.out, r.out).toContain("SUCCESS");
    expect(r.code, r.out).toBe(0);
  });
});

describe("the console's live flow", () => {
  it("queries only metrics the services define, with labels they have", () => {
    for (const [name, expr] of Object.entries(LIVE_QUERIES)) expect(problemsOf(expr), `${name}: ${expr}`).toEqual([]);
  });
});
