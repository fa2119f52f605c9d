/**
 * Parcel events as GS1 EPCIS 2.0 JSON-LD, for receivers whose track-and-trace systems speak EPCIS rather
 * than our webhook JSON. Every step of a parcel becomes one ObjectEvent about the parcel; the business step
 * and disposition come from the CBV 2.0 standard vocabulary (EPCIS_MAPPING, also in MAPPING.md).
 *
 * What goes in, and what never does:
 * - EPCIS says what happened where and when, not to whom. No name, phone, street address, staff identity,
 *   pickup code, order id or merchant is ever copied: fields are taken by an allow-list, not a deny-list.
 * - A field a recipient's policy removed is null and is left out; nothing is inferred in its place. A value
 *   a policy masked (it holds `*`) is no identifier, so it never becomes a location id; it goes as it is into
 *   a `px:` extension field instead.
 * - A parcel id is a courier's waybill number, not a GS1 key (no SSCC is assigned to it). Identifiers are
 *   therefore HTTPS URIs under the exchange's own domain in the shape of a GS1 Digital Link
 *   (`https://id.parcel-exchange.example/parcel/<id>`): EPCIS 2.0 prefers web URIs, they resolve, and an
 *   unregistered `urn:px:` namespace would not be a conformant URN (RFC 8141).
 * - `eventID` is `urn:uuid:<eventId>` for a UUID eventId, else a name-based (v5-style, SHA-1) UUID of it.
 *   The CBV `ni:///sha-256` event hash is not used: it is a hash of the canonical event, which this is not.
 * - Times are written in the event's offset, +08:00 (China) unless the caller says otherwise; the events
 *   carry epoch millis and no zone.
 */
import { createHash } from "node:crypto";
import type { EventType, LockerAction, TrackingStatus } from "@parcel-exchange/sdk";

export const EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld";
/** Namespace of the exchange's extension fields (`px:policyVersion`, …). */
export const PX_NAMESPACE = "https://parcel-exchange.example/epcis#";
export const DEFAULT_ID_BASE = "https://id.parcel-exchange.example";
export const DEFAULT_TIME_ZONE_OFFSET = "+08:00";

export type EpcisAction = "ADD" | "OBSERVE" | "DELETE";

/** How one kind of parcel event is told in EPCIS. */
export interface EpcisStep {
  action: EpcisAction;
  /** CBV 2.0 business step (bare word, as the EPCIS JSON-LD context allows). */
  bizStep: string;
  /** CBV 2.0 disposition: the parcel's state after the step. */
  disposition: string;
  /** Whether the parcel stays at the read point (so it is also the bizLocation) rather than moving on. */
  staysAtReadPoint: boolean;
  why: string;
}

/**
 * Every OrderCreated, tracking status and locker action, as CBV 2.0 vocabulary. Only the order is an ADD:
 * it brings the waybill number into being (commissioning/active). Every later step is an OBSERVE. None is a
 * DELETE: that would say the identifier was decommissioned, and no step proves it (a DELIVERED parcel can
 * still be deposited in a locker, expire and be returned).
 */
