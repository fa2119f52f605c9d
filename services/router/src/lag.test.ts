import { describe, expect, it } from "vitest";
import type { Kafka } from "kafkajs";
import { Registry } from "prom-client";
import { createLogger } from "@parcel-exchange/shared";
import { LagMonitor, partitionLag, topicLag } from "./lag.js";
import { routerMetrics } from "./metrics.js";

describe("partitionLag", () => {
  it("is the high watermark minus the committed offset", () => {
    expect(partitionLag(100n, 0n, 60n)).toBe(40n);
    expect(partitionLag(100n, 20n, 100n)).toBe(0n);
  });

  it("with no committed offset (-1) is the high minus the low watermark: the group starts from the beginning", () => {
    expect(partitionLag(100n, 30n, -1n)).toBe(70n);
    expect(partitionLag(0n, 0n, -1n)).toBe(0n);
  });

  it("counts from the low watermark when retention deleted records past the committed offset", () => {
    expect(partitionLag(100n, 80n, 50n)).toBe(20n);
  });

  it("is never negative (a committed offset past the watermark read a moment earlier)", () => {
    expect(partitionLag(100n, 0n, 101n)).toBe(0n);
  });

  it("keeps offsets beyond 2^53 exact", () => {
    expect(partitionLag(9_007_199_254_740_995n, 0n, 9_007_199_254_740_990n)).toBe(5n);
  });
});

describe("topicLag", () => {
  it("matches committed offsets to partitions; a partition the group never committed counts from the low watermark", () => {
    const lag = topicLag(
      [
        { partition: 2, high: "10", low: "4" },
        { partition: 0, high: "50", low: "0" },
        { partition: 1, high: "7", low: "0" },
      ],
      [
        { partition: 0, offset: "45" },
        { partition: 1, offset: "-1" },
      ],
    );
    expect(lag).toEqual([
      { partition: 0, lag: 5 },
      { partition: 1, lag: 7 },
      { partition: 2, lag: 6 },
    ]);
  });
});

/** A kafkajs stand-in whose admin answers from tables (or fails). */
function fakeKafka(o: { watermarks: Record<string, { partition: number; high: string; low: string }[]>; committed: Record<string, { partition: number; offset: string }[]>; fail?: () => boolean }): { kafka: Kafka; groups: string[] } {
  const groups: string[] = [];
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    fetchTopicOffsets: async (topic: string) => {
      if (o.fail?.()) throw new Error("broker unreachable");
      return (o.watermarks[topic] ?? []).map((w) => ({ ...w, offset: w.high }));
    },
    fetchOffsets: async ({ groupId, topics }: { groupId: string; topics: string[] }) => {
      groups.push(groupId);
      return topics.map((topic) => ({ topic, partitions: (o.committed[topic] ?? []).map((c) => ({ ...c, metadata: null })) }));
    },
  };
  return { kafka: { admin: () => admin } as unknown as Kafka, groups };
}

async function lagSeries(registry: Registry): Promise<Record<string, number>> {
  const m = (await registry.getSingleMetric("px_router_consumer_lag")!.get()).values;
  return Object.fromEntries(m.map((v) => [`${v.labels.topic}/${v.labels.partition}`, v.value]));
}

describe("LagMonitor", () => {
  it("sets px_router_consumer_lag per topic and partition, and replaces every series at each measurement", async () => {
    const registry = new Registry();
    const metrics = routerMetrics(registry);
    const tables = {
      watermarks: { "px.raw.zto.tracking": [{ partition: 0, high: "12", low: "0" }, { partition: 1, high: "3", low: "1" }], "px.raw.jd.orders": [{ partition: 0, high: "5", low: "0" }] },
      committed: { "px.raw.zto.tracking": [{ partition: 0, offset: "10" }, { partition: 1, offset: "-1" }], "px.raw.jd.orders": [{ partition: 0, offset: "5" }] },
    };
    const { kafka, groups } = fakeKafka(tables);
    let topics = ["px.raw.zto.tracking", "px.raw.jd.orders"];
    const monitor = new LagMonitor({ kafka, groupId: "px.router.routers", topics: () => topics, gauge: metrics.consumerLag, log: createLogger("lag-test", "silent"), intervalMs: 60_000 });
    await monitor.measure();
    expect(await lagSeries(registry)).toEqual({ "px.raw.zto.tracking/0": 2, "px.raw.zto.tracking/1": 2, "px.raw.jd.orders/0": 0 });
    expect(groups).toEqual(["px.router.routers"]);
    topics = ["px.raw.jd.orders"];
    await monitor.measure();
    expect(await lagSeries(registry)).toEqual({ "px.raw.jd.orders/0": 0 });
    await monitor.stop();
  });

  it("keeps the last values and does not throw out of its timer when a measurement fails", async () => {
    const registry = new Registry();
    const metrics = routerMetrics(registry);
    let failing = false;
    const { kafka } = fakeKafka({ watermarks: { t: [{ partition: 0, high: "9", low: "0" }] }, committed: { t: [{ partition: 0, offset: "4" }] }, fail: () => failing });
    const debug: string[] = [];
    const log = createLogger("lag-test", "silent");
    log.debug = ((_o: unknown, msg: string) => void debug.push(msg)) as typeof log.debug;
    const monitor = new LagMonitor({ kafka, groupId: "g", topics: () => ["t"], gauge: metrics.consumerLag, log, intervalMs: 10 });
    await monitor.measure();
    failing = true;
    await expect(monitor.measure()).rejects.toThrow("broker unreachable");
    monitor.start(); // measures at once and then every 10 ms, each failing
    await new Promise((r) => setTimeout(r, 60));
    await monitor.stop();
    expect(debug.length).toBeGreaterThan(0);
    expect(debug[0]).toMatch(/consumer lag not measured/);
    expect(await lagSeries(registry)).toEqual({ "t/0": 5 });
  });
});
