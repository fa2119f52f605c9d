/**
 * A raw record just under the broker's size limit (message.max.bytes = 2 MiB on the local stack) is oversized for
 * the router, and its dead-letter copy with the reason headers would no longer fit the broker: that copy could
 * never be written, so the partition stopped for good. Now the dead letter is bounded and the router keeps routing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKafka, createLogger, HEADERS, idempotentProducer, topics } from "@parcel-exchange/shared";
import { PartyPublisher } from "@parcel-exchange/sdk";
import { DEAD_LETTER_TRUNCATED } from "@parcel-exchange/router";
import { T2 } from "./fixtures.js";
import { publishPolicy, readAll, startRouter, type RunningRouter } from "./harness.js";
import { testConfig } from "./helpers.js";

const BROKER_LIMIT = 2_097_152;
const config = testConfig("deadletter");
const t = topics(config.topicPrefix);
let router: RunningRouter;

beforeAll(async () => {
  await publishPolicy(config);
  router = await startRouter(config);
});

afterAll(async () => {
  await router?.stop();
});

describe("a record at the broker's size limit", () => {
  it("is dead-lettered in a bounded copy, and the events after it are still routed", async () => {
    // Confluent wire format's magic byte, so that the router finds it oversized rather than undecodable.
    const value = Buffer.alloc(BROKER_LIMIT - 120, 1);
    value[0] = 0;
    const producer = idempotentProducer(createKafka(config, createLogger("test", "warn")));
    await producer.connect();
    await producer.send({ topic: t.ingress("zto", "TrackingEvent"), acks: -1, messages: [{ key: T2.parcelId, value }] });
    await producer.disconnect();
    const pub = await PartyPublisher.connect({ party: "zto", config });
    await pub.tracking({ ...T2, eventId: "after-the-big-one" });
    await pub.disconnect();

    const dead = await readAll(config, [t.deadLetter], { min: 1, idleMs: 1500, timeoutMs: 60_000 });
    expect(dead.map((d) => d.message.headers?.[HEADERS.rejectReason]?.toString())).toEqual(["oversized"]);
    const dl = dead[0]!.message;
    expect(dl.headers?.[DEAD_LETTER_TRUNCATED]?.toString()).toBe(String(value.length));
    expect(dl.value!.length).toBeLessThan(config.router.maxDeadLetterBytes + 1);
    const jd = await readAll(config, [t.deliver("jd")], { min: 1, idleMs: 1500, timeoutMs: 60_000 });
    expect(jd.map((d) => d.message.headers?.[HEADERS.sourceEventId]?.toString())).toContain("after-the-big-one");
  });
});
