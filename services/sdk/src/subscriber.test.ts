import { describe, expect, it } from "vitest";
import type { KafkaMessage } from "kafkajs";
import type { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import { DependencyError, HEADERS } from "@parcel-exchange/shared";
import { DeliveryDecodeError, decodeDelivery, parseTransformed } from "./subscriber.js";
import { avroTypeOf } from "./validate.js";

describe("parseTransformed", () => {
  it("parses comma-separated field:action pairs", () => {
    expect(parseTransformed("recipientPhone:mask,recipientAddress:coarsen")).toEqual([
      { field: "recipientPhone", action: "mask" },
      { field: "recipientAddress", action: "coarsen" },
    ]);
  });
  it("treats an empty or absent header as nothing transformed", () => {
    expect(parseTransformed("")).toEqual([]);
    expect(parseTransformed(undefined)).toEqual([]);
  });
  it("tolerates spaces and keeps an action containing ':'", () => {
    expect(parseTransformed(" staffName : drop , pickupCode:token:v1 ")).toEqual([
      { field: "staffName", action: "drop" },
      { field: "pickupCode", action: "token:v1" },
    ]);
  });
});

/** A registry stub that knows one schema id, the canonical LockerEvent, and encodes like the real client. */
const LOCKER_ID = 7;
const stub = {
  async getSchema(id: number) {
    if (id !== LOCKER_ID) throw Object.assign(new Error("Schema not found"), { status: 404 });
    return avroTypeOf("LockerEvent");
  },
  async decode(buf: Buffer) {
    return avroTypeOf("LockerEvent").fromBuffer(buf.subarray(5));
  },
} as unknown as SchemaRegistry;

function wire(id: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeInt32BE(id, 1);
  return Buffer.concat([head, payload]);
}

const lockerEvent = {
  eventId: "e-1",
  parcelId: "P-1",
  locker: "boxnet",
  courier: "swiftpost",
  platform: "shopmart",
  eventTime: 1_760_000_000_000,
  action: "PICKED_UP",
  city: "Shenzhen",
  lockerId: null,
  siteCode: null,
  pickupCode: null,
  recipientPhone: "138******00",
};

const msg = (value: Buffer | null, headers: KafkaMessage["headers"] = {}): KafkaMessage =>
  ({ key: Buffer.from("P-1"), value, offset: "12", timestamp: "0", attributes: 0, headers }) as KafkaMessage;

describe("decodeDelivery", () => {
  it("never skips a record whose schema id the registry does not know: it throws a retriable registry error", async () => {
    const err = await decodeDelivery(stub, "px.deliver.shopmart", 0, msg(wire(99, Buffer.from([1, 2])))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyError);
    expect(err).not.toBeInstanceOf(DeliveryDecodeError);
    expect((err as DependencyError).retriable).toBe(true);
    expect((err as Error).message).toMatch(/schema id 99 is unknown to the registry.*not skipped/);
  });

  it("decodes the value and the router's headers into a typed delivery", async () => {
    const value = wire(LOCKER_ID, avroTypeOf("LockerEvent").toBuffer(lockerEvent));
    const d = await decodeDelivery(stub, "px.deliver.shopmart", 3, msg(value, {
      [HEADERS.policyVersion]: Buffer.from("v42"),
      [HEADERS.sourceEventId]: Buffer.from("raw-1"),
      [HEADERS.transformed]: Buffer.from("recipientPhone:mask"),
    }));
    expect(d.type).toBe("LockerEvent");
    expect(d.event).toEqual(lockerEvent);
    expect(Object.getPrototypeOf(d.event)).toBe(Object.prototype);
    expect(d).toMatchObject({ policyVersion: "v42", sourceEventId: "raw-1", transformed: [{ field: "recipientPhone", action: "mask" }], partition: 3, offset: "12", key: "P-1" });
  });

  it("reports records it cannot decode as DeliveryDecodeError with their location", async () => {
    const cases: [KafkaMessage, RegExp][] = [
      [msg(null), /tombstone/],
      [msg(Buffer.from("{\"json\":true}")), /not in Confluent wire format/],
      [msg(wire(LOCKER_ID, Buffer.from([0xff]))), /decoding with schema id 7 failed/],
    ];
    for (const [m, re] of cases) {
      const err = await decodeDelivery(stub, "px.deliver.shopmart", 0, m).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeliveryDecodeError);
      expect((err as DeliveryDecodeError).message).toMatch(re);
      expect((err as DeliveryDecodeError).location).toEqual({ topic: "px.deliver.shopmart", partition: 0, offset: "12", key: "P-1" });
    }
  });
});
