/**
 * The demo's two checks, both able to fail:
 *  - no buyer lost tracking: every tracking and locker event reached the marketplace of its order with its
 *    status/action and city;
 *  - no field beyond policy: every delivered record is what the policy version stamped on it allows for that
 *    event and recipient, field by field, judged by the rules' own oracle (oracle.ts, independent of the
 *    policy's code and the router), and the regulator's ceiling holds on every record.
 */
import { describeSchema, schemaJson, type EventType, type PolicyBundle, type SchemaInfo } from "@parcel-exchange/shared";
import { judgeDelivery } from "./oracle.js";

export interface Received {
  readonly party: string;
  readonly type: EventType;
  readonly event: Record<string, unknown>;
  readonly policyVersion: string;
  readonly sourceEventId: string;
}

export interface Published {
  readonly type: EventType;
  readonly event: Record<string, unknown>;
}

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly checked: number;
  readonly problems: string[];
}

export function checkBuyersKeepTracking(published: ReadonlyMap<string, Published>, received: readonly Received[]): CheckResult {
  const got = new Map<string, Received>();
  for (const r of received) got.set(`${r.party}|${r.sourceEventId}`, r);
  const problems: string[] = [];
  let checked = 0;
  for (const [id, p] of published) {
    if (p.type === "OrderCreated") continue;
    checked++;
    const platform = String(p.event.platform);
    const r = got.get(`${platform}|${id}`);
    const kind = p.type === "TrackingEvent" ? "status" : "action";
    if (!r) problems.push(`${platform} never received ${p.type} ${id}`);
    else if (r.event[kind] !== p.event[kind] || r.event.city !== p.event.city) problems.push(`${platform} received ${id} without its ${kind}/city`);
  }
  return { name: "no buyer lost tracking", ok: problems.length === 0, checked, problems };
}

export function checkNothingBeyondPolicy(bundles: readonly PolicyBundle[], published: ReadonlyMap<string, Published>, received: readonly Received[]): CheckResult {
  const versions = new Map<string, PolicyBundle>(bundles.map((b) => [b.version, b]));
  const infos = new Map<EventType, SchemaInfo>();
  const info = (t: EventType) => infos.get(t) ?? infos.set(t, describeSchema(schemaJson(t))).get(t)!;
  const problems: string[] = [];
  for (const r of received) {
    const p = published.get(r.sourceEventId);
    const bundle = versions.get(r.policyVersion);
    if (!p || !bundle) {
      problems.push(`${r.party} received ${r.sourceEventId} under ${r.policyVersion || "no version"}, which is not a known event/version`);
      continue;
    }
    const e = p.event;
    // Judged by the independent oracle from the version's data (contracts, parties), not by the policy's code.
    for (const problem of judgeDelivery(bundle.data, p.type, e, info(p.type).fields, r.party, r.event)) problems.push(`${problem} (policy ${r.policyVersion})`);
    // The ceiling, stated directly: full phone numbers only to the delivering courier or the holding locker;
    // pickup codes only to the locker that issued them and the marketplace of the order.
    const phone = r.event.recipientPhone;
    if (typeof phone === "string" && phone === e.recipientPhone && r.party !== e.courier && r.party !== e.locker) problems.push(`${r.party} got the full phone of ${r.sourceEventId}`);
    const code = r.event.pickupCode;
    if (typeof code === "string" && r.party !== e.locker && r.party !== e.platform) problems.push(`${r.party} got the pickup code of ${r.sourceEventId}`);
  }
  return { name: "no field beyond policy", ok: problems.length === 0, checked: received.length, problems };
}
