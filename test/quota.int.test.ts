/**
 * PII release quotas in Redis: past a contract's daily quota the policy turns `keep` into the contract's
 * fallback, the counter is shared in Redis, and the party's usage shows in a metric.
 */
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { DeliverySubscriber, PartyPublisher } from "@parcel-exchange/sdk";
import { loadPolicyData } from "@parcel-exchange/policy-build";
import { QuotaTracker, quotaKey, utcDay } from "@parcel-exchange/router";
import { createLogger } from "@parcel-exchange/shared";
import { O1 } from "./fixtures.js";
import { publishPolicy, startRouter, type RunningRouter } from "./harness.js";
import { testConfig } from "./helpers.js";

const config = testConfig("quota");
const LIMIT = 5;
let router: RunningRouter | undefined;

afterAll(async () => {
  await router?.stop();
});

describe("PII release quotas", () => {
  it("masks phone numbers past the contract's daily quota and reports usage", async () => {
    const data = await loadPolicyData();
    const contracts = structuredClone(data.contracts) as Record<string, { grants: { from: string; to: string; quota?: Record<string, { per_day: number; over: string }> }[] }>;
    for (const g of contracts["sf-express--taobao"]!.grants) if (g.from === "taobao") g.quota = { "pii.phone": { per_day: LIMIT, over: "mask" } };
    await publishPolicy(config, { ...data, contracts }, "quota");
    router = await startRouter(config);
    const pub = await PartyPublisher.connect({ party: "taobao", config });
    const sub = await DeliverySubscriber.connect({ party: "sf-express", config, fromBeginning: true });

    await pub.publishMany(Array.from({ length: LIMIT }, (_, i) => ({ type: "OrderCreated" as const, event: { ...O1, eventId: `q-a-${i}`, parcelId: `Q${i}` } })));
    const first = await sub.collect({ count: LIMIT, timeoutMs: 30_000 });
    expect(first.map((d) => (d.event as { recipientPhone: string | null }).recipientPhone)).toEqual(Array(LIMIT).fill(O1.recipientPhone));

    await pub.publishMany(Array.from({ length: 3 }, (_, i) => ({ type: "OrderCreated" as const, event: { ...O1, eventId: `q-b-${i}`, parcelId: `Q${LIMIT + i}` } })));
    const after = await sub.collect({ count: 3, timeoutMs: 30_000 });
    await Promise.all([pub.disconnect(), sub.disconnect()]);
    expect(after.map((d) => (d.event as { recipientPhone: string | null }).recipientPhone)).toEqual(Array(3).fill("138******78"));
    expect(after.every((d) => d.transformed.some((t) => t.field === "recipientPhone" && t.action === "mask"))).toBe(true);

    const redis = new Redis(config.redisUrl);
    const counted = Number(await redis.get(quotaKey(config.topicPrefix, utcDay(Date.now()), "sf-express", "pii.phone")));
    redis.disconnect();
    expect(counted).toBe(LIMIT); // masked numbers are not releases
    const metrics = await router.registry.metrics();
    expect(metrics).toMatch(/^px_router_quota_usage_ratio\{party="sf-express",class="pii.phone",service="router"\} 1$/m);
  });

  it("adds a committed batch's releases once, however often the count is retried", async () => {
    const redis = new Redis(config.redisUrl);
    try {
      const usage: number[] = [];
      const tracker = new QuotaTracker(redis, config.topicPrefix, createLogger("quota-test", "silent"), 0.8, { onUsage: (_p, _c, used) => usage.push(used) });
      const releases = new Map([["jd\u0000pii.name", { recipient: "jd", dataClass: "pii.name", n: 3, limit: 100 }]]);
      await tracker.record("raw.orders/0@10", releases);
      await tracker.record("raw.orders/0@10", releases); // a retry of the same committed batch
      await tracker.record("raw.orders/1@10", releases); // another partition's batch
      expect(Number(await redis.get(quotaKey(config.topicPrefix, utcDay(Date.now()), "jd", "pii.name")))).toBe(6);
      expect(usage).toEqual([3, 3, 6]);
    } finally {
      redis.disconnect();
    }
  });
});
