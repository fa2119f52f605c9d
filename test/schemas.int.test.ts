/** The schema check against the real registry: the working schemas may follow every released version. */
import { describe, expect, it } from "vitest";
import { checkSchemaCompatibility, schemaJson, type EventType } from "@parcel-exchange/shared";
import { testConfig } from "./helpers.js";

const config = testConfig("schemas");

describe("schema compatibility (BACKWARD, checked by the registry)", () => {
  it("accepts the working copy of every event schema after its released versions", async () => {
    const results = await checkSchemaCompatibility(config, `${config.topicPrefix}.ok`);
    for (const r of results) expect({ type: r.eventType, compatible: r.compatible, messages: r.messages }).toEqual({ type: r.eventType, compatible: true, messages: [] });
    expect(results.every((r) => r.releases >= 1)).toBe(true);
  });

  it("fails on a change the registry rejects: a new required field without a default", async () => {
    const breaking = (t: EventType) => {
      const s = schemaJson(t) as { fields: unknown[] };
      return t === "TrackingEvent" ? { ...s, fields: [...s.fields, { name: "weightGrams", type: "int", dataClass: "business" }] } : s;
    };
    const results = await checkSchemaCompatibility(config, `${config.topicPrefix}.bad`, breaking);
    expect(results.find((r) => r.eventType === "TrackingEvent")?.compatible).toBe(false);
    expect(results.filter((r) => r.eventType !== "TrackingEvent").every((r) => r.compatible)).toBe(true);
  });

  it("accepts an evolution the registry allows: a new nullable field with a default", async () => {
    const evolved = (t: EventType) => {
      const s = schemaJson(t) as { fields: unknown[] };
      return { ...s, fields: [...s.fields, { name: "weightGrams", type: ["null", "int"], default: null, dataClass: "business" }] };
    };
    const results = await checkSchemaCompatibility(config, `${config.topicPrefix}.evo`, evolved);
    expect(results.every((r) => r.compatible)).toBe(true);
  });
});
