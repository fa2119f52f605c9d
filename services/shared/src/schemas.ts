/**
 * The event schemas (schemas/avro/*.avsc) and the data class every field carries in its `dataClass`
 * attribute. The router governs fields by class, never by name, reading classes from the writer schema.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import avro from "avsc";

export const EVENT_TYPES = ["OrderCreated", "TrackingEvent", "LockerEvent"] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const NAMESPACE = "exchange.parcel.v1";

/** Classes the policies know. A field with another class (or none) is governed as the most sensitive. */
export const DATA_CLASSES = ["routing", "public", "business", "pii.name", "pii.phone", "pii.address", "secret.pickup_code", "staff.pii"] as const;
export const UNCLASSIFIED = "unclassified";

export interface FieldInfo {
  readonly name: string;
  readonly dataClass: string;
  readonly nullable: boolean;
}

export interface SchemaInfo {
  readonly eventType: EventType;
  readonly type: avro.Type;
  readonly fields: readonly FieldInfo[];
}

/**
 * Where the .avsc files are: inside the installed package (`schemas/avro`, copied there when it is packed), or
 * the repository's top-level `schemas/avro` when running from the sources.
 */
export const SCHEMA_DIR = ((pkg: string) => [join(pkg, "schemas", "avro"), join(pkg, "..", "..", "schemas", "avro")].find((d) => existsSync(d)) ?? join(pkg, "schemas", "avro"))(join(dirname(fileURLToPath(import.meta.url)), ".."));

/** The schema JSON of an event type as kept in the repository. */
export function schemaJson(eventType: EventType): Record<string, unknown> {
  return schemaJsonFile(eventType);
}

/** Any schema of schemas/avro by record name (event types and PolicyNotice). */
export function schemaJsonFile(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(SCHEMA_DIR, `${name}.avsc`), "utf8")) as Record<string, unknown>;
}

interface RawField {
  name: string;
  type: unknown;
  dataClass?: unknown;
}

/** Reads a (writer) schema: its event type, avsc type and the class of each top-level field. */
export function describeSchema(json: unknown): SchemaInfo {
  if (typeof json !== "object" || json === null) throw new Error("schema is not a JSON object");
  const rec = json as { type?: unknown; name?: unknown; namespace?: unknown; fields?: unknown };
  if (rec.type !== "record" || typeof rec.name !== "string" || !Array.isArray(rec.fields)) {
    throw new Error("schema is not an Avro record");
  }
  const short = rec.name.includes(".") ? rec.name.slice(rec.name.lastIndexOf(".") + 1) : rec.name;
  const ns = rec.name.includes(".") ? rec.name.slice(0, rec.name.lastIndexOf(".")) : rec.namespace;
  if (ns !== NAMESPACE || !(EVENT_TYPES as readonly string[]).includes(short)) {
    throw new Error(`record ${String(ns)}.${short} is not a Parcel Exchange event type`);
  }
  const fields = (rec.fields as RawField[]).map((f) => ({
    name: f.name,
    dataClass: typeof f.dataClass === "string" && f.dataClass !== "" ? f.dataClass : UNCLASSIFIED,
    nullable: Array.isArray(f.type) && f.type.includes("null"),
  }));
  return { eventType: short as EventType, type: avro.Type.forSchema(json as avro.Schema), fields };
}

/** The field of each event type that names the publishing party (its source). */
export const SOURCE_FIELD = {
  OrderCreated: "platform",
  TrackingEvent: "courier",
  LockerEvent: "locker",
} as const satisfies Readonly<Record<EventType, string>>;

/** Which party published an event, by the event's own routing attributes. */
export function sourceOf(eventType: EventType, e: Record<string, unknown>): unknown {
  return e[SOURCE_FIELD[eventType]];
}
