/**
 * The SDK against the real local stack (Kafka, schema registry). Each run uses its own topic prefix, so
 * runs never see each other's records.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaMessage } from "kafkajs";
import {
  HEADERS,
  ValidationError,
  createKafka,
  createLogger,
  createRegistryClient,
  ensureTopics,
  ingressTopicsOf,
  loadConfig,
  registerEventSchemas,
  subscribeWhenReady,
  topics as topicsOf,
  type Config,
  type EventType,
} from "@parcel-exchange/shared";
import { DeliverySubscriber, PartyPublisher, SdkError, type DeliveryDecodeError } from "./index.js";
import { testTopicPrefix } from "../../../test/helpers.js";

const RUN = `${testTopicPrefix()}sdk${Date.now()}`;
const config: Config = loadConfig({ ...process.env, PX_TOPIC_PREFIX: RUN, PX_LOG_LEVEL: "silent" });
const topics = topicsOf(config.topicPrefix);
const kafka = createKafka(config, createLogger("sdk-test", "silent"));
const registry = createRegistryClient(config);

/** This test's own parties: the exchange's side (schemas, ingress topics) is set up here, with admin rights. */
const PARTIES = { shopmart: { kind: "marketplace" }, swiftpost: { kind: "courier" }, boxnet: { kind: "locker" }, jdx: { kind: "courier" } };
let ids: Record<EventType, number>;

async function provision(): Promise<void> {
  ids = await registerEventSchemas(config, topics);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, config, ingressTopicsOf(config.topicPrefix, PARTIES).map((topic) => ({ topic })));
  } finally {
    await admin.disconnect();
  }
}

interface Raw {
  topic: string;
  message: KafkaMessage;
}

/** Reads `topics` from the beginning with a fresh group until `until` holds for what was read (or 60 s pass). */
async function readRaw(topicNames: string[], until: (got: Raw[]) => boolean): Promise<Raw[]> {
  const consumer = kafka.consumer({ groupId: `${RUN}-reader-${Math.random().toString(36).slice(2)}`, readUncommitted: false });
  const got: Raw[] = [];
  await consumer.connect();
  try {
    await subscribeWhenReady(consumer, { topics: topicNames, fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const timer = setTimeout(done, 60_000);
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        got.push({ topic, message });
        if (until(got)) done();
      },
    });
    await finished;
    clearTimeout(timer);
  } finally {
    await consumer.disconnect();
  }
  return got;
}

const header = (m: KafkaMessage, name: string): string | undefined => m.headers?.[name]?.toString();

const T0 = 1_760_000_000_000;

