import { describe, expect, it } from "vitest";
import type { FieldChange, Proposal } from "./api.js";
import { noticeLine, noticesOf } from "./notices.js";

const change = (party: string, field: string, from = "keep", to = "drop"): FieldChange => ({ party, eventType: "TrackingEvent", field, from, to, cases: 4, contracts: ["sf-express--taobao"] });

const proposal = (reductions: FieldChange[], effectiveAt?: string): Proposal => ({
  id: "prop-1",
  createdAt: "2026-01-01T00:00:00.000Z",
  author: "party:sf-express",
  description: "SF stops Taobao tracking",
  change: {},
  baseVersion: "v1",
  proposedVersion: "v2+abc",
  requiredSides: ["sf-express", "taobao"],
  impact: { reductions, expansions: [], otherChanges: [], casesCompared: 10 },
  dryRun: { sampled: 0, byType: {}, lines: [] },
  status: "scheduled",
  approvals: [],
  ...(effectiveAt ? { effectiveAt } : {}),
});

describe("policy notices", () => {
  it("sends one notice per party that loses something, listing what it loses", () => {
    let n = 0;
    const notices = noticesOf(proposal([change("taobao", "siteCode"), change("taobao", "(delivery)", "deliver", "none"), change("jd", "district", "keep", "mask")], "2026-01-08T00:00:00.000Z"), () => `n${++n}`);
    expect(notices).toEqual([
      { noticeId: "n1", proposalId: "prop-1", party: "taobao", proposedVersion: "v2+abc", effectiveAt: Date.parse("2026-01-08T00:00:00.000Z"), summary: "SF stops Taobao tracking — takes effect 2026-01-08T00:00:00.000Z", changes: ["TrackingEvent.siteCode: keep → drop (4 cases)", "TrackingEvent: no longer delivered (4 cases)"] },
      { noticeId: "n2", proposalId: "prop-1", party: "jd", proposedVersion: "v2+abc", effectiveAt: Date.parse("2026-01-08T00:00:00.000Z"), summary: "SF stops Taobao tracking — takes effect 2026-01-08T00:00:00.000Z", changes: ["TrackingEvent.district: keep → mask (4 cases)"] },
    ]);
    expect(noticeLine(change("taobao", "staffPhone", "keep", "mask"))).toBe("TrackingEvent.staffPhone: keep → mask (4 cases)");
  });

  it("needs the time the change takes effect", () => {
    expect(() => noticesOf(proposal([change("taobao", "siteCode")]))).toThrow(/no effectiveAt/);
    expect(noticesOf(proposal([], "2026-01-08T00:00:00.000Z"))).toEqual([]);
  });
});
