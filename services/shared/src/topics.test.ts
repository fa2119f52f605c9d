import { describe, expect, it } from "vitest";
import { EVENT_TYPES } from "./schemas.js";
import { ingressTopicsOf, PUBLISHES, publishedBy, topics } from "./topics.js";

const t = topics("px");

describe("ingress topics", () => {
  it("name one topic per party and event type under <prefix>.raw.", () => {
    expect(t.ingress("zto", "TrackingEvent")).toBe("px.raw.zto.tracking");
    expect(t.ingress("taobao", "OrderCreated")).toBe("px.raw.taobao.orders");
    expect(t.ingress("hive-box", "LockerEvent")).toBe("px.raw.hive-box.locker");
    expect(t.rawPrefix).toBe("px.raw.");
    expect(topics("pxt.r1.abc").ingress("jd", "OrderCreated")).toBe("pxt.r1.abc.raw.jd.orders");
  });

  it("parseIngress is the exact inverse of ingress", () => {
    for (const party of ["zto", "sf-express", "hive-box", "a", "9-lives"]) {
      for (const type of EVENT_TYPES) expect(t.parseIngress(t.ingress(party, type))).toEqual({ party, type });
    }
    const long = topics("pxt.r1.abc");
    expect(long.parseIngress("pxt.r1.abc.raw.jd.orders")).toEqual({ party: "jd", type: "OrderCreated" });
  });

  it("parseIngress refuses every other topic", () => {
    for (const topic of [
      "px.raw.orders", // the former shared raw topic
      "px.raw.tracking",
      "px.raw.zto.parcels",
      "px.raw.zto.tracking.x",
      "px.raw.zto.",
      "px.raw..tracking",
      "px.raw.-zto.tracking",
      "px.raw.ZTO.tracking",
      "px.raw.z_to.tracking",
      "px.raw.constructor.tracking.x",
      "px.raw.zto.constructor",
      "px.raw.zto.__proto__",
      "px.deliver.zto",
      "px.deadletter",
      "pxt.raw.zto.tracking", // another prefix
      "qpx.raw.zto.tracking",
      "px.rawx.zto.tracking",
      "",
    ]) {
      expect(t.parseIngress(topic), topic).toBeUndefined();
    }
    // A deployment's prefix that extends another's is not that other deployment's ingress.
    expect(topics("px.demo").parseIngress("px.raw.zto.tracking")).toBeUndefined();
    expect(t.parseIngress("px.demo.raw.zto.tracking")).toBeUndefined();
  });

  it("subjects are per event type, the same for every party, and the names the released schemas have", () => {
    expect(EVENT_TYPES.map((type) => t.subject(type))).toEqual(["px.raw.orders-value", "px.raw.tracking-value", "px.raw.locker-value"]);
    for (const type of EVENT_TYPES) expect(t.subject(type)).not.toMatch(/zto|taobao|hive-box/);
  });
});

describe("what each kind of party publishes", () => {
  it("marketplaces orders, couriers tracking, lockers locker events", () => {
    expect(PUBLISHES).toEqual({ marketplace: ["OrderCreated"], courier: ["TrackingEvent"], locker: ["LockerEvent"] });
    expect(publishedBy("regulator")).toEqual([]);
    expect(publishedBy("toString")).toEqual([]);
  });

  it("ingressTopicsOf lists every ingress topic of the parties", () => {
    const parties = { taobao: { kind: "marketplace" }, "sf-express": { kind: "courier" }, "hive-box": { kind: "locker" }, auditor: { kind: "regulator" } };
    expect(ingressTopicsOf("px", parties)).toEqual(["px.raw.taobao.orders", "px.raw.sf-express.tracking", "px.raw.hive-box.locker"]);
    expect(ingressTopicsOf("px", {})).toEqual([]);
  });
});
