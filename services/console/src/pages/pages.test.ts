import { describe, expect, it } from "vitest";
import type { LedgerCheck, PolicyMatrix, Proposal } from "@parcel-exchange/policy-api";
import type { Session } from "../session.js";
import { entryConcerns, ledgerPage } from "./ledger.js";
import { matrixPage } from "./matrix.js";
import { proposalActions, proposalPage } from "./proposals.js";

const session = (role: Session["role"], party?: string): Session => ({ key: "k", id: party ? `party:${party}` : `${role}:x`, role, ...(party ? { party } : {}), exp: Date.now() + 60_000, nonce: "n" });
const ctx = (s: Session) => ({ session: s, csrf: "tok", path: "/proposals/p1" });

const proposal = (over: Partial<Proposal> = {}): Proposal => ({
  id: "prop-1",
  createdAt: "2026-12-01T10:00:00.000Z",
  author: "party:hive-box",
  description: "Hive Box <b>narrows</b> Taobao",
  change: { contracts: { "hive-box--taobao": { id: "hive-box--taobao", parties: ["hive-box", "taobao"], notice_days: 30, grants: [] } } },
  baseVersion: "v1",
  proposedVersion: "v2",
  requiredSides: ["hive-box", "taobao"],
  impact: { reductions: [{ party: "taobao", eventType: "LockerEvent", field: "pickupCode", from: "keep", to: "drop", cases: 4, contracts: ["hive-box--taobao"] }], expansions: [], otherChanges: [], casesCompared: 100 },
  dryRun: { sampled: 40, byType: { LockerEvent: 40 }, lines: [{ party: "taobao", eventType: "LockerEvent", field: "pickupCode", from: "keep", to: "drop", events: 30, of: 40, text: "taobao would lose pickupCode in 30 of 40 LockerEvent events" }] },
  status: "proposed",
  approvals: [{ by: "party:hive-box", role: "party", party: "hive-box", at: "2026-12-01T10:00:00.000Z", immediate: false }],
  ...over,
});

describe("what each user is offered on a proposal", () => {
  it("offers a regulator approval, immediate effect and rejection; apply only once scheduled; nothing once final", () => {
    const r = session("regulator");
    expect(proposalActions(r, proposal())).toEqual({ approve: true, approveImmediately: true, apply: false, reject: true });
    expect(proposalActions(r, proposal({ status: "scheduled" }))).toEqual({ approve: false, approveImmediately: false, apply: true, reject: true });
    for (const status of ["published", "superseded", "rejected"] as const) expect(proposalActions(r, proposal({ status }))).toEqual({ approve: false, approveImmediately: false, apply: false, reject: false });
  });

  it("offers a side approval and rejection, never immediate effect; a side that approved is not offered it again; others nothing", () => {
    expect(proposalActions(session("party", "taobao"), proposal())).toEqual({ approve: true, approveImmediately: false, apply: false, reject: true });
    expect(proposalActions(session("party", "hive-box"), proposal()).approve).toBe(false);
    expect(proposalActions(session("party", "zto"), proposal())).toEqual({ approve: false, approveImmediately: false, apply: false, reject: false });
    expect(proposalActions(session("viewer"), proposal())).toEqual({ approve: false, approveImmediately: false, apply: false, reject: false });
  });

  it("renders a viewer's proposal page without any form but sign-out, escaping the description", () => {
    const out = proposalPage(ctx(session("viewer")), proposal());
    expect(out.match(/<form[^>]*method="post"/g)).toEqual(['<form class="who" method="post"']);
    expect(out).toContain("Hive Box &lt;b&gt;narrows&lt;/b&gt; Taobao");
    expect(out).not.toContain("<b>narrows</b>");
    expect(out).toContain("30 days");
    expect(out).toContain("taobao would lose pickupCode in 30 of 40 LockerEvent events");
  });

  it("puts the session's CSRF token into every action form of a regulator", () => {
    const out = proposalPage(ctx(session("regulator")), proposal());
    const forms = out.match(/<form[^>]*method="post"[\s\S]*?<\/form>/g) ?? [];
    expect(forms.length).toBe(4); // sign out, approve, approve immediately, reject
    for (const f of forms) expect(f).toContain('name="_csrf" value="tok"');
  });
});

describe("the matrix page", () => {
  const m: PolicyMatrix = {
    version: "v2",
    inForce: false,
    parties: ["taobao"],
    eventTypes: ["LockerEvent"],
    scope: "all",
    cases: 6,
    rows: [{ party: "taobao", eventType: "LockerEvent", field: "pickupCode", dataClass: "secret.pickup_code", cells: [{ action: "drop", cases: 4, rules: ["contract.none"] }, { action: "(not delivered)", cases: 2, rules: ["scope.own_orders"] }] }],
  };

  it("marks each cell with its actions and case counts, and offers a regulator the rollback of a version not in force", () => {
    const out = matrixPage({ session: session("regulator"), csrf: "tok", path: "/matrix" }, m, [{ version: "v1", kind: "published", at: "", by: "", previous: null, summary: {} }]);
    expect(out).toContain('data-party="taobao" data-type="LockerEvent" data-field="pickupCode" data-actions="drop,(not delivered)"');
    expect(out).toContain("4/6");
    expect(out).toContain("Put v2 back in force");
    expect(out).toMatch(/<option value="v2" selected>/);
  });

  it("offers no rollback to a party", () => {
    expect(matrixPage({ session: session("party", "taobao"), csrf: "tok", path: "/matrix" }, m, [])).not.toContain("back in force");
  });
});

describe("the ledger page", () => {
  const entry = (seq: number, actor: string, body: unknown) => ({ seq, at: "2026-12-01T10:00:00.000Z", type: "policy.approved" as const, actor, body, prev: "p", hash: `h${seq}`, keyId: "k", sig: "s" });
  const check: LedgerCheck = {
    result: { ok: false, entries: 3, head: "h2", headSeq: 2, problems: [{ index: 2, seq: 2, kind: "bad_signature", message: "entry seq 2 is not signed by the policy service" }] },
    entries: [
      { entry: entry(0, "party:taobao", { proposal: "p" }), problems: [] },
      { entry: entry(1, "regulator:spb", { party: "jd" }), problems: [] },
      { entry: entry(2, "regulator:spb", { proposal: "x" }), problems: [{ kind: "bad_signature", message: "entry seq 2 is not signed by the policy service" }] },
    ],
  };

  it("shows the verdict and marks the entry that fails its check", () => {
    const out = ledgerPage({ session: session("viewer"), path: "/ledger" }, check);
    expect(out).toContain("does <strong>not</strong> verify");
    expect(out).toMatch(/data-seq="2" data-check="failed"/);
    expect(out).toMatch(/data-seq="1" data-check="ok"/);
  });

  it("shows a party its own entries, those naming it, and every failing one", () => {
    const tb = session("party", "taobao");
    expect(check.entries.filter((e) => entryConcerns(e, tb)).map((e) => e.entry.seq)).toEqual([0, 2]);
    expect(check.entries.filter((e) => entryConcerns(e, session("party", "jd"))).map((e) => e.entry.seq)).toEqual([1, 2]);
  });
});
