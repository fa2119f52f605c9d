import type avro from "avsc";
import { beforeEach, describe, expect, it } from "vitest";
import { HEADERS, PolicyError, describeSchema, schemaJson, sourceOf, topics, type EventType, type PartyInfo } from "@parcel-exchange/shared";
import { SchemaCatalog, transformFor, type DecisionEngine, type EvalResult, type FieldAction, type PolicyInput, type SchemaSource } from "@parcel-exchange/decision";
import { ActivePolicy, RouterCore, type BatchResult, type CoreSettings, type QuotaView } from "./core.js";
import type { OutRecord, RawRecord } from "./records.js";

// ---------------------------------------------------------------------------------------------------------------
// Test doubles: the registry lookup (id → schema JSON) and the policy engine.

const ID: Record<EventType, number> = { OrderCreated: 101, TrackingEvent: 102, LockerEvent: 103 };
const NOT_AN_EVENT_ID = 201;
const UNKNOWN_ID = 404;

const NOT_AN_EVENT_SCHEMA = {
  type: "record",
  name: "Invoice",
  namespace: "exchange.parcel.v1",
  fields: [{ name: "eventId", type: "string", dataClass: "routing" }],
};

class MemorySchemaSource implements SchemaSource {
  readonly lookups: number[] = [];
  private readonly byId = new Map<number, unknown>([
    [ID.OrderCreated, schemaJson("OrderCreated")],
    [ID.TrackingEvent, schemaJson("TrackingEvent")],
    [ID.LockerEvent, schemaJson("LockerEvent")],
    [NOT_AN_EVENT_ID, NOT_AN_EVENT_SCHEMA],
  ]);

  schemaById(id: number): Promise<unknown> {
    this.lookups.push(id);
    return Promise.resolve(this.byId.get(id));
  }
}

// The parties of policies/data/parties.json.
const PARTIES: Record<string, PartyInfo> = {
  taobao: { kind: "marketplace", network: "cainiao", name: "Taobao" },
  jd: { kind: "marketplace", network: "jd-logistics", name: "JD.com" },
  "sf-express": { kind: "courier", network: "sf", name: "SF Express" },
  zto: { kind: "courier", network: "cainiao", name: "ZTO Express" },
  "hive-box": { kind: "locker", network: "hive-box", name: "Hive Box" },
};

type Decide = (input: PolicyInput) => unknown;

class FakeEngine implements DecisionEngine {
  readonly calls: PolicyInput[] = [];
  readonly bundle: DecisionEngine["bundle"];

  constructor(
    private readonly decide: Decide,
    readonly version = "contracts-2025-10+3f2a9c1b7d0e",
  ) {
    this.bundle = { version, data: { parties: PARTIES } };
  }

  evaluate(input: PolicyInput): EvalResult {
    this.calls.push(input);
    return { result: this.decide(input), seconds: 0.0002 };
  }

  callsFor(recipient: string): PolicyInput[] {
    return this.calls.filter((c) => c.recipient === recipient);
  }
}

/** A decision by class, as the contracts grant: routing is always kept, classes not listed are dropped. */
function byClass(input: PolicyInput, classes: Record<string, FieldAction>, quotaLimits: Record<string, number> = {}): unknown {
  const fields: Record<string, { action: FieldAction; rule: string }> = {};
  for (const f of input.fields) {
    const action = f.class === "routing" ? "keep" : (classes[f.class] ?? "drop");
    fields[f.name] = { action, rule: `test.${f.class}.${action}` };
  }
  return { deliver: true, fields, quota_limits: quotaLimits, reasons: [`test grant to ${input.recipient}`] };
}

const NO_DELIVERY = { deliver: false, fields: {}, reasons: ["no contract"] };
const ALL_KEEP = { public: "keep", business: "keep", "pii.name": "keep", "pii.phone": "keep", "pii.address": "keep", "staff.pii": "keep" } as const;

/** taobao → zto (all kept, phone quota), taobao → hive-box (PII masked, business dropped), nothing to others. */
const contractPolicy: Decide = (input) => {
  if (input.recipient === "zto") return byClass(input, ALL_KEEP, { "pii.phone": 5_000_000 });
  if (input.recipient === "hive-box") return byClass(input, { public: "keep", "pii.name": "mask", "pii.phone": "mask", "pii.address": "mask" });
  return NO_DELIVERY;
};

const NO_QUOTA: QuotaView = { stateOf: () => ({ sig: "", quota: {} }) };

const SETTINGS: CoreSettings = {
  masks: { phone: { keepStart: 3, keepEnd: 2 }, name: { keepStart: 1 } },
  tokenKey: "unit-test-master-key-0123456789abcdef",
  maxRecordBytes: 1_048_576,
  topicPrefix: "px",
};
const T = topics("px");

// ---------------------------------------------------------------------------------------------------------------
// Records in the Confluent wire format.

const TYPES: Record<EventType, avro.Type> = {
  OrderCreated: describeSchema(schemaJson("OrderCreated")).type,
  TrackingEvent: describeSchema(schemaJson("TrackingEvent")).type,
  LockerEvent: describeSchema(schemaJson("LockerEvent")).type,
};

function wire(schemaId: number, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeInt32BE(schemaId, 1);
  return Buffer.concat([head, body]);
}

function encodeEvent(type: EventType, ev: Record<string, unknown>): Buffer {
  return wire(ID[type], TYPES[type].toBuffer(ev));
}

