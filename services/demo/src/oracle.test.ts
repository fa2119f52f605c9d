import { describe, expect, it } from "vitest";
import { judgeDelivery, mayReceive, type OracleData } from "./oracle.js";

const data: OracleData = {
  parties: { taobao: { kind: "marketplace" }, "sf-express": { kind: "courier" }, "hive-box": { kind: "locker" } },
  contracts: {
    c1: { grants: [{ from: "sf-express", to: "hive-box", events: ["TrackingEvent"], scope: "own_lockers", classes: { public: "keep", "pii.phone": "keep", "staff.pii": "mask" } }] },
  },
};
const fields = [
  { name: "eventId", dataClass: "routing" },
  { name: "courier", dataClass: "routing" },
  { name: "platform", dataClass: "routing" },
  { name: "locker", dataClass: "routing" },
  { name: "status", dataClass: "public" },
  { name: "recipientPhone", dataClass: "pii.phone" },
  { name: "staffName", dataClass: "staff.pii" },
  { name: "siteCode", dataClass: "business" },
];
const ev = { eventId: "e1", courier: "sf-express", platform: "taobao", locker: "hive-box", status: "DELIVERED", recipientPhone: "13812345678", staffName: "Li", siteCode: "S1" };

describe("oracle", () => {
  it("accepts what the grant allows: phone kept for the holding locker, staff masked, business withheld", () => {
    expect(judgeDelivery(data, "TrackingEvent", ev, fields, "hive-box", { ...ev, staffName: "L*", siteCode: null })).toEqual([]);
  });
  it("flags a class no grant names", () => {
    expect(judgeDelivery(data, "TrackingEvent", ev, fields, "hive-box", { ...ev, staffName: "L*" })).toContainEqual(expect.stringMatching(/siteCode \(business\).*no grant allows/));
  });
  it("flags a full value the grant masks", () => {
    expect(judgeDelivery(data, "TrackingEvent", ev, fields, "hive-box", { ...ev, siteCode: null })).toEqual([expect.stringMatching(/staffName .* in full without a grant that keeps it/), expect.stringMatching(/ceiling: hive-box got staffName/)]);
  });
  it("floor: the order's marketplace receives tracking with public fields unchanged, and no phone", () => {
    expect(mayReceive(data, "TrackingEvent", ev, "taobao")).toBe(true);
    expect(judgeDelivery(data, "TrackingEvent", ev, fields, "taobao", undefined)).toEqual(["taobao did not receive TrackingEvent e1"]);
    const got = { ...ev, recipientPhone: null, staffName: null, siteCode: null };
    expect(judgeDelivery(data, "TrackingEvent", ev, fields, "taobao", got)).toEqual([]);
    expect(judgeDelivery(data, "TrackingEvent", ev, fields, "taobao", { ...got, status: "LOST" })).toEqual([expect.stringMatching(/status .* must arrive as published/)]);
    expect(judgeDelivery(data, "TrackingEvent", ev, fields, "taobao", { ...got, recipientPhone: "13812345678" }).join()).toMatch(/no grant allows.*ceiling/);
  });
  it("scope and source: no delivery outside the grant's scope, none back to the source", () => {
    const other = { ...ev, locker: "another-locker" };
    expect(judgeDelivery(data, "TrackingEvent", other, fields, "hive-box", { ...other })).toEqual([expect.stringMatching(/no grant or floor gives it/)]);
    expect(mayReceive(data, "TrackingEvent", ev, "sf-express")).toBe(false);
  });
});
