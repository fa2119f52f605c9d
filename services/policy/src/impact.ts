/**
 * What a change does to every recipient, computed exactly over the space of routing attributes (event type ×
 * marketplace × courier × locker × recipient), not over a sample: every decision under the policy in force is
 * compared with the proposed one. Used for the diff, the cutoff guardrails and the floor check.
 */
import { describeSchema, EVENT_TYPES, schemaJson, sourceOf, type EventType, type PolicyData, type SchemaInfo } from "@parcel-exchange/shared";
import { validateDecision, type Decision, type DecisionEngine, type PolicyInput } from "@parcel-exchange/decision";
import type { FieldChange, Impact } from "./api.js";

export const DELIVERY = "(delivery)";
const infos = new Map<EventType, SchemaInfo>();
export function schemaInfo(t: EventType): SchemaInfo {
  let i = infos.get(t);
  if (!i) infos.set(t, (i = describeSchema(schemaJson(t))));
  return i;
}

const byKind = (data: PolicyData, kind: string) => Object.entries(data.parties).filter(([, p]) => p.kind === kind).map(([id]) => id).sort();

export interface Case {
  readonly type: EventType;
  readonly source: string;
  readonly platform: string;
  readonly courier: string;
  readonly locker: string | null;
}

export function attributeSpace(data: PolicyData): Case[] {
  const out: Case[] = [];
  const lockers = byKind(data, "locker");
  for (const type of EVENT_TYPES) {
    for (const platform of byKind(data, "marketplace")) {
      for (const courier of byKind(data, "courier")) {
        for (const locker of type === "LockerEvent" ? lockers : [null, ...lockers]) {
          const source = sourceOf(type, { platform, courier, locker }) as string;
          out.push({ type, source, platform, courier, locker });
        }
      }
    }
  }
  return out;
}

export function decide(engine: DecisionEngine, c: Case, recipient: string): Decision {
  const info = schemaInfo(c.type);
  const input: PolicyInput = {
    event: { type: c.type, source: c.source, platform: c.platform, courier: c.courier, locker: c.locker },
    recipient,
    fields: info.fields.map((f) => ({ name: f.name, class: f.dataClass })),
    quota: {},
  };
  return validateDecision(engine.evaluate(input).result, info.fields);
}

const REVEAL: Record<string, number> = { keep: 3, token: 2, coarsen: 2, mask: 2, drop: 0 };

export function compareEngines(current: DecisionEngine, proposed: DecisionEngine): Impact {
  const cur = current.bundle.data;
  const next = proposed.bundle.data;
  const merged: PolicyData = { ...next, parties: { ...cur.parties, ...next.parties } };
  const recipients = Object.keys(merged.parties).sort();
  const agg = new Map<string, { change: Omit<FieldChange, "cases" | "contracts">; cases: number; contracts: Set<string>; kind: "reduction" | "expansion" | "other" }>();
  const floorViolations: string[] = [];
  let compared = 0;
  const note = (kind: "reduction" | "expansion" | "other", change: Omit<FieldChange, "cases" | "contracts">, contract: string | undefined) => {
    const k = `${kind}|${change.party}|${change.eventType}|${change.field}|${change.from}|${change.to}`;
    let a = agg.get(k);
    if (!a) agg.set(k, (a = { change, cases: 0, contracts: new Set(), kind }));
    a.cases++;
    if (contract) a.contracts.add(contract);
  };
  for (const c of attributeSpace(merged)) {
    for (const recipient of recipients) {
      if (recipient === c.source) continue;
      compared++;
      const before = cur.parties[recipient] ? decide(current, c, recipient) : undefined;
      const after = next.parties[recipient] ? decide(proposed, c, recipient) : undefined;
      const id = [c.source, recipient].sort().join("--");
      const contract = (cur.contracts as Record<string, unknown>)[id] !== undefined || (next.contracts as Record<string, unknown>)[id] !== undefined ? id : undefined;
      const floorApplies = c.type !== "OrderCreated" && recipient === c.platform && next.parties[recipient]?.kind === "marketplace";
      if (floorApplies) {
        if (!after?.deliver) floorViolations.push(`${recipient} would stop receiving ${c.type} of its own orders (source ${c.source}, courier ${c.courier}, locker ${c.locker ?? "none"})`);
        else
          for (const f of schemaInfo(c.type).fields)
            if (f.dataClass === "public" && after.fields[f.name]?.action !== "keep") floorViolations.push(`${recipient} would lose ${c.type}.${f.name} of its own orders (source ${c.source})`);
      }
      const wasDelivered = before?.deliver ?? false;
      const isDelivered = after?.deliver ?? false;
      if (wasDelivered !== isDelivered) {
        note(wasDelivered ? "reduction" : "expansion", { party: recipient, eventType: c.type, field: DELIVERY, from: wasDelivered ? "deliver" : "none", to: isDelivered ? "deliver" : "none" }, contract);
        continue;
      }
      if (!wasDelivered) continue;
      for (const f of schemaInfo(c.type).fields) {
        const a = before!.fields[f.name]?.action ?? "drop";
        const b = after!.fields[f.name]?.action ?? "drop";
        if (a === b) continue;
        const kind = a === "keep" ? "reduction" : (REVEAL[b] ?? 0) > (REVEAL[a] ?? 0) ? "expansion" : "other";
        note(kind, { party: recipient, eventType: c.type, field: f.name, from: a, to: b }, contract);
      }
    }
  }
  const list = (kind: string) =>
    [...agg.values()]
      .filter((a) => a.kind === kind)
      .map((a) => ({ ...a.change, cases: a.cases, contracts: [...a.contracts].sort() }))
      .sort((x, y) => `${x.party}${x.eventType}${x.field}`.localeCompare(`${y.party}${y.eventType}${y.field}`));
  return { reductions: list("reduction"), expansions: list("expansion"), otherChanges: list("other"), floorViolations: [...new Set(floorViolations)], casesCompared: compared };
}