export const EPCIS_MAPPING = {
  OrderCreated: { action: "ADD", bizStep: "commissioning", disposition: "active", staysAtReadPoint: false, why: "The waybill number is assigned: the parcel's identifier comes into use." },
  TrackingEvent: {
    ACCEPTED: { action: "OBSERVE", bizStep: "accepting", disposition: "in_progress", staysAtReadPoint: true, why: "The courier takes the parcel into its charge: a change of possession." },
    PICKED_UP: { action: "OBSERVE", bizStep: "shipping", disposition: "in_transit", staysAtReadPoint: false, why: "Collected from the sender and on its way; CBV shipping covers the whole outbound step." },
    ARRIVED_HUB: { action: "OBSERVE", bizStep: "arriving", disposition: "in_transit", staysAtReadPoint: true, why: "Arrives at a hub, still in transit to the recipient." },
    DEPARTED_HUB: { action: "OBSERVE", bizStep: "departing", disposition: "in_transit", staysAtReadPoint: false, why: "Leaves a hub on its way to the destination." },
    OUT_FOR_DELIVERY: { action: "OBSERVE", bizStep: "transporting", disposition: "in_transit", staysAtReadPoint: false, why: "On the last-mile vehicle; transporting keeps it apart from a hub departure." },
    DELIVERED: { action: "OBSERVE", bizStep: "receiving", disposition: "in_progress", staysAtReadPoint: false, why: "Received at the destination; receiving/in_progress is CBV's usual pair (no CBV word means 'delivered'). No bizLocation: that would be the recipient's address." },
    EXCEPTION: { action: "OBSERVE", bizStep: "holding", disposition: "in_progress", staysAtReadPoint: true, why: "Held for review; the reason (px:exceptionReason) is not second-guessed into damaged or lost." },
    RETURNED: { action: "OBSERVE", bizStep: "shipping", disposition: "returned", staysAtReadPoint: false, why: "Sent back to the sender: shipped, with CBV's returned disposition." },
  } satisfies Record<TrackingStatus, EpcisStep>,
  LockerEvent: {
    DEPOSITED: { action: "OBSERVE", bizStep: "storing", disposition: "in_progress", staysAtReadPoint: true, why: "Put into a locker compartment to wait for the recipient." },
    PICKED_UP: { action: "OBSERVE", bizStep: "receiving", disposition: "in_progress", staysAtReadPoint: false, why: "The recipient takes it: received, as tracking DELIVERED." },
    EXPIRED: { action: "OBSERVE", bizStep: "holding", disposition: "expired", staysAtReadPoint: true, why: "The pickup window has passed; still in the locker." },
    RETURNED: { action: "OBSERVE", bizStep: "departing", disposition: "returned", staysAtReadPoint: false, why: "Taken out of the locker to go back." },
  } satisfies Record<LockerAction, EpcisStep>,
} as const satisfies { OrderCreated: EpcisStep; TrackingEvent: Record<string, EpcisStep>; LockerEvent: Record<string, EpcisStep> };

export interface EpcisItem {
  type: EventType;
  /** The event as delivered to the recipient (after its policy). */
  event: Record<string, unknown>;
  policyVersion: string;
  eventId: string;
  /** The event's UTC offset, `±hh:mm`; the document's default when absent. */
  timeZoneOffset?: string;
}

export interface EpcisOptions {
  /** ISO 8601; now by default. */
  creationDate?: string;
  /** Offset for events that carry none (DEFAULT_TIME_ZONE_OFFSET). */
  timeZoneOffset?: string;
  /** Base of the parcel, site and locker URIs (DEFAULT_ID_BASE). */
  idBase?: string;
}

export interface EpcisObjectEvent {
  type: "ObjectEvent";
  eventID: string;
  eventTime: string;
  eventTimeZoneOffset: string;
  epcList: string[];
  action: EpcisAction;
  bizStep?: string;
  disposition?: string;
  readPoint?: { id: string };
  bizLocation?: { id: string };
  [extension: `px:${string}`]: string;
}

export interface EPCISDocument {
  "@context": [typeof EPCIS_CONTEXT, { px: typeof PX_NAMESPACE }];
  type: "EPCISDocument";
  schemaVersion: "2.0";
  creationDate: string;
  epcisBody: { eventList: EpcisObjectEvent[] };
}

/** An EPCIS 2.0 document with one ObjectEvent per item, in the order given. */
export function toEpcisDocument(items: readonly EpcisItem[], opts: EpcisOptions = {}): EPCISDocument {
  const creationDate = opts.creationDate ?? new Date().toISOString();
  const base = (opts.idBase ?? DEFAULT_ID_BASE).replace(/\/+$/, "");
  const defaultOffset = checkOffset(opts.timeZoneOffset ?? DEFAULT_TIME_ZONE_OFFSET);
  return {
    "@context": [EPCIS_CONTEXT, { px: PX_NAMESPACE }],
    type: "EPCISDocument",
    schemaVersion: "2.0",
    creationDate,
    epcisBody: { eventList: items.map((item) => toObjectEvent(item, base, item.timeZoneOffset === undefined ? defaultOffset : checkOffset(item.timeZoneOffset))) },
  };
}

