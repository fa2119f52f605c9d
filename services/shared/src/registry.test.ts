import { describe, expect, it } from "vitest";
import { SchemaNotRegisteredError } from "./errors.js";
import { findSchemaVersion, lookupEventSchemaIds, sameSchema, type RegistryReader, type SubjectVersion } from "./registry.js";
import { EVENT_TYPES, schemaJson } from "./schemas.js";
import { topics } from "./topics.js";
import { loadConfig } from "./config.js";

/** The schema as a registry may hand it back: keys reordered, a full name instead of name + namespace, compact. */
function reserialised(schema: Record<string, unknown>): string {
  const { namespace, name, ...rest } = schema;
  const fields = (rest.fields as Record<string, unknown>[]).map((f) => Object.fromEntries(Object.entries(f).reverse()));
  return JSON.stringify({ fields, ...rest, name: `${String(namespace)}.${String(name)}` });
}

const version = (v: number, id: number, schema: unknown): SubjectVersion => ({ version: v, id, schema: typeof schema === "string" ? schema : JSON.stringify(schema) });

describe("sameSchema", () => {
  const order = schemaJson("OrderCreated");

  it("holds for the same schema however a registry re-serialised it", () => {
    expect(sameSchema(order, JSON.parse(reserialised(order)))).toBe(true);
    expect(sameSchema({ type: "record", name: "R", namespace: "a.b", fields: [{ name: "x", type: { type: "string" } }] }, { type: "record", name: "a.b.R", fields: [{ type: "string", name: "x" }] })).toBe(true);
  });

  it("holds across nested named types whose namespace is inherited or spelt out", () => {
    const a = { type: "record", name: "R", namespace: "n", fields: [{ name: "e", type: { type: "enum", name: "E", symbols: ["A"] } }, { name: "f", type: "E" }] };
    const b = { type: "record", name: "n.R", fields: [{ name: "e", type: { type: "enum", name: "n.E", symbols: ["A"] } }, { name: "f", type: "n.E" }] };
    expect(sameSchema(a, b)).toBe(true);
  });

  it("fails when a custom attribute such as dataClass differs, as well as on any structural change", () => {
    const reclassified = structuredClone(order);
    (reclassified.fields as { name: string; dataClass?: string }[]).find((f) => f.name === "recipientPhone")!.dataClass = "public";
    expect(sameSchema(order, reclassified)).toBe(false);
    const declassified = structuredClone(order);
    delete (declassified.fields as { dataClass?: string }[])[10]!.dataClass;
    expect(sameSchema(order, declassified)).toBe(false);
    const renamed = structuredClone(order);
    (renamed.fields as { name: string }[])[0]!.name = "id";
    expect(sameSchema(order, renamed)).toBe(false);
    expect(sameSchema(order, schemaJson("TrackingEvent"))).toBe(false);
  });
});

describe("findSchemaVersion", () => {
  const tracking = schemaJson("TrackingEvent");
  const older = { ...tracking, fields: (tracking.fields as unknown[]).slice(0, -1) };

  it("picks the version whose schema is this build's, newest first, whatever else the subject holds", () => {
    expect(findSchemaVersion(tracking, [version(1, 11, older), version(2, 12, reserialised(tracking)), version(3, 13, older)])).toMatchObject({ version: 2, id: 12 });
    expect(findSchemaVersion(tracking, [version(1, 11, tracking), version(4, 14, tracking)])).toMatchObject({ id: 14 });
  });

  it("finds nothing when no version matches, and skips unparsable or non-Avro versions", () => {
    expect(findSchemaVersion(tracking, [version(1, 11, older)])).toBeUndefined();
    expect(findSchemaVersion(tracking, [])).toBeUndefined();
    expect(findSchemaVersion(tracking, [version(1, 11, "{not json"), { ...version(2, 12, tracking), schemaType: "JSON" }])).toBeUndefined();
  });
});

describe("lookupEventSchemaIds", () => {
  const config = loadConfig({ NODE_ENV: "test", PX_TOPIC_PREFIX: "px" });
  const t = topics("px");

  /** A read-only registry: subject → versions; records every path asked for. */
  function registry(subjects: Record<string, SubjectVersion[]>): RegistryReader & { calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      request<T>(method: string, path: string): Promise<T | undefined> {
        calls.push(`${method} ${path}`);
        const m = /^\/subjects\/([^/]+)\/versions(?:\/(\d+))?$/.exec(path);
        const versions = m ? subjects[decodeURIComponent(m[1]!)] : undefined;
        if (!m || versions === undefined) return Promise.resolve(undefined);
        if (m[2] === undefined) return Promise.resolve(versions.map((v) => v.version) as T);
        return Promise.resolve(versions.find((v) => v.version === Number(m[2])) as T | undefined);
      },
    };
  }

  it("returns the matching version's id per event type, with GETs only", async () => {
    const reg = registry(Object.fromEntries(EVENT_TYPES.map((type, i) => [t.subject(type), [version(1, 100 + i, schemaJson(type))]])));
    expect(await lookupEventSchemaIds(config, t, reg)).toEqual({ OrderCreated: 100, TrackingEvent: 101, LockerEvent: 102 });
    expect(reg.calls.every((c) => c.startsWith("GET /subjects/"))).toBe(true);
    expect(await lookupEventSchemaIds(config, t, reg, ["LockerEvent"])).toEqual({ LockerEvent: 102 });
  });

  it("says what is missing and who registers it", async () => {
    await expect(lookupEventSchemaIds(config, t, registry({}), ["TrackingEvent"])).rejects.toThrow(
      "schema for TrackingEvent is not registered under px.raw.tracking-value (no such subject): the exchange's provisioning registers it (npx px parties provision)",
    );
    const stale = registry({ [t.subject("OrderCreated")]: [version(1, 7, schemaJson("TrackingEvent"))] });
    const err = await lookupEventSchemaIds(config, t, stale, ["OrderCreated"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaNotRegisteredError);
    expect(err).toMatchObject({ code: "SCHEMA_NOT_REGISTERED", subject: "px.raw.orders-value", eventType: "OrderCreated", retriable: true });
  });
});