function decodeOut(type: EventType, rec: OutRecord): Record<string, unknown> {
  expect(rec.value[0]).toBe(0);
  expect(rec.value.readInt32BE(1)).toBe(ID[type]);
  const d = TYPES[type].decode(rec.value, 5);
  expect(d.offset).toBe(rec.value.length);
  return d.value as Record<string, unknown>;
}

const ADDRESS = { province: "浙江省", city: "杭州市", district: "余杭区", detail: "文一西路969号5号楼3单元502室" };

function order(o: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: "evt-oc-0001",
    parcelId: "ZT7800012345",
    platform: "taobao",
    courier: "zto",
    locker: "hive-box",
    createdAt: 1_760_000_000_000,
    orderId: "TB-20251009-778812",
    merchant: "杭州小米旗舰店",
    recipientName: "张三丰",
    recipientPhone: "13812345678",
    recipientAddress: ADDRESS,
    destinationCity: "杭州市",
    ...o,
  };
}

function tracking(o: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: "evt-te-0001",
    parcelId: "ZT7800012345",
    courier: "zto",
    platform: "taobao",
    locker: null,
    eventTime: 1_760_000_100_000,
    status: "OUT_FOR_DELIVERY",
    province: "浙江省",
    city: "杭州市",
    district: "余杭区",
    siteCode: "HZ-YH-017",
    exceptionReason: null,
    staffId: "ZTO-88213",
    staffName: "李四",
    staffPhone: "13900001111",
    recipientPhone: "13812345678",
    ...o,
  };
}

let offset = 0;
/** A record of the given bytes, by default on Taobao's OrderCreated ingress topic. */
function raw(value: Buffer | null, o: Partial<RawRecord> = {}): RawRecord {
  offset++;
  return {
    topic: T.ingress("taobao", "OrderCreated"),
    partition: 2,
    offset: String(offset),
    timestamp: String(1_760_000_000_000 + offset),
    key: Buffer.from("ZT7800012345"),
    value,
    headers: { [HEADERS.publishedAt]: "1760000000000", "x-trace": "abc" },
    ...o,
  };
}

/** An event on the ingress topic of its source (the party that publishes it), unless `o` says otherwise. */
const rawEvent = (type: EventType, ev: Record<string, unknown>, o: Partial<RawRecord> = {}) => raw(encodeEvent(type, ev), { topic: T.ingress(String(sourceOf(type, ev)), type), ...o });
const rawOrder = (o: Record<string, unknown> = {}) => rawEvent("OrderCreated", order(o));

// ---------------------------------------------------------------------------------------------------------------

let source: MemorySchemaSource;
let core: RouterCore;

function makeCore(settings: CoreSettings = SETTINGS): RouterCore {
  return new RouterCore(new SchemaCatalog(source), settings);
}

async function run(policy: ActivePolicy, records: RawRecord[], quota: QuotaView = NO_QUOTA, c: RouterCore = core): Promise<BatchResult> {
  await c.prepare(records);
  return c.process(policy, records, quota);
}

const header = (rec: OutRecord, name: string): string | undefined => {
  const v = rec.headers[name];
  return v === undefined ? undefined : String(v);
};

beforeEach(() => {
  source = new MemorySchemaSource();
  core = makeCore();
});

