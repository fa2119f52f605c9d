/**
 * What a recipient may receive, written from the rules' text (the contracts' allow-list, the regulator's
 * ceiling and floor), independently of the Rego, the decision package and the router. The demo's "no field
 * beyond policy" check and the policy property test both judge delivered copies with it, so a bug in the
 * policy or in the router's transforms cannot check itself.
 *
 * The rules, as stated in the README:
 *  - a recipient receives an event only if a contract grant from its source covers the event type and the
 *    grant's scope holds, or the floor applies (a marketplace always receives the tracking and locker events
 *    of its own orders, with every public field); a party never receives its own event back;
 *  - routing attributes always arrive unchanged;
 *  - a field whose class no applying grant names (or names as `drop`) arrives empty;
 *  - a field arrives unchanged only if an applying grant keeps its class and the ceiling allows a full
 *    release: phone numbers to the delivering courier or the holding locker; names and addresses also to the
 *    marketplace of the order; pickup codes to the holding locker and the marketplace; staff data to the
 *    courier; everything else to anyone;
 *  - a pickup code beyond the ceiling arrives empty (no masked or tokenised form either).
 */
import { sourceOf, type EventType } from "@parcel-exchange/shared";

export interface OracleGrant {
  readonly from: string;
  readonly to: string;
  readonly events: readonly string[];
  readonly scope: string;
  readonly classes: Readonly<Record<string, string>>;
}

/** The parts of a bundle's data the rules speak of. */
export interface OracleData {
  readonly parties: Readonly<Record<string, { readonly kind: string }>>;
  readonly contracts?: unknown;
}

export interface OracleField {
  readonly name: string;
  readonly dataClass: string;
}

const TRACKING_TYPES = new Set<EventType>(["TrackingEvent", "LockerEvent"]);

function grantsOf(data: OracleData): OracleGrant[] {
  const contracts = (data.contracts ?? {}) as Record<string, { grants?: OracleGrant[] }>;
  return Object.values(contracts).flatMap((c) => c.grants ?? []);
}

function scopeHolds(scope: string, recipient: string, e: Record<string, unknown>): boolean {
  switch (scope) {
    case "all":
      return true;
    case "own_orders":
      return e.platform === recipient;
    case "own_parcels":
      return e.courier === recipient;
    case "own_lockers":
      return e.locker === recipient;
    default:
      return false;
  }
}

/** The ceiling's full-release relation, by class. */
export function mayKeep(data: OracleData, dataClass: string, recipient: string, e: Record<string, unknown>): boolean {
  const kind = data.parties[recipient]?.kind;
  const courier = recipient === e.courier && kind === "courier";
  const locker = recipient === e.locker && kind === "locker";
  const platform = recipient === e.platform && kind === "marketplace";
  switch (dataClass) {
    case "pii.phone":
      return courier || locker;
    case "secret.pickup_code":
      return locker || platform;
    case "pii.address":
    case "pii.name":
      return courier || locker || platform;
    case "staff.pii":
      return courier;
    default:
      return true;
  }
}

/** Whether the rules deliver this event to the recipient at all. */
export function mayReceive(data: OracleData, type: EventType, e: Record<string, unknown>, recipient: string): boolean {
  const source = sourceOf(type, e);
  if (recipient === source) return false;
  if (floorApplies(data, type, e, recipient)) return true;
  return grantsOf(data).some((g) => g.from === source && g.to === recipient && g.events.includes(type) && scopeHolds(g.scope, recipient, e));
}

function floorApplies(data: OracleData, type: EventType, e: Record<string, unknown>, recipient: string): boolean {
  return TRACKING_TYPES.has(type) && recipient === e.platform && recipient !== sourceOf(type, e) && data.parties[recipient]?.kind === "marketplace";
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Everything wrong with what `recipient` received of one event (`got`, decoded; undefined when nothing
 * arrived), under `data`: an empty list when the delivery (or its absence) is what the rules allow.
 */
export function judgeDelivery(data: OracleData, type: EventType, e: Record<string, unknown>, fields: readonly OracleField[], recipient: string, got: Record<string, unknown> | undefined): string[] {
  const id = String(e.eventId);
  if (!mayReceive(data, type, e, recipient)) return got === undefined ? [] : [`${recipient} received ${type} ${id}, which no grant or floor gives it`];
  if (got === undefined) return [`${recipient} did not receive ${type} ${id}`];
  const source = sourceOf(type, e);
  const floor = floorApplies(data, type, e, recipient);
  const applying = grantsOf(data).filter((g) => g.from === source && g.to === recipient && g.events.includes(type) && scopeHolds(g.scope, recipient, e));
  const problems: string[] = [];
  for (const f of fields) {
    const orig = e[f.name] ?? null;
    const val = got[f.name] ?? null;
    if (f.dataClass === "routing" || (floor && f.dataClass === "public")) {
      if (!same(val, orig)) problems.push(`${recipient} got ${f.name} of ${id} changed; it must arrive as published`);
      continue;
    }
    if (orig === null) continue;
    const named = applying.filter((g) => g.classes[f.dataClass] !== undefined && g.classes[f.dataClass] !== "drop");
    if (named.length === 0 && val !== null) problems.push(`${recipient} got ${f.name} (${f.dataClass}) of ${id}; no grant allows that class`);
    if (same(val, orig)) {
      if (!named.some((g) => g.classes[f.dataClass] === "keep")) problems.push(`${recipient} got ${f.name} (${f.dataClass}) of ${id} in full without a grant that keeps it`);
      if (!mayKeep(data, f.dataClass, recipient, e)) problems.push(`ceiling: ${recipient} got ${f.name} (${f.dataClass}) of ${id} in full`);
    }
    if (f.dataClass === "secret.pickup_code" && !mayKeep(data, f.dataClass, recipient, e) && val !== null) problems.push(`ceiling: ${recipient} got a form of the pickup code of ${id}`);
  }
  return problems;
}