function toObjectEvent(item: EpcisItem, base: string, offset: string): EpcisObjectEvent {
  const e = item.event;
  const parcelId = str(e.parcelId);
  if (parcelId === undefined) throw new TypeError(`${item.type} ${item.eventId}: no parcelId`);
  const millis = item.type === "OrderCreated" ? e.createdAt : e.eventTime;
  if (typeof millis !== "number" || !Number.isFinite(millis)) throw new TypeError(`${item.type} ${item.eventId}: no event time`);

  const kind = item.type === "TrackingEvent" ? str(e.status) : item.type === "LockerEvent" ? str(e.action) : undefined;
  const step: EpcisStep | undefined =
    item.type === "OrderCreated"
      ? EPCIS_MAPPING.OrderCreated
      : (EPCIS_MAPPING[item.type] as Record<string, EpcisStep>)[kind ?? ""];

  const ext: Record<`px:${string}`, string> = { "px:policyVersion": item.policyVersion, "px:eventType": kind === undefined ? item.type : `${item.type}.${kind}` };
  // The place of the step: a site or a locker, as an identifier only when it is a real (unmasked) value.
  let place: string | undefined;
  const sitePlace = (owner: unknown) => {
    const site = str(e.siteCode), o = str(owner);
    if (site === undefined) return undefined;
    if (!isMasked(site) && o !== undefined) return `${base}/site/${seg(o)}/${seg(site)}`;
    ext["px:siteCode"] = site;
    return undefined;
  };
  if (item.type === "TrackingEvent") {
    place = sitePlace(e.courier);
    for (const f of ["province", "city", "district", "exceptionReason"] as const) if (str(e[f]) !== undefined) ext[`px:${f}`] = str(e[f])!;
  } else if (item.type === "LockerEvent") {
    const lockerId = str(e.lockerId), operator = str(e.locker);
    if (lockerId !== undefined && !isMasked(lockerId) && operator !== undefined) place = `${base}/locker/${seg(operator)}/${seg(lockerId)}`;
    else if (lockerId !== undefined) ext["px:lockerId"] = lockerId;
    const site = sitePlace(e.locker);
    place ??= site;
    if (str(e.city) !== undefined) ext["px:city"] = str(e.city)!;
  } else if (str(e.destinationCity) !== undefined) {
    ext["px:destinationCity"] = str(e.destinationCity)!;
  }

  return {
    type: "ObjectEvent",
    eventID: eventIdUri(item.eventId),
    eventTime: inOffset(millis, offset),
    eventTimeZoneOffset: offset,
    epcList: [`${base}/parcel/${seg(parcelId)}`],
    action: step?.action ?? "OBSERVE",
    ...(step ? { bizStep: step.bizStep, disposition: step.disposition } : {}),
    ...(place ? { readPoint: { id: place } } : {}),
    ...(place && step?.staysAtReadPoint ? { bizLocation: { id: place } } : {}),
    ...ext,
  };
}

/** The mapping as the Markdown table in MAPPING.md. */
export function epcisMappingMarkdown(): string {
  const rows: string[][] = [["OrderCreated", "—", ...cells(EPCIS_MAPPING.OrderCreated)]];
  for (const type of ["TrackingEvent", "LockerEvent"] as const) {
    for (const [k, s] of Object.entries(EPCIS_MAPPING[type] as Record<string, EpcisStep>)) rows.push([type, k, ...cells(s)]);
  }
  return [
    "| event | status / action | action | bizStep | disposition | bizLocation | why |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

function cells(s: EpcisStep): string[] {
  return [s.action, `\`${s.bizStep}\``, `\`${s.disposition}\``, s.staysAtReadPoint ? "read point" : "—", s.why];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Namespace of the name-based event UUIDs (fixed: the same eventId always gives the same eventID). */
const EVENT_ID_NAMESPACE = Buffer.from("6f1c2b7e4a5d4e0f9b3c8d2e1f0a7b65", "hex");

function eventIdUri(eventId: string): string {
  if (UUID.test(eventId)) return `urn:uuid:${eventId.toLowerCase()}`;
  const h = createHash("sha1").update(EVENT_ID_NAMESPACE).update(eventId, "utf8").digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString("hex");
  return `urn:uuid:${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const OFFSET = /^[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00)$/;
function checkOffset(offset: string): string {
  if (!OFFSET.test(offset)) throw new RangeError(`time zone offset ${offset} is not ±hh:mm between -14:00 and +14:00`);
  return offset;
}

/** Epoch millis as an ISO 8601 time in the given offset, e.g. 2025-03-01T20:00:00.000+08:00. */
function inOffset(millis: number, offset: string): string {
  const sign = offset.startsWith("-") ? -1 : 1;
  const minutes = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  return new Date(millis + minutes * 60_000).toISOString().replace("Z", offset);
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function isMasked(v: string): boolean {
  return v.includes("*");
}

function seg(v: string): string {
  return encodeURIComponent(v);
}
