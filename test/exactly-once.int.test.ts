/**
 * A router killed (SIGKILL) mid-stream and restarted delivers every event to every entitled party exactly
 * once: read_committed consumers of the delivery topics see each (party, event) once, and none missing.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { ChildProcess } from "node:child_process";
import { PartyPublisher, type ParcelEventInput } from "@parcel-exchange/sdk";
import { createKafka, createLogger, HEADERS, topics } from "@parcel-exchange/shared";
import { deliverTopics, envOf, publishPolicy, readAll, spawnRouter } from "./harness.js";
import { testConfig, until } from "./helpers.js";

const config = testConfig("eos", { PX_ROUTER_SESSION_TIMEOUT_MS: "6000" });
const t = topics(config.topicPrefix);
const PARCELS = 1500;
const children: ChildProcess[] = [];

function orderOf(i: number): ParcelEventInput {
  return { type: "OrderCreated", event: { eventId: `o-${i}`, parcelId: `P${i}`, platform: "taobao", courier: "sf-express", createdAt: Date.now(), recipientName: "周小姐", recipientPhone: "13800000000", destinationCity: "上海市" } };
}
function trackingOf(i: number): ParcelEventInput {
  return { type: "TrackingEvent", event: { eventId: `t-${i}`, parcelId: `P${i}`, courier: "sf-express", platform: "taobao", eventTime: Date.now(), status: "PICKED_UP", city: "上海市" } };
}

async function committedTotal(): Promise<number> {
  const admin = createKafka(config, createLogger("test", "warn")).admin();
  await admin.connect();
  try {
    const res = await admin.fetchOffsets({ groupId: config.router.groupId, topics: [t.ingress("taobao", "OrderCreated"), t.ingress("sf-express", "TrackingEvent")] });
    return res.flatMap((r) => r.partitions).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

describe("exactly once across a router crash", () => {
  it("loses nothing and duplicates nothing when the router is killed mid-batch and restarted", async () => {
    await publishPolicy(config);
    const taobao = await PartyPublisher.connect({ party: "taobao", config });
    const sf = await PartyPublisher.connect({ party: "sf-express", config });
    const first = await spawnRouter(envOf(config));
    children.push(first.child);

    // Publish in a stream so that the router is mid-transaction when it dies.
    let sent = 0;
    const publishing = (async () => {
      for (let i = 0; i < PARCELS; i += 50) {
        const n = Math.min(50, PARCELS - i);
        await taobao.publishMany(Array.from({ length: n }, (_, k) => orderOf(i + k)));
        await sf.publishMany(Array.from({ length: n }, (_, k) => trackingOf(i + k)));
        sent += 2 * n;
        await new Promise((r) => setTimeout(r, 15));
      }
    })();

    await until("the router to commit part of the stream", async () => ((await committedTotal()) >= PARCELS / 2 ? true : undefined), 60_000, 50);
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));
    const atKill = await committedTotal();
    expect(atKill).toBeLessThan(2 * PARCELS); // killed before the end

    const second = await spawnRouter(envOf(config));
    children.push(second.child);
    await publishing;
    expect(sent).toBe(2 * PARCELS);
    await until("the restarted router to commit everything", async () => ((await committedTotal()) >= 2 * PARCELS ? true : undefined), 90_000, 200);
    await Promise.all([taobao.disconnect(), sf.disconnect()]);

    const got = await readAll(config, deliverTopics(config, ["taobao", "sf-express", "hive-box", "jd", "zto"]), { min: 3 * PARCELS, idleMs: 3000 });
    second.child.kill("SIGTERM");
    const byParty = new Map<string, string[]>();
    for (const d of got) {
      const party = d.topic.slice(`${config.topicPrefix}.deliver.`.length);
      const list = byParty.get(party) ?? [];
      list.push(String(d.message.headers?.[HEADERS.sourceEventId]));
      byParty.set(party, list);
    }
    const orders = Array.from({ length: PARCELS }, (_, i) => `o-${i}`).sort();
    const tracking = Array.from({ length: PARCELS }, (_, i) => `t-${i}`).sort();
    // Orders go to the courier (own parcels) and Hive Box (all Taobao orders); tracking to Taobao.
    expect((byParty.get("sf-express") ?? []).sort()).toEqual(orders);
    expect((byParty.get("hive-box") ?? []).sort()).toEqual(orders);
    expect((byParty.get("taobao") ?? []).sort()).toEqual(tracking);
    expect(byParty.get("jd") ?? []).toEqual([]);
    expect(byParty.get("zto") ?? []).toEqual([]);
  });
});
