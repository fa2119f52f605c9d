/**
 * Counters count only what was committed. A batch whose transaction is aborted (here: the router's
 * transactional id is fenced by another producer, as a zombie's successor would) is routed again; the
 * per-minute delivery counts for the ledger, the field-action metric and the PII quota counters must equal
 * what the delivery topic holds, read independently by a read_committed consumer.
 */
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { createKafka, createLogger, idempotentProducer, topics } from "@parcel-exchange/shared";
import { PartyPublisher } from "@parcel-exchange/sdk";
import { loadPolicyData } from "@parcel-exchange/policy-build";
import { quotaKey, utcDay } from "@parcel-exchange/router";
import { O1 } from "./fixtures.js";
import { publishPolicy, readAll, startRouter, type RunningRouter } from "./harness.js";
import { testConfig, until } from "./helpers.js";

const config = testConfig("counting", { PX_TOPIC_PARTITIONS: "1" });
const t = topics(config.topicPrefix);
let router: RunningRouter | undefined;

afterAll(async () => {
  await router?.stop();
});

async function metricValue(r: RunningRouter, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await r.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (m?.values ?? []).find((x) => Object.entries(labels).every(([k, want]) => x.labels[k] === want));
  return v === undefined ? 0 : Number(v.value);
}

describe("counters after an aborted transaction", () => {
  it("delivery counts and quota counters equal what was delivered", async () => {
    const data = await loadPolicyData();
    const contracts = structuredClone(data.contracts) as Record<string, { grants: { from: string; to: string; quota?: Record<string, { per_day: number; over: string }> }[] }>;
    for (const g of contracts["sf-express--taobao"]!.grants) if (g.from === "taobao") g.quota = { "pii.phone": { per_day: 1_000, over: "mask" } };
    await publishPolicy(config, { ...data, contracts }, "counting");
    router = await startRouter(config);
    const pub = await PartyPublisher.connect({ party: "taobao", config });
    const order = (tag: string, i: number) => ({ type: "OrderCreated" as const, event: { ...O1, eventId: `cnt-${tag}-${i}`, parcelId: `CNT${tag}${i}` } });

    await pub.publishMany(Array.from({ length: 5 }, (_, i) => order("a", i)));
    await until("first batch committed", async () => ((await metricValue(router!, "px_router_transactions_total", { result: "committed" })) >= 1 ? true : undefined), 30_000);

    // Fence the router's transactional id for the orders partition: its next transaction fails and is aborted.
    const fencer = idempotentProducer(createKafka(config, createLogger("fencer", "error")), { transactionalId: `${config.router.groupId}.${t.ingress("taobao", "OrderCreated")}.0` });
    await fencer.connect();
    await (await fencer.transaction()).abort();
    await fencer.disconnect();

    await pub.publishMany(Array.from({ length: 7 }, (_, i) => order("b", i)));
    await pub.disconnect();
    await until("an aborted transaction and its retry", async () => ((await metricValue(router!, "px_router_transactions_total", { result: "aborted" })) >= 1 && (await metricValue(router!, "px_router_consumed_total", { topic: t.ingress("taobao", "OrderCreated") })) >= 12 ? true : undefined), 60_000);

    // The oracle: what the delivery topic holds, read by an independent read_committed consumer.
    const delivered = await readAll(config, [t.deliver("sf-express")], { min: 12 });
    expect(delivered).toHaveLength(12);
    const ids = delivered.map((d) => d.message.headers?.["px-source-event-id"]?.toString()).sort();
    expect(new Set(ids).size).toBe(12);

    // Per-minute delivery counts reported for the ledger.
    await router.router.flushCounts(true);
    const reports = await readAll(config, [t.deliveryCounts], { min: 1 });
    let phoneCount = 0;
    for (const r of reports) {
      const body = JSON.parse(r.message.value!.toString()) as { counts: { party: string; dataClass: string; count: number }[] };
      for (const c of body.counts) if (c.party === "sf-express" && c.dataClass === "pii.phone") phoneCount += c.count;
    }
    expect(phoneCount).toBe(12);
    expect(await metricValue(router, "px_router_field_actions_total", { party: "sf-express", class: "pii.phone", action: "keep" })).toBe(12);
    expect(await metricValue(router, "px_router_delivered_total", { party: "sf-express" })).toBe(12);

    // PII quota counters in Redis.
    const redis = new Redis(config.redisUrl);
    const counted = Number(await redis.get(quotaKey(config.topicPrefix, utcDay(Date.now()), "sf-express", "pii.phone")));
    redis.disconnect();
    expect(counted).toBe(12);
  });
});
