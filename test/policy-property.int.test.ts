/**
 * Property: for random contracts and random events, nothing outside the allow-list ever reaches a recipient,
 * the regulator's ceiling always holds, and the floor is always met. Runs the real compiled policy (Wasm via
 * opa-wasm) inside the router core, with schemas from the real registry. The oracle (services/demo/src/oracle.ts)
 * is written from the rules' text, independently of the Rego and the router; the demo judges its deliveries
 * with it too.
 */
import avro from "avsc";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { loadPolicyData, makeBundle } from "@parcel-exchange/policy-build";
import { PolicyEngine, SchemaCatalog } from "@parcel-exchange/decision";
import { ActivePolicy, RouterCore, type RawRecord } from "@parcel-exchange/router";
import { describeSchema, HEADERS, RegistryHttp, registerEventSchemas, schemaJson, sourceOf, topics, type EventType, type PolicyData, type SchemaInfo } from "@parcel-exchange/shared";
import { judgeDelivery } from "@parcel-exchange/demo";
import { policyWasm } from "./harness.js";
import { testConfig } from "./helpers.js";

const config = testConfig("prop");
const MARKETPLACES = ["taobao", "jd"];
const COURIERS = ["sf-express", "zto"];
const PARTIES = [...MARKETPLACES, ...COURIERS, "hive-box"];
const CLASSES = ["public", "business", "pii.name", "pii.phone", "pii.address", "secret.pickup_code", "staff.pii"];
const ACTIONS = ["keep", "drop", "mask", "token", "coarsen"];
const SCOPES = ["all", "own_orders", "own_parcels", "own_lockers"];
const TYPES: EventType[] = ["OrderCreated", "TrackingEvent", "LockerEvent"];

interface Grant {
  from: string;
  to: string;
  events: string[];
  scope: string;
  classes: Record<string, string>;
}

let wasm: Buffer;
let ids: Record<EventType, number>;
let infos: Record<EventType, SchemaInfo>;
let core: RouterCore;
let baseData: PolicyData;

beforeAll(async () => {
  wasm = await policyWasm(config);
  ids = await registerEventSchemas(config, topics(config.topicPrefix));
  const catalog = new SchemaCatalog(new RegistryHttp(config));
  await catalog.prefetch(Object.values(ids));
  infos = Object.fromEntries(TYPES.map((t) => [t, describeSchema(schemaJson(t))])) as Record<EventType, SchemaInfo>;
  core = new RouterCore(catalog, { masks: config.masks, tokenKey: config.router.tokenKey, maxRecordBytes: config.router.maxRecordBytes, topicPrefix: config.topicPrefix });
  baseData = await loadPolicyData();
});

const digits = fc.stringMatching(/^1[3-9][0-9]{9}$/);
const word = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{3,9}$/);
const grantArb: fc.Arbitrary<Grant> = fc
  .record({
    from: fc.constantFrom(...PARTIES),
    to: fc.constantFrom(...PARTIES),
    events: fc.subarray(TYPES as string[], { minLength: 1 }),
    scope: fc.constantFrom(...SCOPES),
    classes: fc.dictionary(fc.constantFrom(...CLASSES), fc.constantFrom(...ACTIONS), { maxKeys: 5 }),
  })
  .filter((g) => g.from !== g.to);

const eventArb = fc.record({
  type: fc.constantFrom(...TYPES),
  platform: fc.constantFrom(...MARKETPLACES),
  courier: fc.constantFrom(...COURIERS),
  locker: fc.option(fc.constant("hive-box"), { nil: null }),
  phone: digits,
  name: word,
  code: fc.stringMatching(/^[0-9]{6}$/),
  text: word,
});

type Gen = typeof eventArb extends fc.Arbitrary<infer T> ? T : never;

function buildEvent(g: Gen, i: number): Record<string, unknown> {
  const base = { eventId: `e${i}`, parcelId: `p${i}`, courier: g.courier, platform: g.platform };
  switch (g.type) {
    case "OrderCreated":
      return { ...base, locker: g.locker, createdAt: 1, orderId: g.text, merchant: g.text, recipientName: g.name, recipientPhone: g.phone, recipientAddress: { province: "P", city: "C", district: "D", detail: `${g.text} 3单元502室` }, destinationCity: "C" };
    case "TrackingEvent":
      return { ...base, locker: g.locker, eventTime: 1, status: "DELIVERED", province: "P", city: "C", district: g.text, siteCode: g.text, exceptionReason: g.text, staffId: g.text, staffName: g.name, staffPhone: g.phone, recipientPhone: g.phone };
    case "LockerEvent":
      return { ...base, locker: "hive-box", eventTime: 1, action: "DEPOSITED", city: "C", lockerId: g.text, siteCode: g.text, pickupCode: g.code, recipientPhone: g.phone };
  }
}

describe("policy properties (real Wasm policy, random contracts)", () => {
  it("never releases beyond the allow-list or the ceiling, and always meets the floor", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(grantArb, { maxLength: 6 }), fc.array(eventArb, { minLength: 1, maxLength: 12 }), async (grants, gens) => {
        const contracts = Object.fromEntries(grants.map((g, i) => [`c${i}`, { id: `c${i}`, parties: [g.from, g.to].sort(), notice_days: 0, grants: [g] }]));
        const engine = await PolicyEngine.load(makeBundle(wasm, { ...baseData, contracts }, "prop"), 1000);
        const policy = new ActivePolicy(engine);
        const events = gens.map((g, i) => ({ type: g.type, value: buildEvent(g, i) }));
        const records: RawRecord[] = events.map(({ type, value }, i) => {
          const body = (infos[type].type as avro.Type).toBuffer(value);
          const head = Buffer.alloc(5);
          head.writeInt32BE(ids[type], 1);
          // Each event on the ingress topic of the party it names as its source, as its publisher would send it.
          return { topic: topics(config.topicPrefix).ingress(String(sourceOf(type, value)), type), partition: 0, offset: String(i), timestamp: "0", key: null, value: Buffer.concat([head, body]) };
        });
        const result = core.process(policy, records, { stateOf: () => ({ sig: "", quota: {} }) });
        expect(result.deadLetters).toEqual([]);

        const received = new Map<string, Record<string, unknown>>();
        for (const [party, list] of result.deliveries) {
          for (const r of list) {
            const type = TYPES.find((t) => ids[t] === r.value.readInt32BE(1))!;
            received.set(`${party}|${String(r.headers[HEADERS.sourceEventId])}`, infos[type].type.decode(r.value, 5).value as Record<string, unknown>);
          }
        }
        const data = { ...baseData, contracts };
        for (const { type, value: e } of events) {
          for (const recipient of PARTIES) {
            expect(judgeDelivery(data, type, e, infos[type].fields, recipient, received.get(`${recipient}|${String(e.eventId)}`))).toEqual([]);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