describe("party SDK against the local stack", () => {
  let shop: PartyPublisher; // marketplace
  let courier: PartyPublisher;
  let boxes: PartyPublisher; // locker operator

  beforeAll(async () => {
    await provision();
    [shop, courier, boxes] = await Promise.all([
      PartyPublisher.connect({ party: "shopmart", config }),
      PartyPublisher.connect({ party: "swiftpost", config }),
      PartyPublisher.connect({ party: "boxnet", config }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([shop?.disconnect(), courier?.disconnect(), boxes?.disconnect()]);
  });

  it("publishes each event type on its party's ingress topic in Confluent wire format with the registered id, keyed by parcelId", async () => {
    const order = await shop.order({
      parcelId: "SW-0001",
      platform: "shopmart",
      courier: "swiftpost",
      locker: "boxnet",
      createdAt: T0,
      recipientName: "Li Lei",
      recipientPhone: "13800138000",
      recipientAddress: { province: "Guangdong", city: "Shenzhen", district: "Nanshan", detail: "Keji Rd 1" },
    });
    const scan = await courier.tracking({ parcelId: "SW-0001", courier: "swiftpost", platform: "shopmart", eventTime: T0 + 1000, status: "PICKED_UP", city: "Shenzhen" });
    const deposit = await boxes.locker({ parcelId: "SW-0001", locker: "boxnet", courier: "swiftpost", platform: "shopmart", eventTime: T0 + 2000, action: "DEPOSITED", pickupCode: "482913" });
    const sent = { OrderCreated: order, TrackingEvent: scan, LockerEvent: deposit } as const;
    const ingress = { OrderCreated: topics.ingress("shopmart", "OrderCreated"), TrackingEvent: topics.ingress("swiftpost", "TrackingEvent"), LockerEvent: topics.ingress("boxnet", "LockerEvent") } as const;

    const got = await readRaw(Object.values(ingress), (g) => g.length >= 3);
    expect(got).toHaveLength(3);

    for (const type of ["OrderCreated", "TrackingEvent", "LockerEvent"] as const) {
      const rec = got.find((r) => r.topic === ingress[type]);
      expect(rec, `${type} on ${ingress[type]}`).toBeDefined();
      const { message } = rec!;
      const value = message.value!;
      expect(value[0]).toBe(0);
      expect(value.readInt32BE(1)).toBe(ids[type]);
      expect(message.key?.toString()).toBe("SW-0001");
      expect(header(message, HEADERS.source)).toBe(sent[type][type === "OrderCreated" ? "platform" : type === "TrackingEvent" ? "courier" : "locker"]);
      expect(Math.abs(Number(header(message, HEADERS.publishedAt)) - Date.now())).toBeLessThan(120_000);
      const decoded = { ...(await registry.decode(value)) } as Record<string, unknown>;
      expect(decoded).toEqual(JSON.parse(JSON.stringify(sent[type])));
    }
    // Each publisher looked up (registered nothing) the ids of the event types it has ingress topics for.
    expect(shop.schemaIds).toEqual({ OrderCreated: ids.OrderCreated });
    expect(courier.schemaIds).toEqual({ TrackingEvent: ids.TrackingEvent });
    expect(boxes.schemaIds).toEqual({ LockerEvent: ids.LockerEvent });
  });

  it("refuses to connect a party the exchange has not provisioned, and events of a type the party has no ingress topic for", async () => {
    await expect(PartyPublisher.connect({ party: "nobody", config })).rejects.toMatchObject({
      code: "INGRESS_MISSING",
      message: expect.stringContaining(`no ingress topic ${topics.ingress("nobody", "OrderCreated")}`) as unknown,
    });
    // A marketplace naming itself as the courier passes validation, but it has no tracking topic to publish to.
    const bad = shop.tracking({ parcelId: "SW-X", courier: "shopmart", platform: "shopmart", eventTime: T0, status: "ACCEPTED" });
    await expect(bad).rejects.toBeInstanceOf(SdkError);
    await expect(bad).rejects.toMatchObject({ code: "INGRESS_MISSING" });
  });

  it("rejects an invalid event with ValidationError and sends nothing, alone or in a batch", async () => {
    const bad = courier.tracking({ parcelId: "SW-BAD-1", courier: "impostor", platform: null, eventTime: T0, status: "ACCEPTED" });
    await expect(bad).rejects.toBeInstanceOf(ValidationError);
    await expect(bad).rejects.toMatchObject({
      problems: ["courier: a party may only publish as itself; expected 'swiftpost', got 'impostor'", "platform: is required for routing (the marketplace the parcel came from)"],
    });
    const batch = courier.publishMany([
      { type: "TrackingEvent", event: { parcelId: "SW-BAD-2", courier: "swiftpost", platform: "shopmart", eventTime: T0, status: "ACCEPTED" } },
      { type: "TrackingEvent", event: { parcelId: "SW-BAD-3", courier: "swiftpost", platform: "shopmart", eventTime: T0 + 0.5, status: "ACCEPTED" } },
    ]);
    await expect(batch).rejects.toBeInstanceOf(ValidationError);

    // A valid sentinel after the rejected ones: once it is read, anything sent before it would have been too.
    await courier.tracking({ parcelId: "SW-SENTINEL", courier: "swiftpost", platform: "shopmart", eventTime: T0, status: "ACCEPTED" });
    const got = await readRaw([topics.ingress("swiftpost", "TrackingEvent")], (g) => g.some((r) => r.message.key?.toString() === "SW-SENTINEL"));
    const keys = got.map((r) => r.message.key?.toString());
    expect(keys).toContain("SW-SENTINEL");
    expect(keys.filter((k) => k?.startsWith("SW-BAD"))).toEqual([]);
  });

  it("publishMany sends one batch, each parcel's events in order on one partition", async () => {
    const jdx = await PartyPublisher.connect({ party: "jdx", config });
    try {
      const statuses = ["ACCEPTED", "PICKED_UP", "ARRIVED_HUB", "DEPARTED_HUB", "OUT_FOR_DELIVERY", "DELIVERED"] as const;
      const sent = await jdx.publishMany([
        ...statuses.map((status, i) => ({ type: "TrackingEvent" as const, event: { parcelId: "JD-1", courier: "jdx", platform: "shopmart", eventTime: T0 + i, status } })),
        { type: "TrackingEvent", event: { parcelId: "JD-2", courier: "jdx", platform: "shopmart", eventTime: T0, status: "ACCEPTED" } },
      ]);
      expect(sent).toHaveLength(7);
      const isJd = (r: Raw): boolean => r.message.key?.toString().startsWith("JD-") ?? false;
      const got = (await readRaw([topics.ingress("jdx", "TrackingEvent")], (g) => g.filter(isJd).length >= 7)).filter(isJd);
      expect(got).toHaveLength(7);
      const jd1 = got.filter((r) => r.message.key?.toString() === "JD-1");
      const decoded = await Promise.all(jd1.map(async (r) => (await registry.decode(r.message.value!)) as { status: string; eventId: string }));
      expect(decoded.map((d) => d.status)).toEqual([...statuses]);
      expect(decoded.map((d) => d.eventId)).toEqual(sent.slice(0, 6).map((s) => s.event.eventId));
    } finally {
      await jdx.disconnect();
    }
  });

  it("DeliverySubscriber decodes the router's per-recipient records, exposes its headers and skips undecodable ones", async () => {
    const errors: DeliveryDecodeError[] = [];
    const sub = await DeliverySubscriber.connect({ party: "shopmart", config, groupId: `${RUN}-shopmart`, fromBeginning: true, onError: (e) => errors.push(e) });
    const producer = kafka.producer();
    await producer.connect();
    try {
      const deliverTopic = topics.deliver("shopmart");
      expect(sub.topic).toBe(deliverTopic);
      const tracking = {
        eventId: "copy-1", parcelId: "SW-0001", courier: "swiftpost", platform: "shopmart", locker: null, eventTime: T0, status: "OUT_FOR_DELIVERY",
        province: "Guangdong", city: "Shenzhen", district: null, siteCode: null, exceptionReason: null,
        staffId: null, staffName: "Z**", staffPhone: null, recipientPhone: "138******00",
      };
      const lockerEvt = {
        eventId: "copy-2", parcelId: "SW-0001", locker: "boxnet", courier: "swiftpost", platform: "shopmart", eventTime: T0 + 1, action: "PICKED_UP",
        city: "Shenzhen", lockerId: "L-9", siteCode: null, pickupCode: null, recipientPhone: null,
      };
      await producer.send({
        topic: deliverTopic,
        messages: [
          {
            key: "SW-0001",
            value: await registry.encode(ids.TrackingEvent, tracking),
            headers: { [HEADERS.policyVersion]: "2026-11-01.3", [HEADERS.sourceEventId]: "raw-evt-1", [HEADERS.eventType]: "TrackingEvent", [HEADERS.transformed]: "staffName:mask,recipientPhone:mask" },
          },
          { key: "SW-0001", value: Buffer.from("not avro at all"), headers: { [HEADERS.policyVersion]: "2026-11-01.3" } },
          {
            key: "SW-0001",
            value: await registry.encode(ids.LockerEvent, lockerEvt),
            headers: { [HEADERS.policyVersion]: "2026-11-01.3", [HEADERS.sourceEventId]: "raw-evt-2", [HEADERS.eventType]: "LockerEvent", [HEADERS.transformed]: "" },
          },
        ],
      });

      const got = await sub.collect({ count: 2, timeoutMs: 60_000 });
      expect(got).toHaveLength(2);
      const [first, second] = got;
      expect(first).toMatchObject({
        type: "TrackingEvent",
        event: tracking,
        policyVersion: "2026-11-01.3",
        sourceEventId: "raw-evt-1",
        transformed: [{ field: "staffName", action: "mask" }, { field: "recipientPhone", action: "mask" }],
        key: "SW-0001",
      });
      expect(second).toMatchObject({ type: "LockerEvent", event: lockerEvt, sourceEventId: "raw-evt-2", transformed: [] });
      expect(second!.partition).toBe(first!.partition);
      expect(BigInt(second!.offset)).toBe(BigInt(first!.offset) + 2n);

      expect(errors).toHaveLength(1);
      expect(errors[0]!.location).toMatchObject({ topic: deliverTopic, offset: String(BigInt(first!.offset) + 1n), key: "SW-0001" });
      expect(errors[0]!.message).toMatch(/not in Confluent wire format/);
    } finally {
      await producer.disconnect();
      await sub.disconnect();
    }
  });
});
