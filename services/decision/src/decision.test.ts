import { describe, expect, it } from "vitest";
import { PolicyError, describeSchema, schemaJson } from "@parcel-exchange/shared";
import { validateDecision } from "./decision.js";

const FIELDS = describeSchema(schemaJson("OrderCreated")).fields;
const ROUTING = ["eventId", "parcelId", "platform", "courier", "locker", "createdAt"];

/** A complete decision for OrderCreated as the zto ← taobao contract grants it. */
function goodDecision(): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const f of ROUTING) fields[f] = { action: "keep", rule: "floor.routing" };
  Object.assign(fields, {
    orderId: { action: "keep", rule: "contract.taobao--zto" },
    merchant: { action: "keep", rule: "contract.taobao--zto" },
    recipientName: { action: "keep", rule: "contract.taobao--zto" },
    recipientPhone: { action: "mask", rule: "quota.over" },
    recipientAddress: { action: "coarsen", rule: "contract.taobao--zto" },
    destinationCity: { action: "keep", rule: "contract.taobao--zto" },
  });
  return { deliver: true, fields, quota_limits: { "pii.phone": 5_000_000 }, reasons: ["contract taobao--zto", 7, "quota pii.phone over"] };
}

function policyError(raw: unknown): PolicyError {
  try {
    validateDecision(raw, FIELDS);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).code).toBe("POLICY_FAILED");
    return err as PolicyError;
  }
  throw new Error(`expected a PolicyError for ${JSON.stringify(raw)}`);
}

describe("validateDecision", () => {
  it("accepts a well-formed decision", () => {
    const d = validateDecision(goodDecision(), FIELDS);
    expect(d.deliver).toBe(true);
    expect(Object.keys(d.fields).sort()).toEqual(FIELDS.map((f) => f.name).sort());
    expect(d.fields.recipientPhone).toEqual({ action: "mask", rule: "quota.over" });
    expect(d.fields.recipientAddress).toEqual({ action: "coarsen", rule: "contract.taobao--zto" });
    expect(d.fields.eventId).toEqual({ action: "keep", rule: "floor.routing" });
    expect(d.quotaLimits).toEqual({ "pii.phone": 5_000_000 });
    // Non-string reasons are left out.
    expect(d.reasons).toEqual(["contract taobao--zto", "quota pii.phone over"]);
  });

  it("accepts deliver=false and a decision without quota_limits or reasons", () => {
    const raw = goodDecision();
    delete raw.quota_limits;
    delete raw.reasons;
    const d = validateDecision({ ...raw, deliver: false }, FIELDS);
    expect(d.deliver).toBe(false);
    expect(d.quotaLimits).toEqual({});
    expect(d.reasons).toEqual([]);
  });

  it("names a field decision without a rule 'unnamed' and ignores fields not in the schema", () => {
    const raw = goodDecision();
    (raw.fields as Record<string, unknown>).merchant = { action: "drop" };
    (raw.fields as Record<string, unknown>).notInSchema = { action: "keep", rule: "x" };
    const d = validateDecision(raw, FIELDS);
    expect(d.fields.merchant).toEqual({ action: "drop", rule: "unnamed" });
    expect(d.fields).not.toHaveProperty("notInSchema");
  });

  it.each([
    ["undefined", undefined],
    ["null", null],
    ["a string", "allow"],
    ["a number", 1],
    ["an array", [goodDecision()]],
  ])("rejects %s as the decision", (_what, raw) => {
    expect(policyError(raw).message).toMatch(/no decision object/);
  });

  it("rejects a decision without a boolean 'deliver'", () => {
    const raw = goodDecision();
    delete raw.deliver;
    expect(policyError(raw).message).toMatch(/'deliver'/);
    expect(policyError({ ...goodDecision(), deliver: "true" }).message).toMatch(/'deliver'/);
    expect(policyError({ ...goodDecision(), deliver: 1 }).message).toMatch(/'deliver'/);
  });

  it("rejects a decision without a 'fields' object", () => {
    expect(policyError({ deliver: true }).message).toMatch(/'fields'/);
    expect(policyError({ deliver: true, fields: [] }).message).toMatch(/'fields'/);
    expect(policyError({ deliver: true, fields: null }).message).toMatch(/'fields'/);
  });

  it.each([
    ["an unknown action", { action: "hide", rule: "r" }],
    ["an action of the wrong case", { action: "KEEP", rule: "r" }],
    ["no action", { rule: "r" }],
    ["a bare string", "keep"],
    ["null", null],
    ["an array", ["keep"]],
  ])("rejects a field decision with %s, naming the field", (_what, fd) => {
    const raw = goodDecision();
    (raw.fields as Record<string, unknown>).recipientPhone = fd;
    expect(policyError(raw).message).toMatch(/field 'recipientPhone' has no valid action/);
  });

  it.each([
    ["negative", { "pii.phone": -1 }],
    ["NaN", { "pii.phone": Number.NaN }],
    ["a string", { "pii.phone": "5000" }],
    ["null", { "pii.phone": null }],
  ])("rejects a quota limit that is %s, naming the class", (_what, limits) => {
    expect(policyError({ ...goodDecision(), quota_limits: limits }).message).toMatch(/quota limit for 'pii\.phone'/);
  });

  it.each([
    ["an array", [5]],
    ["a number", 5],
    ["null", null],
  ])("rejects quota_limits that is %s", (_what, limits) => {
    expect(policyError({ ...goodDecision(), quota_limits: limits }).message).toMatch(/'quota_limits' is not an object/);
  });

  it("accepts a zero quota limit", () => {
    expect(validateDecision({ ...goodDecision(), quota_limits: { "pii.name": 0 } }, FIELDS).quotaLimits).toEqual({ "pii.name": 0 });
  });

  it("drops a field the decision does not mention, with rule router.not_decided", () => {
    const raw = goodDecision();
    delete (raw.fields as Record<string, unknown>).recipientName;
    delete (raw.fields as Record<string, unknown>).destinationCity;
    const d = validateDecision(raw, FIELDS);
    expect(d.fields.recipientName).toEqual({ action: "drop", rule: "router.not_decided" });
    expect(d.fields.destinationCity).toEqual({ action: "drop", rule: "router.not_decided" });
    expect(d.fields.orderId).toEqual({ action: "keep", rule: "contract.taobao--zto" });
  });

  it("drops every field of an empty fields object", () => {
    const d = validateDecision({ deliver: true, fields: {} }, FIELDS);
    for (const f of FIELDS) expect(d.fields[f.name]).toEqual({ action: "drop", rule: "router.not_decided" });
  });
});
