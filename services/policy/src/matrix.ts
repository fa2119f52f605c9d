/**
 * Who receives what under one policy version: every routing case (event type × marketplace × courier ×
 * locker, as impact.ts enumerates them) decided for every recipient, folded into recipient × event type ×
 * field → the actions it gets, in how many cases, and the rules that decided them. The console's matrix page
 * shows it; it runs in the impact worker (the Wasm of a proposed version is Rego someone submitted).
 */
import { EVENT_TYPES, type EventType } from "@parcel-exchange/shared";
import type { DecisionEngine } from "@parcel-exchange/decision";
import type { MatrixCell, MatrixRow } from "./api.js";
import { attributeSpace, decide, schemaInfo, type Case } from "./impact.js";

/** The cell of a field in the cases where the event is not delivered to the recipient at all. */
export const NOT_DELIVERED = "(not delivered)";

export interface DecisionMatrix {
  /** Recipients with at least one row, sorted (a scoped matrix: the party first). */
  readonly parties: readonly string[];
  readonly eventTypes: readonly EventType[];
  readonly rows: readonly MatrixRow[];
  /** Routing cases × recipients decided. */
  readonly cases: number;
}

/**
 * What concerns a party: what it receives, and what others receive of the events it is the source of. Without
 * a party, everything.
 */
export function concernsParty(party: string | undefined, c: Pick<Case, "source">, recipient: string): boolean {
  return party === undefined || recipient === party || c.source === party;
}

/** The matrix of `engine`'s version, over every case (or only those that concern `party`). */
export function decisionMatrix(engine: DecisionEngine, party?: string): DecisionMatrix {
  const data = engine.bundle.data;
  const recipients = Object.keys(data.parties).sort();
  const acc = new Map<string, { row: Omit<MatrixRow, "cells">; cells: Map<string, { cases: number; rules: Set<string> }> }>();
  const add = (recipient: string, type: EventType, field: string, dataClass: string, action: string, rule: string | undefined) => {
    const k = `${recipient}|${type}|${field}`;
    let a = acc.get(k);
    if (!a) acc.set(k, (a = { row: { party: recipient, eventType: type, field, dataClass }, cells: new Map() }));
    let c = a.cells.get(action);
    if (!c) a.cells.set(action, (c = { cases: 0, rules: new Set() }));
    c.cases++;
    if (rule !== undefined) c.rules.add(rule);
  };
  let cases = 0;
  for (const c of attributeSpace(data)) {
    const fields = schemaInfo(c.type).fields;
    for (const recipient of recipients) {
      if (recipient === c.source || !concernsParty(party, c, recipient)) continue;
      cases++;
      const d = decide(engine, c, recipient);
      for (const f of fields) {
        if (!d.deliver) add(recipient, c.type, f.name, f.dataClass, NOT_DELIVERED, d.reasons[0]);
        else add(recipient, c.type, f.name, f.dataClass, d.fields[f.name]?.action ?? "drop", d.fields[f.name]?.rule ?? "router.not_decided");
      }
    }
  }
  const order = new Map(EVENT_TYPES.map((t, i) => [t, i]));
  const rows: MatrixRow[] = [...acc.values()].map(({ row, cells }) => ({
    ...row,
    cells: [...cells.entries()]
      .map(([action, c]): MatrixCell => ({ action, cases: c.cases, rules: [...c.rules].sort() }))
      .sort((x, y) => y.cases - x.cases || x.action.localeCompare(y.action)),
  }));
  const fieldOrder = (t: EventType) => new Map(schemaInfo(t).fields.map((f, i) => [f.name, i]));
  const fieldIdx = new Map(EVENT_TYPES.map((t) => [t, fieldOrder(t)]));
  rows.sort((a, b) => (order.get(a.eventType)! - order.get(b.eventType)!) || (fieldIdx.get(a.eventType)!.get(a.field)! - fieldIdx.get(b.eventType)!.get(b.field)!) || a.party.localeCompare(b.party));
  const shown = [...new Set(rows.map((r) => r.party))].sort();
  const parties = party !== undefined && shown.includes(party) ? [party, ...shown.filter((p) => p !== party)] : shown;
  return { parties, eventTypes: EVENT_TYPES.filter((t) => rows.some((r) => r.eventType === t)), rows, cases };
}
