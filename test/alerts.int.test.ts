/**
 * The shipped alert rules (infra/monitoring/alerts.yml) fire for real: a router on the stack dead-letters the
 * garbage a publisher keeps writing to a party's ingress topic, a real Prometheus scrapes the router and
 * evaluates the rules, and PxDeadLetterRateHigh turns `firing` for the reason `undecodable`, while the router,
 * which routes, raises no PxRouterNotRouting. The rules are the shipped ones with every `for:` shortened to 0s
 * (their thresholds and windows unchanged), so the test does not wait five minutes. On the way, the router's
 * new gauges reach Prometheus: the consumer lag of the ingress partitions and the release sequence it applies.
 */
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import type { Producer } from "kafkajs";
import { createKafka, createLogger, idempotentProducer, topics, type PolicyBundle } from "@parcel-exchange/shared";
import { publishPolicy, startRouter, type RunningRouter } from "./harness.js";
import { startLocalPrometheus, type LocalPrometheus } from "@parcel-exchange/console";
import { ROOT, testConfig, until } from "./helpers.js";

const config = testConfig("alerts", { PX_ROUTER_LAG_INTERVAL_MS: "1000" });
const t = topics(config.topicPrefix);
const INGRESS = t.ingress("zto", "TrackingEvent");

let bundle: PolicyBundle;
let router: RunningRouter;
let routerMetrics: Server;
let prom: LocalPrometheus;
let producer: Producer;
let dir: string;

interface Alert {
  readonly labels: Record<string, string>;
  readonly state: "pending" | "firing";
  readonly value: string;
}

async function alerts(): Promise<Alert[]> {
  const r = (await (await fetch(`${prom.url}/api/v1/alerts`)).json()) as { data: { alerts: Alert[] } };
  return r.data.alerts;
}

async function query(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = (await (await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  expect(r.status).toBe("success");
  return r.data.result;
}

/** The shipped rules with every `for:` at 0s, thresholds and windows as shipped. */
function rulesWithoutWaiting(): string {
  const rules = YAML.parse(readFileSync(join(ROOT, "infra/monitoring/alerts.yml"), "utf8")) as { groups: { rules: { alert?: string; for?: string }[] }[] };
  const alertNames = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
  expect(alertNames).toContain("PxDeadLetterRateHigh");
  for (const g of rules.groups) for (const r of g.rules) if (r.for !== undefined) r.for = "0s";
  const file = join(dir, "alerts.yml");
  writeFileSync(file, JSON.stringify(rules, null, 2)); // JSON is YAML
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "px-alerts-test-"));
  bundle = await publishPolicy(config);
  router = await startRouter(config);
  routerMetrics = createServer((_req, res) => {
    void router.registry.metrics().then((m) => res.writeHead(200, { "content-type": router.registry.contentType }).end(m));
  });
  await new Promise<void>((r) => routerMetrics.listen(0, "127.0.0.1", r));
  prom = await startLocalPrometheus([{ job: "router", address: `127.0.0.1:${(routerMetrics.address() as { port: number }).port}` }], { ruleFiles: [rulesWithoutWaiting()] });
  producer = idempotentProducer(createKafka(config, createLogger("test", "warn")));
  await producer.connect();
}, 240_000);

afterAll(async () => {
  await producer?.disconnect();
  await prom?.stop();
  routerMetrics?.close();
  await router?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the alert rules against a real router and Prometheus", () => {
  it("fire PxDeadLetterRateHigh while a publisher writes records that are not Avro, and not PxRouterNotRouting", async () => {
    // Five bad records every 250 ms (20/s, over the rule's 0.1/s), until the alert fires: a counter's first
    // sample shows no increase, so a single burst would not make a rate.
    let sent = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await producer.send({ topic: INGRESS, acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ key: `garbage-${sent + i}`, value: Buffer.from(`not avro ${sent + i}`) })) });
        sent += 5;
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    let firing: Alert | undefined;
    try {
      firing = await until(
        "PxDeadLetterRateHigh to fire",
        async () => (await alerts()).find((a) => a.labels.alertname === "PxDeadLetterRateHigh" && a.state === "firing"),
        90_000,
        500,
      );
    } finally {
      writing = false;
      await writer;
    }
    expect(firing.labels).toMatchObject({ alertname: "PxDeadLetterRateHigh", reason: "undecodable", severity: "warning" });
    expect(Number(firing.value)).toBeGreaterThan(0.1);
    expect(sent).toBeGreaterThan(0);
    const rejected = (await router.metrics.rejected.get()).values.find((v) => v.labels.reason === "undecodable");
    expect(rejected?.value ?? 0).toBeGreaterThan(0);
    // The router routes: its "not routing" alert is not even pending.
    expect((await query("px_router_routing")).map((s) => s.value[1])).toEqual(["1"]);
    expect((await alerts()).filter((a) => a.labels.alertname === "PxRouterNotRouting")).toEqual([]);
  });

  it("scrape the router's consumer lag per ingress partition and the release sequence it applies", async () => {
    const lag = await until(
      "px_router_consumer_lag of the ingress topic",
      async () => {
        const r = await query(`px_router_consumer_lag{topic="${INGRESS}"}`);
        return r.length === config.kafka.topicPartitions ? r : undefined;
      },
      30_000,
      500,
    );
    expect(lag.map((s) => s.metric.partition).sort()).toEqual(Array.from({ length: config.kafka.topicPartitions }, (_, i) => String(i)));
    for (const s of lag) expect(Number(s.value[1])).toBeGreaterThanOrEqual(0);
    // Every bad record was dead-lettered and its offset committed: nothing is left to route (within a scrape).
    await until("the lag to drain", async () => ((await query(`sum(px_router_consumer_lag{topic="${INGRESS}"})`))[0]?.value[1] === "0" ? true : undefined), 30_000, 500);
    const seq = await query("px_router_policy_sequence");
    expect(seq.map((s) => Number(s.value[1]))).toEqual([bundle.release!.sequence]);
  });
});
