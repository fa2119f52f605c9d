import { describe, expect, it } from "vitest";
import { prepareEvents } from "@parcel-exchange/sdk";
import { chunks, cpuSeconds, dueEvents, latencySummary, markdownTable, median, perCpuSecond, perSecond, ratio, trackingEvents } from "./gateway-stats.js";

describe("trackingEvents", () => {
  it("makes N valid sf-express TrackingEvents for taobao orders, unique ids, deterministic", () => {
    const evs = trackingEvents(100, "r1");
    expect(evs).toHaveLength(100);
    expect(new Set(evs.map((e) => e.event.eventId)).size).toBe(100);
    expect(evs.every((e) => e.type === "TrackingEvent" && e.event.courier === "sf-express" && e.event.platform === "taobao")).toBe(true);
    expect(trackingEvents(100, "r1")).toEqual(evs);
    expect(evs[0]!.event.eventId).toBe("r1-0");
    // The SDK accepts every one of them as sf-express's own.
    expect(prepareEvents(evs, "sf-express")).toHaveLength(100);
  });

  it("spreads events over parcels, about eight each, and refuses a bad count or tag", () => {
    const parcels = new Set(trackingEvents(80, "x").map((e) => e.event.parcelId));
    expect(parcels.size).toBe(10);
    expect(trackingEvents(0, "x")).toEqual([]);
    expect(() => trackingEvents(-1, "x")).toThrow(RangeError);
    expect(() => trackingEvents(1, "a b")).toThrow(RangeError);
  });
});

describe("numbers", () => {
  it("chunks, rates per second and per CPU second", () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([], 3)).toEqual([]);
    expect(() => chunks([1], 0)).toThrow(RangeError);
    expect(cpuSeconds({ user: 1_000_000, system: 500_000 }, { user: 3_000_000, system: 1_000_000 })).toBe(2.5);
    expect(perSecond(500, 250)).toBe(2000);
    expect(perSecond(5, 0)).toBe(0);
    expect(perCpuSecond(1000, 0.5)).toBe(2000);
    expect(perCpuSecond(1000, 0)).toBe(0);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(ratio(1, 4)).toBe("0.250");
    expect(ratio(1, 0)).toBe("n/a");
    expect(ratio(undefined, 2)).toBe("n/a");
  });

  it("summarises latencies with nearest-rank percentiles", () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100, unsorted
    expect(latencySummary(xs)).toEqual({ count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    expect(latencySummary([7])).toEqual({ count: 1, p50: 7, p95: 7, p99: 7, max: 7 });
    expect(latencySummary([]).p99).toBeNaN();
  });

  it("paces an open-loop sender", () => {
    expect(dueEvents(200, 0, 2000)).toBe(0);
    expect(dueEvents(200, 1000, 2000)).toBe(200);
    expect(dueEvents(200, 12_000, 2000)).toBe(2000);
    expect(dueEvents(200, 4.9, 2000)).toBe(0);
  });

  it("writes a Markdown table, escaping pipes and checking row widths", () => {
    expect(markdownTable(["a", "b"], [["x|y", "1"]])).toBe("| a | b |\n| --- | ---: |\n| x\\|y | 1 |");
    expect(() => markdownTable(["a", "b"], [["1"]])).toThrow(RangeError);
  });
});
