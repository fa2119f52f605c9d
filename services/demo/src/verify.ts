/**
 * The demo's two checks, both able to fail:
 *  - no buyer lost tracking: every tracking and locker event reached the marketplace of its order with its
 *    status/action and city;
 *  - no field beyond policy: every delivered record equals what the policy version stamped on it allows for
 *    that event and recipient, field by field, and the regulator's ceiling holds on every record.
 */
import { describeSchema, schemaJson, type Config, type EventType, type PolicyBundle, type SchemaInfo } from "../../shared/src/index.js";
import { PolicyEngine, makePlan, validateDecision } from "../../decision/src/index.js";

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

export async function checkNothingBeyondPolicy(config: Config, bundles: readonly PolicyBundle[], published: ReadonlyMap<string, Published>, received: readonly Received[]): Promise<CheckResult> {
  const engines = new Map<string, PolicyEngine>();
  for (const b of bundles) engines.set(b.version, await PolicyEngine.load(b, 1000));
  const infos = new Map<EventType, SchemaInfo>();
  const info = (t: EventType) => infos.get(t) ?? infos.set(t, describeSchema(schemaJson(t))).get(t)!;
  const settings = { masks: config.masks, tokenKey: config.router.tokenKey };
  const problems: string[] = [];
  for (const r of received) {
    const p = published.get(r.sourceEventId);
    const engine = engines.get(r.policyVersion);
    if (!p || !engine) {
      problems.push(`${r.party} received ${r.sourceEventId} under ${r.policyVersion || "no version"}, which is not a known event/version`);
      continue;
    }
    const e = p.event;
    const fields = info(p.type).fields;
    const source = String(p.type === "OrderCreated" ? e.platform : p.type === "TrackingEvent" ? e.courier : e.locker);
    const decision = validateDecision(
      engine.evaluate({
        event: { type: p.type, source, platform: (e.platform as string) ?? null, courier: (e.courier as string) ?? null, locker: (e.locker as string) ?? null },
        recipient: r.party,
        fields: fields.map((f) => ({ name: f.name, class: f.dataClass })),
        quota: {},
      }).result,
      fields,
    );
    if (!decision.deliver) {
      problems.push(`${r.party} received ${r.sourceEventId} but ${r.policyVersion} does not deliver it`);
      continue;
    }
    const plan = makePlan(r.party, decision, fields, settings);
    const expected: Record<string, unknown> = { ...e };
    for (const op of plan.ops) expected[op.field] = e[op.field] === null ? null : op.transform.apply(e[op.field]);
    for (const f of fields) {
      if (JSON.stringify(r.event[f.name] ?? null) !== JSON.stringify(expected[f.name] ?? null)) {
        problems.push(`${r.party} got ${f.name} of ${r.sourceEventId} as ${JSON.stringify(r.event[f.name])}; policy ${r.policyVersion} allows ${JSON.stringify(expected[f.name])}`);
      }
    }
    // The ceiling, stated directly: full phone numbers only to the delivering courier or the holding locker;
    // pickup codes only to the locker that issued them and the marketplace of the order.
    const phone = r.event.recipientPhone;
    if (typeof phone === "string" && phone === e.recipientPhone && r.party !== e.courier && r.party !== e.locker) problems.push(`${r.party} got the full phone of ${r.sourceEventId}`);
    const code = r.event.pickupCode;
    if (typeof code === "string" && r.party !== e.locker && r.party !== e.platform) problems.push(`${r.party} got the pickup code of ${r.sourceEventId}`);
  }
  return { name: "no field beyond policy", ok: problems.length === 0, checked: received.length, problems };
}
