import { describe, expect, it } from "vitest";
import { prepareEvents, type ParcelEventInput } from "@parcel-exchange/sdk";
import { COURIERS, LOCKERS, MARKETPLACES, PUBLISHERS, generateLoad, publisherOf, rng } from "./generate.js";

const timeOf = (e: ParcelEventInput): number => (e.type === "OrderCreated" ? e.event.createdAt : e.event.eventTime);

describe("generateLoad", () => {
  const load = generateLoad({ events: 20_000, seed: 7 });

  it("produces exactly the requested number of events, and is deterministic per seed", () => {
    expect(load.total).toBe(20_000);
    expect(load.all).toHaveLength(20_000);
    expect(PUBLISHERS.reduce((n, p) => n + load.byParty[p].length, 0)).toBe(20_000);
    expect(generateLoad({ events: 500, seed: 7 }).all).toEqual(load.all.slice(0, 500));
    expect(generateLoad({ events: 500, seed: 8 }).all).not.toEqual(load.all.slice(0, 500));
    expect(generateLoad({ events: 0 }).total).toBe(0);
  });

  it("has a realistic mix: one order per parcel, ~8 scans each, locker events for about a third", () => {
    const count = (t: string) => load.all.filter((e) => e.type === t).length;
    const orders = count("OrderCreated");
    expect(orders).toBe(load.parcels);
    const trackingPerParcel = count("TrackingEvent") / orders;
    expect(trackingPerParcel).toBeGreaterThan(7.5);
    expect(trackingPerParcel).toBeLessThan(8.5);
    const withLocker = load.all.filter((e) => e.type === "OrderCreated" && e.event.locker !== null).length / orders;
    expect(withLocker).toBeGreaterThan(0.25);
    expect(withLocker).toBeLessThan(0.45);
    expect(count("LockerEvent")).toBeGreaterThan(orders * 0.5);
    // Every marketplace, courier and locker publishes something.
    for (const p of PUBLISHERS) expect(load.byParty[p].length, p).toBeGreaterThan(0);
  });

  it("groups each event under the party it names as its source, and that party is a known one", () => {
    for (const p of PUBLISHERS) {
      for (const e of load.byParty[p]) expect(publisherOf(e)).toBe(p);
    }
    for (const p of MARKETPLACES) expect(load.byParty[p].every((e) => e.type === "OrderCreated")).toBe(true);
    for (const p of COURIERS) expect(load.byParty[p].every((e) => e.type === "TrackingEvent")).toBe(true);
    for (const p of LOCKERS) expect(load.byParty[p].every((e) => e.type === "LockerEvent")).toBe(true);
  });

  it("keeps each parcel's routing attributes consistent with its order, platform always set", () => {
    const orders = new Map(load.all.flatMap((e) => (e.type === "OrderCreated" ? [[e.event.parcelId, e.event] as const] : [])));
    for (const e of load.all) {
      const o = orders.get(e.event.parcelId);
      expect(o, e.event.parcelId).toBeDefined();
      expect(e.event.platform).toBe(o!.platform);
      if (e.type !== "OrderCreated") {
        expect(e.event.courier).toBe(o!.courier);
        expect(e.event.locker ?? null).toBe(o!.locker ?? null);
      }
    }
    expect(load.all.filter((e) => e.type === "LockerEvent").every((e) => orders.get(e.event.parcelId)!.locker === "hive-box")).toBe(true);
  });

  it("keeps per-parcel order: order first, then scans, then locker events, in time order, within every party's list too", () => {
    const seen = new Map<string, { last: number; phase: number }>();
    const phase = { OrderCreated: 0, TrackingEvent: 1, LockerEvent: 2 } as const;
    for (const e of load.all) {
      const s = seen.get(e.event.parcelId);
      if (s === undefined) {
        expect(e.type).toBe("OrderCreated");
      } else {
        expect(timeOf(e)).toBeGreaterThan(s.last);
        expect(phase[e.type]).toBeGreaterThanOrEqual(s.phase);
      }
      seen.set(e.event.parcelId, { last: timeOf(e), phase: phase[e.type] });
    }
    for (const p of PUBLISHERS) {
      const last = new Map<string, number>();
      for (const e of load.byParty[p]) {
        expect(timeOf(e)).toBeGreaterThan(last.get(e.event.parcelId) ?? -1);
        last.set(e.event.parcelId, timeOf(e));
      }
    }
  });

  it("has unique event ids, and 11-digit mainland mobile numbers", () => {
    expect(new Set(load.all.map((e) => e.event.eventId)).size).toBe(load.total);
    for (const e of load.all.slice(0, 2000)) {
      for (const ph of [e.event.recipientPhone, "staffPhone" in e.event ? e.event.staffPhone : null]) {
        if (ph != null) expect(ph).toMatch(/^1[3-9]\d{9}$/);
      }
    }
  });

  it("passes the SDK's own validation when published by each party", () => {
    const small = generateLoad({ events: 3_000, seed: 11 });
    for (const p of PUBLISHERS) expect(() => prepareEvents(small.byParty[p], p)).not.toThrow();
  });

  it("rng is seeded and in [0, 1)", () => {
    const a = rng(1);
    const b = rng(1);
    for (let i = 0; i < 1000; i++) {
      const x = a();
      expect(x).toBe(b());
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });
});
