/**
 * The matrix of the shipped policy (compiled by the pinned OPA), checked against the hand-written expectation
 * table of test/fixtures.ts — what each party must receive of each fixture event — not against the Rego it
 * runs: every field of every fixture event is in the matrix with the action the table gives (keep when the
 * table lists nothing), and an event the table withholds from a party shows "(not delivered)". A party's scope
 * is checked by counting routing cases from the party list.
 */
import { existsSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { describeSchema, loadConfig, schemaJson, type EventType, type PolicyData } from "@parcel-exchange/shared";
import { buildBundle } from "@parcel-exchange/policy-build";
import { PolicyEngine } from "@parcel-exchange/decision";
import { EXPECTED, L1, L2, O1, T1, T2, T3 } from "../../../test/fixtures.js";
import { decisionMatrix, NOT_DELIVERED, type DecisionMatrix } from "./matrix.js";

const config = loadConfig({ ...process.env, NODE_ENV: "test" });
let full: DecisionMatrix;
let zto: DecisionMatrix;
let data: PolicyData;

const EVENTS: Record<string, { type: EventType; source: string }> = {
  O1: { type: "OrderCreated", source: O1.platform },
  T1: { type: "TrackingEvent", source: T1.courier },
  T2: { type: "TrackingEvent", source: T2.courier },
  T3: { type: "TrackingEvent", source: T3.courier },
  L1: { type: "LockerEvent", source: L1.locker },
  L2: { type: "LockerEvent", source: L2.locker },
};

const actionsOf = (m: DecisionMatrix, party: string, type: string, field: string) => m.rows.find((r) => r.party === party && r.eventType === type && r.field === field)?.cells.map((c) => c.action);

beforeAll(async () => {
  if (!existsSync(config.opaBin)) throw new Error(`no OPA at ${config.opaBin}: run npm run stack -- install`);
  const bundle = await buildBundle(config.opaBin, { label: "shipped" });
  data = bundle.data;
  const engine = await PolicyEngine.load(bundle, 1000);
  full = decisionMatrix(engine);
  zto = decisionMatrix(engine, "zto");
}, 60_000);

describe("decisionMatrix", () => {
  it("holds, for every fixture event and party of the expectation table, the action the table gives each field", () => {
    let checked = 0;
    for (const [party, byEvent] of Object.entries(EXPECTED)) {
      for (const [id, ev] of Object.entries(EVENTS)) {
        if (ev.source === party) continue;
        const fields = describeSchema(schemaJson(ev.type)).fields.map((f) => f.name);
        for (const field of fields) {
          const actions = actionsOf(full, party, ev.type, field);
          expect(actions, `${party} ${ev.type}.${field}`).toBeDefined();
          const expected = byEvent[id] === undefined ? NOT_DELIVERED : (byEvent[id]![field]?.action ?? "keep");
          expect(actions, `${party} gets ${id}.${field} as ${expected}`).toContain(expected);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("names the deciding rules and counts every case once per field", () => {
    const cell = full.rows.find((r) => r.party === "taobao" && r.eventType === "LockerEvent" && r.field === "pickupCode")!;
    const kept = cell.cells.find((c) => c.action === "keep");
    expect(kept?.rules.length).toBeGreaterThan(0);
    const perType = new Map<string, number>();
    for (const r of full.rows) {
      const n = r.cells.reduce((s, c) => s + c.cases, 0);
      const k = `${r.party}|${r.eventType}`;
      // Every field of one recipient and event type is decided in the same cases.
      expect(perType.get(k) ?? n, k).toBe(n);
      perType.set(k, n);
    }
    expect(full.parties).toEqual(Object.keys(data.parties).sort());
  });

  it("scopes a party to what it receives and what others receive of the events it is the source of", () => {
    const kinds = (k: string) => Object.values(data.parties).filter((p) => p.kind === k).length;
    const [marketplaces, lockers] = [kinds("marketplace"), kinds("locker")];
    expect(zto.parties[0]).toBe("zto");
    for (const r of zto.rows) {
      if (r.party === "zto") continue;
      // ZTO is the source only of tracking events (the courier publishes them): one case per marketplace and locker-or-none.
      expect(r.eventType, `${r.party} ${r.eventType}.${r.field}`).toBe("TrackingEvent");
      expect(r.cells.reduce((s, c) => s + c.cases, 0)).toBe(marketplaces * (lockers + 1));
    }
    expect(zto.rows.some((r) => r.party === "taobao")).toBe(true);
    // What ZTO itself receives is the same as in the full matrix.
    for (const r of zto.rows.filter((x) => x.party === "zto")) expect(r.cells).toEqual(full.rows.find((x) => x.party === "zto" && x.eventType === r.eventType && x.field === r.field)!.cells);
  });
});
