import { describe, expect, it } from "vitest";
import { LIVE_QUERIES, liveFlow, type LiveQuery, type LiveSamples, type Sample } from "./live.js";

const empty = Object.fromEntries((Object.keys(LIVE_QUERIES) as LiveQuery[]).map((k) => [k, [] as Sample[]])) as unknown as Record<LiveQuery, Sample[]>;
const s = (labels: Record<string, string>, value: number): Sample => ({ labels, value });

const samples: LiveSamples = {
  ...empty,
  delivered: [s({ party: "zto" }, 3), s({ party: "taobao" }, 12.5)],
  fieldActions: [s({ party: "taobao", action: "mask" }, 4), s({ party: "zto", action: "keep" }, 9)],
  deadLetterRate: [s({ reason: "undecodable" }, 0.5)],
  deadLetterTotal: [s({ reason: "undecodable" }, 30), s({ reason: "spoofed_source" }, 2)],
  quotaUsage: [s({ party: "taobao", class: "pii.phone" }, 0.95), s({ party: "zto", class: "pii.phone" }, 0.1)],
  quotaLimit: [s({ party: "taobao", class: "pii.phone" }, 1000)],
  routerVersion: [s({ instance: "r2:9464", version: "v2" }, 1), s({ instance: "r1:9464", version: "v3" }, 1)],
  routerSequence: [s({ instance: "r1:9464" }, 3), s({ instance: "r2:9464" }, 2)],
  routerRouting: [s({ instance: "r1:9464" }, 1), s({ instance: "r2:9464" }, 0)],
  releaseSequence: [s({}, 3)],
};

describe("live flow", () => {
  it("shows everything to a regulator, sorted, with dead letters of every reason and a router behind the newest release", () => {
    const f = liveFlow(samples);
    expect(f.delivered).toEqual([{ party: "taobao", perSec: 12.5 }, { party: "zto", perSec: 3 }]);
    expect(f.deadLetters).toEqual([{ reason: "spoofed_source", perSec: 0, total: 2 }, { reason: "undecodable", perSec: 0.5, total: 30 }]);
    expect(f.quota).toEqual([{ party: "taobao", class: "pii.phone", usage: 0.95, limit: 1000 }, { party: "zto", class: "pii.phone", usage: 0.1 }]);
    expect(f.routers).toEqual([
      { instance: "r1:9464", version: "v3", sequence: 3, routing: true, behind: false },
      { instance: "r2:9464", version: "v2", sequence: 2, routing: false, behind: true },
    ]);
    expect(f.releaseSequence).toBe(3);
  });

  it("shows a party only its own rows and no dead letters", () => {
    const f = liveFlow(samples, "zto");
    expect(f.delivered).toEqual([{ party: "zto", perSec: 3 }]);
    expect(f.fieldActions).toEqual([{ party: "zto", action: "keep", perSec: 9 }]);
    expect(f.quota.map((q) => q.party)).toEqual(["zto"]);
    expect(f.deadLetters).toBeUndefined();
  });
});
