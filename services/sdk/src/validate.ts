/**
 * Client-side checks an event must pass before the publisher sends it: the Avro schema (every problem,
 * with its field path) and the exchange's routing rules. Pure: no Kafka, no registry.
 */
import { randomUUID } from "node:crypto";
import avro from "avsc";
import { EVENT_TYPES, SOURCE_FIELD, ValidationError, describeSchema, schemaJson, sourceOf, type EventType } from "@parcel-exchange/shared";
import type { EventInputMap, EventMap, ParcelEvent, ParcelEventInput } from "./types.js";

/** Party ids end up in topic names (`px.deliver.<party>`), so they use Kafka's topic characters only. */
const PARTY_RE = /^[A-Za-z0-9._-]{1,100}$/;

export function isValidPartyId(party: unknown): party is string {
  return typeof party === "string" && PARTY_RE.test(party);
}

export { SOURCE_FIELD } from "@parcel-exchange/shared";

const typeCache = new Map<EventType, avro.Type>();

/** The avsc type of an event type, built from the repository schema. */
export function avroTypeOf(eventType: EventType): avro.Type {
  let t = typeCache.get(eventType);
  if (t === undefined) {
    t = describeSchema(schemaJson(eventType)).type;
    typeCache.set(eventType, t);
  }
  return t;
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function recordBranch(type: avro.Type): avro.types.RecordType | undefined {
  if (type.typeName === "record") return type as avro.types.RecordType;
  if (type.typeName === "union:unwrapped") {
    return (type as avro.types.UnwrappedUnionType).types.find((t) => t.typeName === "record") as avro.types.RecordType | undefined;
  }
  return undefined;
}

/**
 * Copies the value, putting schema defaults into absent fields of records (nested ones too), and reports
 * properties the schema does not declare (usually a misspelt field, which Avro would silently drop).
 */
function fillDefaults(type: avro.Type, value: unknown, path: string[], problems: string[]): unknown {
  const rec = recordBranch(type);
  if (rec === undefined || !isObject(value)) return value;
  const out: Obj = {};
  const declared = new Set(rec.fields.map((f) => f.name));
  for (const key of Object.keys(value)) {
    if (!declared.has(key) && value[key] !== undefined) {
      problems.push(`${[...path, key].join(".")}: is not a field of ${shortName(rec.name)}`);
    }
  }
  for (const f of rec.fields) {
    const cur = value[f.name];
    if (cur === undefined) {
      const dflt: unknown = f.defaultValue();
      if (dflt !== undefined) out[f.name] = dflt;
    } else {
      out[f.name] = fillDefaults(f.type, cur, [...path, f.name], problems);
    }
  }
  return out;
}

function shortName(name: string | undefined): string {
  if (name === undefined) return "record";
  return name.includes(".") ? name.slice(name.lastIndexOf(".") + 1) : name;
}

function describeType(type: avro.Type): string {
  switch (type.typeName) {
    case "union:unwrapped":
    case "union:wrapped":
      return (type as avro.types.UnwrappedUnionType).types.map(describeType).join(" or ");
    case "enum":
      return `one of ${(type as avro.types.EnumType).symbols.join(", ")}`;
    case "record":
      return `a ${shortName(type.name)} record`;
    case "long":
    case "int":
      return `a whole number (${type.typeName})`;
    default:
      return type.typeName;
  }
}

/** What was found, without echoing the value itself: it may be personal data and errors get logged. */
function describeValue(v: unknown, type: avro.Type): string {
  if (v === undefined) return "nothing (the field is required)";
  if (v === null) return "null";
  if (typeof v === "number" && !Number.isInteger(v)) return "a fractional number";
  if (typeof v === "number" && !Number.isSafeInteger(v)) return "a number outside the safe integer range";
  if (typeof v === "string" && type.typeName === "enum") return `'${v.slice(0, 40)}'`;
  if (Array.isArray(v)) return "an array";
  return `a ${typeof v}`;
}

/** Checks the value against the avsc type and returns every problem, one per invalid leaf. */
export function schemaProblems(type: avro.Type, value: unknown): string[] {
  const problems: string[] = [];
  type.isValid(value, {
    errorHook: (path, val, t) => {
      const where = path.length === 0 ? "event" : path.join(".");
      problems.push(`${where}: expected ${describeType(t)}, got ${describeValue(val, t)}`);
    },
  });
  return problems;
}

/** The routing rules: the exchange routes by these attributes, so they are checked on the client. */
function routingProblems(eventType: EventType, e: Obj, party: string): string[] {
  const problems: string[] = [];
  for (const f of ["eventId", "parcelId"] as const) {
    if (typeof e[f] === "string" && (e[f] as string).trim() === "") problems.push(`${f}: must not be empty`);
  }
  const sourceField = SOURCE_FIELD[eventType];
  const source = sourceOf(eventType, e);
  if (typeof source === "string" && source !== party) {
    problems.push(`${sourceField}: a party may only publish as itself; expected '${party}', got '${source}'`);
  }
  if ((eventType === "TrackingEvent" || eventType === "LockerEvent") && (e.platform === null || e.platform === undefined)) {
    problems.push("platform: is required for routing (the marketplace the parcel came from)");
  } else if ((eventType === "TrackingEvent" || eventType === "LockerEvent") && typeof e.platform === "string" && e.platform.trim() === "") {
    problems.push("platform: must not be empty");
  }
  return problems;
}

/**
 * Completes an event (eventId = random UUID when absent, schema defaults for absent nullable fields) and
 * checks it against the schema and the routing rules for publishing as `party`. Returns the complete
 * event, or throws ValidationError listing every problem.
 */
export function prepareEvent<K extends EventType>(eventType: K, input: EventInputMap[K], party: string): EventMap[K] {
  const problems = eventProblems(eventType, input, party);
  if (problems.errors.length > 0) throw new ValidationError(eventType, problems.errors);
  return problems.event as EventMap[K];
}

function eventProblems(eventType: EventType, input: unknown, party: string): { event: unknown; errors: string[] } {
  if (!(EVENT_TYPES as readonly string[]).includes(eventType)) {
    return { event: input, errors: [`type: '${String(eventType)}' is not one of ${EVENT_TYPES.join(", ")}`] };
  }
  if (!isObject(input)) return { event: input, errors: [`event: expected an object, got ${input === null ? "null" : typeof input}`] };
  const errors: string[] = [];
  const type = avroTypeOf(eventType);
  const withId: Obj = input.eventId === undefined ? { ...input, eventId: randomUUID() } : { ...input };
  const event = fillDefaults(type, withId, [], errors) as Obj;
  errors.push(...schemaProblems(type, event), ...routingProblems(eventType, event, party));
  return { event, errors };
}

/** prepareEvent for a batch: every problem of every event is reported, prefixed with its index. */
export function prepareEvents(events: readonly ParcelEventInput[], party: string): ParcelEvent[] {
  if (!Array.isArray(events)) throw new ValidationError("batch", ["events: expected an array"]);
  const errors: string[] = [];
  const out: ParcelEvent[] = [];
  events.forEach((item: unknown, i) => {
    if (!isObject(item)) {
      errors.push(`events[${i}]: expected {type, event}`);
      return;
    }
    const r = eventProblems(item.type as EventType, item.event, party);
    for (const p of r.errors) errors.push(`events[${i}] (${String(item.type)}) ${p}`);
    out.push({ type: item.type, event: r.event } as ParcelEvent);
  });
  if (errors.length > 0) throw new ValidationError(`batch of ${events.length} events`, errors);
  return out;
}
