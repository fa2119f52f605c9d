/**
 * The policy service against the real stack: roles, rejected submissions, the cutoff guardrails, dry runs,
 * notices, immediate regulator approval, rollback, and the ledger — with a router applying what it publishes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliverySubscriber, PartyPublisher, type PolicyNotice } from "@parcel-exchange/sdk";
import { loadVerifier } from "@parcel-exchange/shared";
import { verifyChain, type LedgerStore } from "@parcel-exchange/ledger";
import type { PolicyService, Proposal } from "@parcel-exchange/policy";
import { L1, L2, T1 } from "./fixtures.js";
import { startPolicyService, startRouter, type RunningRouter } from "./harness.js";
import { testConfig, until } from "./helpers.js";

const config = testConfig("polsvc", { PX_DRY_RUN_EVENTS: "1000" });
const KEYS = { regulator: "px-dev-key-regulator-spb", taobao: "px-dev-key-taobao", sf: "px-dev-key-sf-express", hivebox: "px-dev-key-hive-box", jd: "px-dev-key-jd", viewer: "px-dev-key-viewer" } as const;
let service: PolicyService;
let ledger: LedgerStore;
let base: string;
let stopService: (() => Promise<void>) | undefined;
let router: RunningRouter;
const applied: string[] = [];
let clockOffset = 0;

async function call(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : text };
}

const contract = (id: string): any => structuredClone((service.bundle(service.currentVersion()).data.contracts as Record<string, unknown>)[id]);

beforeAll(async () => {
  const running = await startPolicyService(config, () => Date.now() + clockOffset);
  ({ service, ledger } = running);
  stopService = running.stop;
  base = running.url;
  router = await startRouter(config);
  router.router.onPolicyApplied((v) => applied.push(v));
  // Some traffic for the dry runs.
  const hb = await PartyPublisher.connect({ party: "hive-box", config });
  await hb.publishMany([...Array.from({ length: 30 }, (_, i) => ({ type: "LockerEvent" as const, event: { ...L1, eventId: `dl-${i}` } })), ...Array.from({ length: 10 }, (_, i) => ({ type: "LockerEvent" as const, event: { ...L2, eventId: `dl2-${i}` } }))]);
  await hb.disconnect();
}, 240_000);

afterAll(async () => {
  await router?.stop();
  await stopService?.();
});

describe("roles", () => {
  it("refuses every action outside a role with 403 and unknown keys with 401", async () => {
    const c = contract("jd--zto");
    const propose = (key: string, change: unknown) => call(key, "POST", "/v1/proposals", { change, description: "role check" });
    expect((await call("nope", "GET", "/v1/policy/current")).status).toBe(401);
    expect((await propose(KEYS.viewer, { contracts: { "jd--zto": c } })).status).toBe(403);
    expect((await propose(KEYS.taobao, { contracts: { "jd--zto": c } })).status).toBe(403); // not a side
    expect((await propose(KEYS.jd, { rego: { "router/extra.rego": "package px.extra\n" } })).status).toBe(403); // rules are the regulator's
    expect((await propose(KEYS.jd, { parties: { newco: { kind: "courier" } } })).status).toBe(403);
    expect((await call(KEYS.viewer, "POST", "/v1/policy/rollback", { version: service.currentVersion() })).status).toBe(403);
    expect((await call(KEYS.taobao, "POST", "/v1/policy/rollback", { version: service.currentVersion() })).status).toBe(403);
    // A side may propose; another party may not approve; a viewer may read.
    const ok = await propose(KEYS.jd, { contracts: { "jd--zto": { ...c, notice_days: 7 } } });
    expect(ok.status).toBe(201);
    expect((await call(KEYS.taobao, "POST", `/v1/proposals/${ok.body.id}/approve`, {})).status).toBe(403);
    expect((await call(KEYS.viewer, "POST", `/v1/proposals/${ok.body.id}/approve`, {})).status).toBe(403);
    expect((await call(KEYS.jd, "POST", `/v1/proposals/${ok.body.id}/apply`, {})).status).toBe(403);
    expect((await call(KEYS.viewer, "GET", `/v1/proposals/${ok.body.id}`)).body.status).toBe("proposed");
    expect((await call(KEYS.viewer, "GET", "/openapi.json")).status).toBe(200);
  });
});

describe("malformed requests", () => {
  it("answers 400 REQUEST_INVALID listing the problems, with a hint about the request (not about publishing)", async () => {
    const r = await call(KEYS.regulator, "POST", "/v1/proposals", { change: { contracts: { "jd--zto": { id: "zto--jd" } } } });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: "REQUEST_INVALID", retriable: false });
    expect(r.body.details).toEqual(expect.arrayContaining(["'description' is required", "change.contracts.jd--zto.id must be 'jd--zto'"]));
    expect(r.body.hint).toMatch(/request body/);
    expect(`${r.body.error} ${r.body.hint}`).not.toMatch(/publish again|fix the listed fields/i);
    const notJson = await fetch(`${base}/v1/policy/rollback`, { method: "POST", headers: { authorization: `Bearer ${KEYS.regulator}` }, body: "{ nope" });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { code: string }).code).toBe("REQUEST_INVALID");
    const denied = await call(KEYS.viewer, "POST", "/v1/policy/rollback", { version: service.currentVersion() });
    expect(denied.body).toMatchObject({ code: "FORBIDDEN", hint: expect.stringMatching(/regulator/) });
  });
});

describe("rejected submissions leave the policy in force", () => {
  it("rejects a change that does not compile, with the compiler's message", async () => {
    const before = service.currentVersion();
    const r = await call(KEYS.regulator, "POST", "/v1/proposals", { change: { rego: { "router/broken.rego": "package px.router\n\nthis is not rego {" } }, description: "broken" });
    expect(r.status).toBe(422);
    expect(JSON.stringify(r.body.details)).toMatch(/rego_parse_error|parse error/i);
    expect(service.currentVersion()).toBe(before);
  });

  it("rejects a change whose Rego tests fail", async () => {
    const before = service.currentVersion();
    const r = await call(KEYS.regulator, "POST", "/v1/proposals", { change: { rego: { "router/zz_fail_test.rego": "package px.zz_test\n\ntest_always_fails if {\n\t1 == 2\n}\n" } }, description: "failing test" });
    expect(r.status).toBe(422);
    expect(JSON.stringify(r.body.details)).toContain("test_always_fails");
    expect(service.currentVersion()).toBe(before);
  });

  it("rejects a change that withholds what the floor guarantees", async () => {
    const before = service.currentVersion();
    const floor = service.bundle(before).rego!["router/floor.rego"]!;
    // A narrow exception the floor's Rego tests do not exercise (JD's tracking events): the tests pass, and
    // the exact impact check refuses it. The tests themselves cannot be deleted by a change (next test).
    const narrowed = floor.replace(/^(\tdata\.parties\[input\.recipient\]\.kind == "marketplace"\n)\}/m, '$1\tnot withheld\n}\n\nwithheld if {\n\tinput.event.platform == "jd"\n\tinput.event.type == "TrackingEvent"\n}');
    expect(narrowed).not.toBe(floor);
    const r = await call(KEYS.regulator, "POST", "/v1/proposals", { change: { rego: { "router/floor.rego": narrowed } }, description: "narrow the floor" });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe("CHANGE_REJECTED");
    expect(JSON.stringify(r.body.details)).toContain("jd would stop receiving TrackingEvent");
    // Removing the floor outright is refused too (its own tests fail first).
    const noFloor = floor.replace(/^buyer_tracking if \{/m, "buyer_tracking if {\n\tfalse");
    expect(noFloor).not.toBe(floor);
    const all = await call(KEYS.regulator, "POST", "/v1/proposals", { change: { rego: { "router/floor.rego": noFloor } }, description: "remove the floor" });
    expect(all.status).toBe(422);
    expect(all.body.code).toBe("CHANGE_REJECTED");
    expect(service.currentVersion()).toBe(before);
  });

  it("a change that deletes the shipped tests is refused", async () => {
    const before = service.currentVersion();
    const floor = service.bundle(before).rego!["router/floor.rego"]!;
    const noFloor = floor.replace(/^buyer_tracking if \{/m, "buyer_tracking if {\n\tfalse");
    const tests = Object.keys(service.bundle(before).rego!).filter((f) => f.endsWith("_test.rego") && !f.includes("fixtures"));
    expect(tests).toContain("router/floor_test.rego");
    const rego = { "router/floor.rego": noFloor, ...Object.fromEntries(tests.map((f) => [f, null])) };
    const r = await call(KEYS.regulator, "POST", "/v1/proposals", { change: { rego }, description: "remove the floor and its tests" });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe("CHANGE_REJECTED");
    expect(r.body.error).toMatch(/deletes or changes test files of the version in force/);
    expect(r.body.details.testsInForce).toEqual(expect.arrayContaining(["router/floor_test.rego (deleted)", "router/router_test.rego (deleted)"]));
    // Weakening one instead of deleting it is refused the same way.
    const weakened = await call(KEYS.regulator, "POST", "/v1/proposals", { change: { rego: { "router/floor_test.rego": "package px.router.floor_test\n\ntest_nothing if true\n" } }, description: "weaken the floor tests" });
    expect(weakened.status).toBe(422);
    expect(weakened.body.details.testsInForce).toEqual(["router/floor_test.rego (changed)"]);
    expect(service.currentVersion()).toBe(before);
  });
});

describe("cutoff guardrails", () => {
  let notices: PolicyNotice[];
  let sub: DeliverySubscriber;

  beforeAll(async () => {
    notices = [];
    sub = await DeliverySubscriber.connect({ party: "taobao", config, fromBeginning: true, onNotice: (n) => notices.push(n) });
    await sub.run(() => undefined);
    // Both sides shorten the notice period of SF–Taobao to 4 s (no decision changes, so it applies at once).
    const c = contract("sf-express--taobao");
    const p = await call(KEYS.sf, "POST", "/v1/proposals", { change: { contracts: { "sf-express--taobao": { ...c, notice_days: 4 / 86_400 } } }, description: "notice 4 s" });
    expect(p.status).toBe(201);
    const a = await call(KEYS.taobao, "POST", `/v1/proposals/${p.body.id}/approve`, {});
    expect(a.body.status).toBe("published");
  });

  afterAll(async () => {
    await sub.disconnect();
  });

  it("holds a reducing change for the contract's notice period, tells the party, then applies it", async () => {
    const c = contract("sf-express--taobao");
    const cut = { ...c, grants: c.grants.filter((g: { from: string }) => g.from !== "sf-express") };
    const p = await call(KEYS.sf, "POST", "/v1/proposals", { change: { contracts: { "sf-express--taobao": cut } }, description: "SF stops Taobao tracking" });
    expect(p.status).toBe(201);
    const proposal = p.body as Proposal;
    expect(proposal.impact.reductions.some((r) => r.party === "taobao" && r.eventType === "TrackingEvent")).toBe(true);
    const before = service.currentVersion();
    const approved = (await call(KEYS.taobao, "POST", `/v1/proposals/${proposal.id}/approve`, {})).body as Proposal;
    expect(approved.status).toBe("scheduled");
    expect(Date.parse(approved.effectiveAt!) - Date.now()).toBeGreaterThan(1000);
    expect(service.currentVersion()).toBe(before); // not yet
    await until("the notice to reach Taobao", () => notices.find((n) => n.proposalId === proposal.id));
    const notice = notices.find((n) => n.proposalId === proposal.id)!;
    expect(notice.changes.join("\n")).toMatch(/TrackingEvent\.(district|siteCode|staff\w+): (keep|mask) → drop/);
    await until("publication after the notice period", async () => ((await call(KEYS.viewer, "GET", `/v1/proposals/${proposal.id}`)).body.status === "published" ? true : undefined), 20_000);
    const version = service.currentVersion();
    expect(version).not.toBe(before);
    await until("the router to apply it", () => applied.includes(version) || undefined);
  });

  it("takes effect at once when a regulator approves it for immediate effect", async () => {
    const c = contract("hive-box--taobao");
    const narrowed = { ...c, notice_days: 30, grants: c.grants.map((g: { from: string; scope: string; classes: Record<string, string> }) => (g.from === "hive-box" ? { ...g, scope: "own_orders", classes: Object.fromEntries(Object.entries(g.classes).filter(([k]) => k !== "secret.pickup_code")) } : g)) };
    const p = await call(KEYS.hivebox, "POST", "/v1/proposals", { change: { contracts: { "hive-box--taobao": narrowed } }, description: "1 June: Hive Box narrows Cainiao's feed" });
    expect(p.status).toBe(201);
    const lines: string[] = p.body.dryRun.lines.map((l: { text: string }) => l.text);
    expect(lines).toContainEqual(expect.stringMatching(/^taobao stops receiving pickupCode on [\d,]+ of [\d,]+ LockerEvent events$/));
    expect(lines).toContainEqual(expect.stringMatching(/^taobao stops receiving [\d,]+ of [\d,]+ LockerEvent events$/)); // JD's locker events
    const r = await call(KEYS.regulator, "POST", `/v1/proposals/${p.body.id}/approve`, { immediate: true });
    expect(r.body.status).toBe("published");
    await until("the router to apply it", () => applied.includes(r.body.publishedVersion) || undefined);
  });
});

describe("delivery counts in the ledger", () => {
  it("records per-minute delivery counts per party and data class", async () => {
    await router.router.flushCounts(true);
    clockOffset = 3 * 60_000; // every reported minute is now past its grace period
    const entry = await until("a deliveries.minute entry", async () => {
      await service.recordDeliveryCounts();
      return (await ledger.readAll()).find((e) => e.type === "deliveries.minute");
    });
    clockOffset = 0;
    const counts = (entry.body as { counts: { party: string; dataClass: string; count: number }[] }).counts;
    // The 40 locker events of the setup reached Taobao (all of them) with public fields.
    expect(counts.find((c) => c.party === "taobao" && c.dataClass === "public")?.count).toBeGreaterThanOrEqual(40);
    expect(counts.every((c) => c.count > 0)).toBe(true);
  });
});

describe("rollback and the ledger", () => {
  it("rolls back to an earlier version exactly and records everything in a verifiable ledger", async () => {
    const history = (await call(KEYS.viewer, "GET", "/v1/policy/history")).body as { version: string; kind: string; by: string }[];
    const first = history[0]!.version;
    expect(history.length).toBeGreaterThanOrEqual(3);
    const r = await call(KEYS.regulator, "POST", "/v1/policy/rollback", { version: first });
    expect(r.status).toBe(200);
    await until("the router to apply the rollback", () => (router.router.policyVersion === first ? true : undefined));
    // Under the first version Taobao gets SF's tracking again with the first version stamped.
    const sf = await PartyPublisher.connect({ party: "sf-express", config });
    await sf.tracking({ ...T1, eventId: "after-rollback" });
    await sf.disconnect();
    const sub = await DeliverySubscriber.connect({ party: "taobao", config, fromBeginning: true, groupId: `${config.router.groupId}-rb` });
    const got = await sub.collect({ idleMs: 3000, timeoutMs: 30_000 });
    await sub.disconnect();
    const d = got.find((x) => x.sourceEventId === "after-rollback");
    expect(d?.policyVersion).toBe(first);
    expect((d?.event as { siteCode: string | null }).siteCode).toBe(T1.siteCode); // business data kept again

    const entries = await ledger.readAll();
    const types = entries.map((e) => e.type);
    for (const t of ["policy.published", "policy.proposed", "policy.approved", "policy.rejected", "policy.scheduled", "policy.notice", "policy.rolled_back", "deliveries.minute"]) expect(types).toContain(t);
    expect(verifyChain(entries, loadVerifier(config)).ok).toBe(true);
    const tampered = entries.map((e, i) => (i === 2 ? { ...e, actor: "someone-else" } : e));
    const v = verifyChain(tampered, loadVerifier(config));
    expect(v.ok).toBe(false);
    expect(v.problems[0]).toMatchObject({ seq: 2, kind: "altered" });
  });
});
