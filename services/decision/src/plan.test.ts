import { describe, expect, it } from "vitest";
import { PolicyError, describeSchema, schemaJson, type FieldInfo } from "@parcel-exchange/shared";
import type { FieldAction, TransformSettings } from "./transforms/index.js";
import type { Decision } from "./decision.js";
import { makePlan } from "./plan.js";

const SETTINGS: TransformSettings = { masks: { phone: { keepStart: 3, keepEnd: 2 }, name: { keepStart: 1 } }, tokenKey: "unit-test-master-key-0123456789abcdef" };
const ORDER = describeSchema(schemaJson("OrderCreated")).fields;
const REQUIRED = ORDER.filter((f) => !f.nullable).map((f) => f.name);

/** A decision keeping every field of OrderCreated except those in `changes`. */
function decision(changes: Record<string, FieldAction> = {}, extra: Partial<Decision> = {}): Decision {
  const fields: Record<string, { action: FieldAction; rule: string }> = {};
  for (const f of ORDER) fields[f.name] = { action: changes[f.name] ?? "keep", rule: `rule.${f.name}` };
  return { deliver: true, fields, quotaLimits: {}, reasons: [], ...extra };
}

describe("makePlan", () => {
  it("the schema has the required fields the tests assume", () => {
    expect(REQUIRED).toEqual(["eventId", "parcelId", "platform", "courier", "createdAt"]);
  });

  it("has no ops, an empty header and releases every kept PII class when everything is kept", () => {
    const p = makePlan("zto", decision(), ORDER, SETTINGS);
    expect(p.recipient).toBe("zto");
    expect(p.deliver).toBe(true);
    expect(p.ops).toEqual([]);
    expect(p.transformedHeader).toBe("");
    expect([...p.releasedPii].sort()).toEqual(["pii.address", "pii.name", "pii.phone"]);
  });

  it("has one op per non-keep field, in schema order, with the field's class and a working transform", () => {
    const p = makePlan("hive-box", decision({ recipientName: "drop", recipientPhone: "mask", recipientAddress: "coarsen", merchant: "token" }), ORDER, SETTINGS);
    expect(p.ops.map((o) => [o.field, o.dataClass, o.transform.action])).toEqual([
      ["merchant", "business", "token"],
      ["recipientName", "pii.name", "drop"],
      ["recipientPhone", "pii.phone", "mask"],
      ["recipientAddress", "pii.address", "coarsen"],
    ]);
    const op = (name: string) => p.ops.find((o) => o.field === name)!;
    expect(op("recipientPhone").transform.apply("13812345678")).toBe("138******78");
    expect(op("recipientName").transform.apply("张三")).toBeNull();
    expect(op("recipientAddress").transform.apply({ province: "浙江省", city: "杭州市", district: "余杭区", detail: "文一西路969号1单元" })).toEqual({
      province: "浙江省",
      city: "杭州市",
      district: "余杭区",
      detail: null,
    });
    expect(op("merchant").transform.apply("小米旗舰店")).toMatch(/^tok_/);
  });

  it("writes the px-transformed header as field:action pairs joined by commas", () => {
    const p = makePlan("hive-box", decision({ recipientName: "drop", recipientPhone: "mask", destinationCity: "coarsen" }), ORDER, SETTINGS);
    expect(p.transformedHeader).toBe("recipientName:drop,recipientPhone:mask,destinationCity:coarsen");
  });

  it("lists only PII classes released unchanged", () => {
    const p = makePlan("hive-box", decision({ recipientName: "drop", recipientPhone: "mask", orderId: "drop" }), ORDER, SETTINGS);
    expect(p.releasedPii).toEqual(["pii.address"]);
    const none = makePlan("jd", decision({ recipientName: "drop", recipientPhone: "token", recipientAddress: "coarsen" }), ORDER, SETTINGS);
    expect(none.releasedPii).toEqual([]);
  });

  it("lists a class once even when several fields of it are kept", () => {
    const fields: FieldInfo[] = [
      { name: "eventId", dataClass: "routing", nullable: false },
      { name: "senderPhone", dataClass: "pii.phone", nullable: true },
      { name: "recipientPhone", dataClass: "pii.phone", nullable: true },
    ];
    const p = makePlan("zto", { deliver: true, fields: { eventId: { action: "keep", rule: "r" }, senderPhone: { action: "keep", rule: "r" }, recipientPhone: { action: "keep", rule: "r" } }, quotaLimits: {}, reasons: [] }, fields, SETTINGS);
    expect(p.releasedPii).toEqual(["pii.phone"]);
    expect(p.actionCounts).toEqual(expect.arrayContaining([{ dataClass: "pii.phone", action: "keep", n: 2 }, { dataClass: "routing", action: "keep", n: 1 }]));
  });

  it("carries quota limits and reasons", () => {
    const p = makePlan("zto", decision({}, { quotaLimits: { "pii.phone": 5_000_000 }, reasons: ["contract taobao--zto"] }), ORDER, SETTINGS);
    expect(p.quotaLimits).toEqual({ "pii.phone": 5_000_000 });
    expect(p.rules).toEqual(["contract taobao--zto"]);
  });

  it("signatures: equal for recipient-independent plans, recipient-specific once a token is involved", () => {
    const maskA = makePlan("jd", decision({ recipientPhone: "mask" }), ORDER, SETTINGS);
    const maskB = makePlan("hive-box", decision({ recipientPhone: "mask" }), ORDER, SETTINGS);
    expect(maskA.signature).toBe(maskB.signature);

    const tokA = makePlan("jd", decision({ recipientPhone: "token" }), ORDER, SETTINGS);
    const tokB = makePlan("hive-box", decision({ recipientPhone: "token" }), ORDER, SETTINGS);
    expect(tokA.transformedHeader).toBe(tokB.transformedHeader);
    expect(tokA.signature).not.toBe(tokB.signature);
    // And the tokens really differ, which is why the encoding must not be shared.
    expect(tokA.ops[0]!.transform.apply("13812345678")).not.toBe(tokB.ops[0]!.transform.apply("13812345678"));
    // A token plan never shares with a mask plan either.
    expect(tokA.signature).not.toBe(maskA.signature);

    const keepA = makePlan("jd", decision(), ORDER, SETTINGS);
    const keepB = makePlan("zto", decision(), ORDER, SETTINGS);
    expect(keepA.signature).toBe(keepB.signature);
    expect(keepA.signature).not.toBe(maskA.signature);
  });

  it.each(REQUIRED.flatMap((f) => (["drop", "mask", "token", "coarsen"] as const).map((a) => [f, a] as const)))("throws PolicyError for %s:%s (a required field)", (field, action) => {
    expect(() => makePlan("zto", decision({ [field]: action }), ORDER, SETTINGS)).toThrow(PolicyError);
    expect(() => makePlan("zto", decision({ [field]: action }), ORDER, SETTINGS)).toThrow(new RegExp(`'${action}' for required field '${field}'`));
  });

  it("a required field missing from the decision is dropped, which is a policy error", () => {
    const d = decision();
    const fields = { ...d.fields };
    delete (fields as Record<string, unknown>).courier;
    expect(() => makePlan("zto", { ...d, fields }, ORDER, SETTINGS)).toThrow(PolicyError);
  });

  it("a nullable field missing from the decision is dropped", () => {
    const d = decision();
    const fields = { ...d.fields };
    delete (fields as Record<string, unknown>).recipientPhone;
    const p = makePlan("zto", { ...d, fields }, ORDER, SETTINGS);
    expect(p.transformedHeader).toBe("recipientPhone:drop");
    expect(p.releasedPii).not.toContain("pii.phone");
  });

  it("deliver=false yields no ops, no releases, and does not check the field actions", () => {
    const p = makePlan("sf-express", decision({ recipientPhone: "mask", courier: "drop" }, { deliver: false }), ORDER, SETTINGS);
    expect(p.deliver).toBe(false);
    expect(p.ops).toEqual([]);
    expect(p.transformedHeader).toBe("");
    expect(p.releasedPii).toEqual([]);
  });
});