describe("RouterCore: delivery", () => {
  it("delivers to each entitled party with its own transformed copy and the px-* headers", async () => {
    const engine = new FakeEngine(contractPolicy);
    const policy = new ActivePolicy(engine);
    const rec = rawOrder();
    const out = await run(policy, [rec]);

    expect(out.deadLetters).toEqual([]);
    expect(out.consumed).toBe(1);
    expect([...out.deliveries.keys()].sort()).toEqual(["hive-box", "zto"]);

    const toZto = out.deliveries.get("zto")!;
    expect(toZto).toHaveLength(1);
    expect(decodeOut("OrderCreated", toZto[0]!)).toEqual(order());
    expect(toZto[0]!.key).toBe("ZT7800012345");
    expect(toZto[0]!.headers).toEqual({
      [HEADERS.policyVersion]: "contracts-2025-10+3f2a9c1b7d0e",
      [HEADERS.sourceEventId]: "evt-oc-0001",
    });

    const toHive = out.deliveries.get("hive-box")!;
    expect(toHive).toHaveLength(1);
    expect(decodeOut("OrderCreated", toHive[0]!)).toEqual(
      order({
        orderId: null,
        merchant: null,
        recipientName: "张**",
        recipientPhone: "138******78",
        recipientAddress: { ...ADDRESS, detail: "文一西路969号5号楼" },
      }),
    );
    expect(header(toHive[0]!, HEADERS.transformed)).toBe("orderId:drop,merchant:drop,recipientName:mask,recipientPhone:mask,recipientAddress:mask");
    expect(header(toHive[0]!, HEADERS.sourceEventId)).toBe("evt-oc-0001");
    expect(header(toHive[0]!, HEADERS.policyVersion)).toBe(engine.version);

    expect(out.timestamps).toEqual([Number(rec.timestamp)]);
  });

  it("asks the policy about every party except the source, with the event's routing attributes and field classes", async () => {
    const engine = new FakeEngine(contractPolicy);
    await run(new ActivePolicy(engine), [rawOrder()]);
    expect(engine.calls.map((c) => c.recipient).sort()).toEqual(["hive-box", "jd", "sf-express", "zto"]);
    const call = engine.callsFor("zto")[0]!;
    expect(call.event).toEqual({ type: "OrderCreated", source: "taobao", platform: "taobao", courier: "zto", locker: "hive-box" });
    expect(call.fields).toContainEqual({ name: "recipientPhone", class: "pii.phone" });
    expect(call.fields).toContainEqual({ name: "recipientAddress", class: "pii.address" });
    expect(call.fields).toHaveLength(12);
    expect(call.quota).toEqual({});
  });

  it("never delivers to the source party, even when the policy would allow it", async () => {
    const engine = new FakeEngine((input) => byClass(input, ALL_KEEP));
    const out = await run(new ActivePolicy(engine), [rawOrder(), rawEvent("TrackingEvent", tracking())]);
    expect(out.deadLetters).toEqual([]);
    // OrderCreated is from taobao, TrackingEvent from zto.
    expect(out.deliveries.get("taobao")).toHaveLength(1);
    expect(decodeOut("TrackingEvent", out.deliveries.get("taobao")![0]!).eventId).toBe("evt-te-0001");
    expect(out.deliveries.get("zto")).toHaveLength(1);
    expect(decodeOut("OrderCreated", out.deliveries.get("zto")![0]!).eventId).toBe("evt-oc-0001");
    expect(engine.calls.filter((c) => c.recipient === c.event.source)).toEqual([]);
    for (const p of ["jd", "sf-express", "hive-box"]) expect(out.deliveries.get(p)).toHaveLength(2);
  });

  it("delivers the records of a batch to a party in input order", async () => {
    const engine = new FakeEngine(contractPolicy);
    const recs = [1, 2, 3].map((i) => rawOrder({ eventId: `evt-${i}`, parcelId: `ZT${i}` }));
    const out = await run(new ActivePolicy(engine), recs);
    expect(out.deliveries.get("zto")!.map((r) => r.key)).toEqual(["ZT1", "ZT2", "ZT3"]);
    expect(out.deliveries.get("zto")!.map((r) => header(r, HEADERS.sourceEventId))).toEqual(["evt-1", "evt-2", "evt-3"]);
    expect(out.timestamps).toEqual(recs.map((r) => Number(r.timestamp)));
  });

  it("re-encodes records larger than its scratch buffer", async () => {
    const engine = new FakeEngine(contractPolicy);
    const merchant = "店".repeat(40_000); // 120 kB of UTF-8, over the 64 kB scratch buffer
    const out = await run(new ActivePolicy(engine), [rawOrder({ merchant, orderId: "X".repeat(30_000) })]);
    expect(out.deadLetters).toEqual([]);
    expect(decodeOut("OrderCreated", out.deliveries.get("zto")![0]!).merchant).toBe(merchant);
    const hive = decodeOut("OrderCreated", out.deliveries.get("hive-box")![0]!);
    expect(hive.merchant).toBeNull();
    expect(hive.recipientPhone).toBe("138******78");
  });

  it("leaves null values null whatever the action", async () => {
    const engine = new FakeEngine(contractPolicy);
    const out = await run(new ActivePolicy(engine), [rawOrder({ recipientName: null, recipientPhone: null, recipientAddress: null })]);
    const hive = decodeOut("OrderCreated", out.deliveries.get("hive-box")![0]!);
    expect(hive).toMatchObject({ recipientName: null, recipientPhone: null, recipientAddress: null });
  });
});

describe("RouterCore: decision cache", () => {
  it("evaluates once per distinct key across many records and batches", async () => {
    const engine = new FakeEngine(contractPolicy);
    const policy = new ActivePolicy(engine);
    const recs = Array.from({ length: 50 }, (_, i) => rawOrder({ eventId: `evt-${i}`, parcelId: `ZT${i}`, recipientPhone: `1381234${String(i).padStart(4, "0")}` }));
    const out = await run(policy, recs);
    expect(out.deliveries.get("zto")).toHaveLength(50);
    expect(out.deliveries.get("hive-box")).toHaveLength(50);
    expect(engine.calls).toHaveLength(4); // one per non-source party
    expect(policy.cacheMisses).toBe(4);
    expect(policy.cacheHits).toBe(49 * 4);

    // Different routing attributes are a different key.
    await run(policy, [rawOrder({ courier: "sf-express" }), rawOrder({ courier: "sf-express", eventId: "e2" }), rawOrder({ locker: null })]);
    expect(engine.calls).toHaveLength(12);

    // The same keys again, in a later batch: no evaluation.
    await run(policy, [...recs.slice(0, 5), rawOrder({ courier: "sf-express" })]);
    expect(engine.calls).toHaveLength(12);

    // A different event type (schema) is a different key too.
    await run(policy, [rawEvent("TrackingEvent", tracking()), rawEvent("TrackingEvent", tracking({ eventId: "t2" }))]);
    expect(engine.calls).toHaveLength(16);
  });

  it("re-evaluates when a recipient's quota state changes, and passes that state to the policy", async () => {
    const engine = new FakeEngine(contractPolicy);
    const policy = new ActivePolicy(engine);
    let ztoOver = false;
    const quota: QuotaView = {
      stateOf: (r): ReturnType<QuotaView["stateOf"]> => (r === "zto" && ztoOver ? { sig: "pii.phone=over", quota: { "pii.phone": "over" } } : { sig: "", quota: {} }),
    };
    await run(policy, [rawOrder(), rawOrder()], quota);
    expect(engine.calls).toHaveLength(4);
    ztoOver = true;
    await run(policy, [rawOrder(), rawOrder()], quota);
    expect(engine.calls).toHaveLength(5);
    expect(engine.calls[4]).toMatchObject({ recipient: "zto", quota: { "pii.phone": "over" } });
  });

  it("a new policy version starts with an empty cache", async () => {
    const first = new FakeEngine(contractPolicy, "v1+aaaaaaaaaaaa");
    const second = new FakeEngine(contractPolicy, "v2+bbbbbbbbbbbb");
    await run(new ActivePolicy(first), [rawOrder(), rawOrder()]);
    const out = await run(new ActivePolicy(second), [rawOrder(), rawOrder()]);
    expect(first.calls).toHaveLength(4);
    expect(second.calls).toHaveLength(4);
    expect(header(out.deliveries.get("zto")![0]!, HEADERS.policyVersion)).toBe("v2+bbbbbbbbbbbb");
  });

  it("fetches each writer schema from the registry once", async () => {
    const policy = new ActivePolicy(new FakeEngine(contractPolicy));
    await run(policy, [rawOrder(), rawOrder(), rawEvent("TrackingEvent", tracking())]);
    await run(policy, [rawOrder()]);
    expect([...source.lookups].sort()).toEqual([ID.OrderCreated, ID.TrackingEvent]);
  });
});

describe("RouterCore: dead letters", () => {
  const good = () => encodeEvent("OrderCreated", order());
  const trackingBody = () => TYPES.TrackingEvent.toBuffer(tracking());

  const TRACKING = T.ingress("zto", "TrackingEvent");
  const LOCKER = T.ingress("hive-box", "LockerEvent");
  // what, value, reason, and the topic it arrives on (Taobao's orders unless given) or other settings
  const cases: [string, () => Buffer | null, string, { topic?: string; settings?: CoreSettings }?][] = [
    ["a value without the magic byte", () => Buffer.concat([Buffer.from([1]), good().subarray(1)]), "undecodable"],
    ["a value shorter than the wire header", () => Buffer.from([0, 0, 0]), "undecodable"],
    ["plain JSON", () => Buffer.from(JSON.stringify(order())), "undecodable"],
    ["a null value", () => null, "undecodable"],
    ["an unknown schema id", () => wire(UNKNOWN_ID, TYPES.OrderCreated.toBuffer(order())), "unknown_schema"],
    ["a truncated body", () => good().subarray(0, good().length - 3), "undecodable"],
    ["a body with trailing bytes", () => Buffer.concat([good(), Buffer.from([7, 7])]), "undecodable"],
    ["a header with no body", () => wire(ID.OrderCreated, Buffer.alloc(0)), "undecodable"],
    ["a garbage body (bad union index)", () => wire(ID.OrderCreated, Buffer.from([2, 0x65, 2, 0x70, 12, ...Buffer.from("taobao"), 6, ...Buffer.from("zto"), 0x09])), "undecodable"],
    ["a body written with another event's schema", () => wire(ID.LockerEvent, trackingBody()), "undecodable", { topic: LOCKER }],
    ["a schema that is not an event type", () => wire(NOT_AN_EVENT_ID, Buffer.from([2, 0x65])), "unknown_event_type"],
    ["a TrackingEvent without platform", () => encodeEvent("TrackingEvent", tracking({ platform: null })), "missing_routing_attribute", { topic: TRACKING }],
    ["a TrackingEvent with an empty platform", () => encodeEvent("TrackingEvent", tracking({ platform: "" })), "missing_routing_attribute", { topic: TRACKING }],
    ["an OrderCreated with an empty eventId", () => encodeEvent("OrderCreated", order({ eventId: "" })), "missing_routing_attribute"],
    ["an OrderCreated with an empty parcelId", () => encodeEvent("OrderCreated", order({ parcelId: "" })), "missing_routing_attribute"],
    ["a LockerEvent with an empty locker", () => encodeEvent("LockerEvent", { eventId: "l1", parcelId: "P1", locker: "", courier: "zto", platform: "taobao", eventTime: 1, action: "DEPOSITED", city: null, lockerId: null, siteCode: null, pickupCode: null, recipientPhone: null }), "missing_routing_attribute", { topic: LOCKER }],
    ["an oversized record", () => good(), "oversized", { settings: { ...SETTINGS, maxRecordBytes: 64 } }],
    ["a record on a topic that is no ingress topic (the old shared raw topic)", () => good(), "unknown_topic", { topic: "px.raw.orders" }],
    ["a record on another deployment's ingress topic", () => good(), "unknown_topic", { topic: "pxt.raw.taobao.orders" }],
    ["a TrackingEvent on an OrderCreated ingress topic", () => encodeEvent("TrackingEvent", tracking({ courier: "taobao" })), "type_mismatch"],
    ["an OrderCreated naming another marketplace than the topic's", () => encodeEvent("OrderCreated", order({ platform: "jd" })), "spoofed_source"],
  ];

  it.each(cases)("%s → %s, with the original bytes and headers, and no delivery", async (_what, value, reason, opts = {}) => {
    const engine = new FakeEngine(contractPolicy);
    const c = opts.settings ? makeCore(opts.settings) : core;
    const topic = opts.topic ?? T.ingress("taobao", "OrderCreated");
    const bad = raw(value(), { topic, partition: 4, offset: "7710" });
    const out = await run(new ActivePolicy(engine), [bad], NO_QUOTA, c);

    expect(out.deliveries.size).toBe(0);
    expect(out.consumed).toBe(1);
    expect(out.deadLetters).toHaveLength(1);
    const dl = out.deadLetters[0]!;
    expect(dl.reason).toBe(reason);
    expect(dl.record.key).toEqual(bad.key);
    expect(dl.record.value.equals(bad.value ?? Buffer.alloc(0))).toBe(true);
    expect(header(dl.record, HEADERS.rejectReason)).toBe(reason);
    expect(header(dl.record, HEADERS.origin)).toBe(`${topic}/4/7710`);
    expect(header(dl.record, HEADERS.rejectDetail)).toBeTruthy();
    expect(header(dl.record, HEADERS.policyVersion)).toBe(engine.version);
    // The publisher's own headers travel with the record.
    expect(header(dl.record, "x-trace")).toBe("abc");
    expect(header(dl.record, HEADERS.publishedAt)).toBe("1760000000000");
  });

  it("says which routing attribute is missing", async () => {
    const out = await run(new ActivePolicy(new FakeEngine(contractPolicy)), [rawEvent("TrackingEvent", tracking({ platform: null }))]);
    expect(header(out.deadLetters[0]!.record, HEADERS.rejectDetail)).toMatch(/TrackingEvent lacks routing attribute\(s\): platform/);
  });

  it("keeps routing the good records around dead letters", async () => {
    const engine = new FakeEngine(contractPolicy);
    const out = await run(new ActivePolicy(engine), [
      rawOrder({ eventId: "ok-1" }),
      raw(Buffer.from("not avro")),
      raw(wire(UNKNOWN_ID, Buffer.from([1, 2, 3]))),
      rawOrder({ eventId: "ok-2" }),
      rawEvent("TrackingEvent", tracking({ platform: null })),
      rawOrder({ eventId: "ok-3" }),
    ]);
    expect(out.consumed).toBe(6);
    expect(out.deadLetters.map((d) => d.reason)).toEqual(["undecodable", "unknown_schema", "missing_routing_attribute"]);
    expect(out.deliveries.get("zto")!.map((r) => header(r, HEADERS.sourceEventId))).toEqual(["ok-1", "ok-2", "ok-3"]);
    expect(out.deliveries.get("hive-box")).toHaveLength(3);
  });

  it("does not let an unreachable registry turn records into dead letters", async () => {
    const failing: SchemaSource = { schemaById: () => Promise.reject(new Error("ECONNREFUSED")) };
    const c = new RouterCore(new SchemaCatalog(failing), SETTINGS);
    await expect(c.prepare([rawOrder()])).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe("RouterCore: authenticity — the ingress topic proves the publisher", () => {
  const ZTO_TRACKING = "px.raw.zto.tracking";
  const allKeep = () => new FakeEngine((input) => byClass(input, ALL_KEEP));

  it("dead-letters a TrackingEvent claiming another courier than the topic's party (spoofed_source), to nobody", async () => {
    const engine = allKeep();
    const spoofed = raw(encodeEvent("TrackingEvent", tracking({ courier: "sf-express" })), { topic: ZTO_TRACKING, partition: 1, offset: "42" });
    const out = await run(new ActivePolicy(engine), [spoofed]);
    expect(out.deliveries.size).toBe(0);
    expect(engine.calls).toEqual([]);
    expect(out.deadLetters.map((d) => d.reason)).toEqual(["spoofed_source"]);
    const dl = out.deadLetters[0]!.record;
    expect(header(dl, HEADERS.rejectReason)).toBe("spoofed_source");
    expect(header(dl, HEADERS.rejectDetail)).toMatch(/TrackingEvent claims source 'sf-express' \(courier\) on px\.raw\.zto\.tracking, which only zto publishes to/);
    expect(header(dl, HEADERS.origin)).toBe("px.raw.zto.tracking/1/42");
    expect(dl.value.equals(spoofed.value!)).toBe(true);
    expect(out.releases.size).toBe(0);
    expect(out.timestamps).toEqual([]);
  });

  it("dead-letters a LockerEvent on a tracking topic (type_mismatch), to nobody", async () => {
    const lockerEvent = { eventId: "l1", parcelId: "ZT7800012345", locker: "zto", courier: "zto", platform: "taobao", eventTime: 1, action: "DEPOSITED", city: null, lockerId: null, siteCode: null, pickupCode: "123456", recipientPhone: null };
    const out = await run(new ActivePolicy(allKeep()), [raw(encodeEvent("LockerEvent", lockerEvent), { topic: ZTO_TRACKING })]);
    expect(out.deliveries.size).toBe(0);
    expect(out.deadLetters.map((d) => d.reason)).toEqual(["type_mismatch"]);
    expect(header(out.deadLetters[0]!.record, HEADERS.rejectDetail)).toMatch(/a LockerEvent .* on px\.raw\.zto\.tracking, the TrackingEvent ingress topic of zto/);
  });

  it("delivers the genuine event of the topic's party, and routes it around the spoofed ones", async () => {
    const engine = allKeep();
    const out = await run(new ActivePolicy(engine), [
      raw(encodeEvent("TrackingEvent", tracking({ eventId: "fake", courier: "sf-express" })), { topic: ZTO_TRACKING }),
      raw(encodeEvent("TrackingEvent", tracking({ eventId: "genuine" })), { topic: ZTO_TRACKING }),
      rawEvent("LockerEvent", { eventId: "l2", parcelId: "ZT7800012345", locker: "hive-box", courier: "zto", platform: "taobao", eventTime: 1, action: "DEPOSITED", city: null, lockerId: null, siteCode: null, pickupCode: null, recipientPhone: null }),
    ]);
    expect(out.deadLetters.map((d) => d.reason)).toEqual(["spoofed_source"]);
    expect(out.consumed).toBe(3);
    expect(out.deliveries.get("taobao")!.map((r) => header(r, HEADERS.sourceEventId))).toEqual(["genuine", "l2"]);
    expect(out.deliveries.get("zto")!.map((r) => header(r, HEADERS.sourceEventId))).toEqual(["l2"]); // never its own event
    expect(out.deliveries.get("hive-box")!.map((r) => header(r, HEADERS.sourceEventId))).toEqual(["genuine"]);
    expect(engine.calls.every((c) => c.event.source !== "sf-express")).toBe(true);
  });
});

describe("RouterCore: policy errors fail closed", () => {
  it("a policy that throws for one recipient sends the event to no one", async () => {
    // zto sorts last among the parties, so every other party has already been decided when it fails.
    const engine = new FakeEngine((input) => {
      if (input.recipient === "zto") throw new Error("wasm: unreachable executed");
      return byClass(input, ALL_KEEP);
    });
    const bad = rawOrder();
    const out = await run(new ActivePolicy(engine), [bad]);
    expect(out.deliveries.size).toBe(0);
    expect(out.planCounts.size).toBe(0);
    expect(out.releases.size).toBe(0);
    expect(out.deadLetters).toHaveLength(1);
    expect(out.deadLetters[0]!.reason).toBe("policy_error");
    expect(header(out.deadLetters[0]!.record, HEADERS.rejectReason)).toBe("policy_error");
    expect(header(out.deadLetters[0]!.record, HEADERS.rejectDetail)).toMatch(/unreachable executed/);
    expect(out.deadLetters[0]!.record.value.equals(bad.value!)).toBe(true);
  });

  it("a PolicyError from the engine (e.g. a timeout) is dead-lettered as policy_error too", async () => {
    const engine = new FakeEngine((input) => {
      if (input.recipient === "hive-box") throw new PolicyError("policy v1 took 75.0 ms, over PX_POLICY_EVAL_TIMEOUT_MS=50");
      return byClass(input, ALL_KEEP);
    });
    const out = await run(new ActivePolicy(engine), [rawOrder()]);
    expect(out.deliveries.size).toBe(0);
    expect(out.deadLetters.map((d) => d.reason)).toEqual(["policy_error"]);
    expect(header(out.deadLetters[0]!.record, HEADERS.rejectDetail)).toMatch(/PX_POLICY_EVAL_TIMEOUT_MS/);
  });

  it.each<[string, Decide]>([
    ["no decision", () => undefined],
    ["deliver as a string", (input) => ({ ...(byClass(input, ALL_KEEP) as object), deliver: "yes" })],
    ["an unknown field action", (input) => {
      const d = byClass(input, ALL_KEEP) as { fields: Record<string, unknown> };
      d.fields.recipientPhone = { action: "blur", rule: "x" };
      return d;
    }],
    ["a negative quota limit", (input) => byClass(input, ALL_KEEP, { "pii.phone": -5 })],
    ["a transform on a required field", (input) => {
      const d = byClass(input, ALL_KEEP) as { fields: Record<string, unknown> };
      d.fields.courier = { action: "mask", rule: "x" };
      return d;
    }],
  ])("a malformed decision (%s) for one recipient is a policy_error for the event", async (_what, malformed) => {
    const engine = new FakeEngine((input) => (input.recipient === "zto" ? malformed(input) : byClass(input, ALL_KEEP)));
    const out = await run(new ActivePolicy(engine), [rawOrder()]);
    expect(out.deliveries.size).toBe(0);
    expect(out.deadLetters.map((d) => d.reason)).toEqual(["policy_error"]);
  });

  it("the error is cached for its key; events with other keys still route", async () => {
    const engine = new FakeEngine((input) => {
      if (input.recipient === "zto" && input.event.locker === "hive-box") throw new Error("boom");
      return byClass(input, ALL_KEEP);
    });
    const policy = new ActivePolicy(engine);
    const out = await run(policy, [
      rawOrder({ eventId: "bad-1" }),
      rawOrder({ eventId: "good-1", locker: null }),
      rawOrder({ eventId: "bad-2" }),
      rawEvent("TrackingEvent", tracking({ eventId: "good-2" })),
    ]);
    expect(out.deadLetters.map((d) => [d.reason, header(d.record, HEADERS.origin)])).toEqual([
      ["policy_error", `px.raw.taobao.orders/2/${offset - 3}`],
      ["policy_error", `px.raw.taobao.orders/2/${offset - 1}`],
    ]);
    expect(out.deliveries.get("zto")!.map((r) => header(r, HEADERS.sourceEventId))).toEqual(["good-1"]);
    expect(out.deliveries.get("jd")!.map((r) => header(r, HEADERS.sourceEventId))).toEqual(["good-1", "good-2"]);
    // The failing key was evaluated once, not once per record.
    expect(engine.calls.filter((c) => c.recipient === "zto" && c.event.locker === "hive-box")).toHaveLength(1);
  });
});

describe("RouterCore: releases", () => {
  it("counts PII released unchanged per recipient and class, with the policy's limit", async () => {
    const engine = new FakeEngine((input) => {
      if (input.recipient === "zto") return byClass(input, ALL_KEEP, { "pii.phone": 5_000_000, "pii.address": 100 });
      if (input.recipient === "hive-box") return byClass(input, { "pii.phone": "keep", "pii.name": "mask" }, { "pii.phone": 20 });
      if (input.recipient === "jd") return byClass(input, { public: "keep" });
      return NO_DELIVERY;
    });
    const out = await run(new ActivePolicy(engine), [rawOrder(), rawOrder({ eventId: "e2" }), rawOrder({ eventId: "e3" })]);
    const rel = Object.fromEntries([...out.releases.values()].map((r) => [`${r.recipient}/${r.dataClass}`, { n: r.n, limit: r.limit }]));
    expect(rel).toEqual({
      "zto/pii.phone": { n: 3, limit: 5_000_000 },
      "zto/pii.name": { n: 3, limit: undefined },
      "zto/pii.address": { n: 3, limit: 100 },
      "hive-box/pii.phone": { n: 3, limit: 20 },
    });
    expect(out.releases.get("zto\u0000pii.phone")).toEqual({ recipient: "zto", dataClass: "pii.phone", n: 3, limit: 5_000_000 });
  });

  it("counts belong to the batch: routing a batch again (a retry after an abort) counts it once per result", async () => {
    const engine = new FakeEngine((input) => (input.recipient === "zto" || input.recipient === "jd" ? byClass(input, ALL_KEEP) : NO_DELIVERY));
    const policy = new ActivePolicy(engine);
    const batch = [rawOrder(), rawOrder({ courier: "sf-express" })];
    const first = await run(policy, batch);
    const retried = await run(policy, batch);
    const counts = (r: BatchResult) => {
      const by = new Map<string, number>();
      for (const [p, n] of r.planCounts) by.set(p.recipient, (by.get(p.recipient) ?? 0) + n);
      return [...by].sort();
    };
    expect(counts(first)).toEqual([["jd", 2], ["zto", 2]]);
    expect(counts(retried)).toEqual(counts(first));
    expect(retried.releases.get("zto\u0000pii.phone")?.n).toBe(first.releases.get("zto\u0000pii.phone")?.n);
  });

  it("counts nothing for dead-lettered or undelivered events", async () => {
    const engine = new FakeEngine((input) => (input.recipient === "zto" ? byClass(input, ALL_KEEP) : NO_DELIVERY));
    const out = await run(new ActivePolicy(engine), [rawEvent("TrackingEvent", tracking({ platform: null })), rawOrder({ courier: "sf-express" })]);
    expect(out.releases.get("zto\u0000pii.phone")?.n).toBe(1);
    expect(out.releases.size).toBe(3);
  });
});

describe("RouterCore: encoding and isolation between recipients", () => {
  it("recipients with identical all-keep plans get byte-equal values, equal to the original record", async () => {
    const engine = new FakeEngine((input) => (input.recipient === "jd" || input.recipient === "zto" ? byClass(input, ALL_KEEP) : NO_DELIVERY));
    const rec = rawOrder();
    const out = await run(new ActivePolicy(engine), [rec]);
    const jd = out.deliveries.get("jd")![0]!;
    const zto = out.deliveries.get("zto")![0]!;
    expect(jd.value.equals(zto.value)).toBe(true);
    expect(zto.value.equals(rec.value!)).toBe(true);
    // Shared: encoded once, the same buffer for both.
    expect(jd.value).toBe(zto.value);
    expect([...out.planCounts].map(([p, n]) => [p.recipient, n]).sort()).toEqual([["jd", 1], ["zto", 1]]);
  });

  it("recipients with identical mask plans share the encoding; token plans do not", async () => {
    const engine = new FakeEngine((input) =>
      input.recipient === "jd" || input.recipient === "zto"
        ? byClass(input, { ...ALL_KEEP, "pii.phone": "mask" })
        : byClass(input, { ...ALL_KEEP, "pii.phone": "token" }),
    );
    const out = await run(new ActivePolicy(engine), [rawOrder()]);
    const value = (p: string) => out.deliveries.get(p)![0]!.value;
    expect(value("jd").equals(value("zto"))).toBe(true);
    expect(value("jd")).toBe(value("zto"));
    expect(decodeOut("OrderCreated", out.deliveries.get("jd")![0]!).recipientPhone).toBe("138******78");

    const hivePhone = decodeOut("OrderCreated", out.deliveries.get("hive-box")![0]!).recipientPhone;
    const sfPhone = decodeOut("OrderCreated", out.deliveries.get("sf-express")![0]!).recipientPhone;
    expect(hivePhone).toMatch(/^tok_/);
    expect(sfPhone).toMatch(/^tok_/);
    expect(hivePhone).not.toBe(sfPhone);
    expect(header(out.deliveries.get("hive-box")![0]!, HEADERS.transformed)).toBe(header(out.deliveries.get("sf-express")![0]!, HEADERS.transformed));
  });

  it("a transform for one recipient does not leak into another recipient's copy", async () => {
    // Parties in sorted order: hive-box, jd, sf-express, (taobao = source), zto. The transforming recipients
    // come first, so a transform left applied to the decoded event would show in zto's copy.
    const engine = new FakeEngine((input) => {
      switch (input.recipient) {
        case "hive-box":
          return byClass(input, { ...ALL_KEEP, "pii.phone": "mask", "pii.name": "mask", "pii.address": "mask" });
        case "jd":
          return byClass(input, { ...ALL_KEEP, "pii.phone": "token", "pii.address": "token", business: "drop" });
        case "sf-express":
          return byClass(input, { ...ALL_KEEP, "pii.address": "coarsen", "pii.name": "drop" });
        default:
          return byClass(input, ALL_KEEP);
      }
    });
    const rec = rawOrder();
    const out = await run(new ActivePolicy(engine), [rec, rawOrder({ eventId: "evt-2" })]);
    for (const [i, eventId] of ["evt-oc-0001", "evt-2"].entries()) {
      const zto = decodeOut("OrderCreated", out.deliveries.get("zto")![i]!);
      expect(zto).toEqual(order({ eventId }));
    }
    expect(out.deliveries.get("zto")![0]!.value.equals(rec.value!)).toBe(true);

    const sf = decodeOut("OrderCreated", out.deliveries.get("sf-express")![0]!);
    expect(sf.recipientAddress).toEqual({ ...ADDRESS, detail: null });
    expect(sf.recipientPhone).toBe("13812345678");
    const jd = decodeOut("OrderCreated", out.deliveries.get("jd")![0]!);
    expect(jd.recipientName).toBe("张三丰");
    expect(jd.merchant).toBeNull();
    expect((jd.recipientAddress as { province: string }).province).toBe("");
    const hive = decodeOut("OrderCreated", out.deliveries.get("hive-box")![0]!);
    expect(hive.merchant).toBe("杭州小米旗舰店");
    expect(hive.recipientAddress).toEqual({ ...ADDRESS, detail: "文一西路969号5号楼" });
  });
});

describe("RouterCore: spliced encoding", () => {
  // The core copies the raw bytes of the fields a plan leaves alone and encodes only the fields it changes. The
  // result must be byte-for-byte what encoding the whole transformed event with avsc gives.
  const PLANS: Record<string, Record<string, FieldAction>> = {
    "hive-box": { ...ALL_KEEP, "pii.phone": "mask", "pii.name": "mask", "pii.address": "mask", "staff.pii": "mask" },
    jd: { ...ALL_KEEP, "pii.phone": "token", "pii.address": "token", business: "drop" },
    "sf-express": { public: "keep", "pii.address": "coarsen", "pii.phone": "coarsen" },
    zto: { ...ALL_KEEP, "staff.pii": "drop", "pii.name": "drop" },
  };
  const engine = () => new FakeEngine((input) => (PLANS[input.recipient] ? byClass(input, PLANS[input.recipient]!) : NO_DELIVERY));

  /** The reference: apply the plan's transforms to a decoded copy and encode the whole record. */
  function reference(type: EventType, ev: Record<string, unknown>, recipient: string): Buffer {
    const info = describeSchema(schemaJson(type));
    const copy: Record<string, unknown> = { ...ev };
    for (const f of info.fields) {
      const action = f.dataClass === "routing" ? "keep" : (PLANS[recipient]![f.dataClass] ?? "drop");
      if (action === "keep" || copy[f.name] === null || copy[f.name] === undefined) continue;
      copy[f.name] = transformFor(action, f.dataClass, recipient, SETTINGS).apply(copy[f.name]);
    }
    return wire(ID[type], TYPES[type].toBuffer(copy));
  }

  it.each([
    ["an order", "OrderCreated" as const, order()],
    ["an order with nulls and a long text", "OrderCreated" as const, order({ merchant: "店".repeat(3000), recipientName: null, recipientAddress: { ...ADDRESS, detail: null }, locker: null })],
    ["a tracking event", "TrackingEvent" as const, tracking()],
    ["a tracking event with its PII null", "TrackingEvent" as const, tracking({ staffId: null, staffName: null, staffPhone: null, recipientPhone: null, exceptionReason: "\u{20000} 地址不详" })],
  ])("%s: every recipient's bytes equal a full re-encode", async (_what, type, ev) => {
    const out = await run(new ActivePolicy(engine()), [rawEvent(type, ev)]);
    const source = type === "OrderCreated" ? ev.platform : ev.courier;
    for (const recipient of Object.keys(PLANS)) {
      if (recipient === source) continue;
      const got = out.deliveries.get(recipient)![0]!.value;
      expect(got.equals(reference(type, ev, recipient)), recipient).toBe(true);
    }
  });

  it("records bigger than the output slab still come out whole", async () => {
    const big = order({ merchant: "m".repeat(300_000), recipientPhone: "13812345678" });
    const out = await run(new ActivePolicy(engine()), [rawOrder(), rawEvent("OrderCreated", big), rawOrder({ eventId: "e3" })]);
    expect(out.deliveries.get("hive-box")![1]!.value.equals(reference("OrderCreated", big, "hive-box"))).toBe(true);
    expect(out.deliveries.get("hive-box")![2]!.value.equals(reference("OrderCreated", order({ eventId: "e3" }), "hive-box"))).toBe(true);
  });
});
