/**
 * The impact worker (impact-pool.ts) with real policies compiled by the pinned OPA: it answers what
 * compareEngines and dryRun answer in-process, and a proposed policy that is slow in Wasm is stopped at the
 * limit while this thread's event loop keeps running.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type PolicyBundle } from "@parcel-exchange/shared";
import { loadPolicyData, loadRego, makeBundle } from "@parcel-exchange/policy-build";
import { PolicyEngine } from "@parcel-exchange/decision";
import { applyChange, type PolicySourceTree } from "./change.js";
import { compileAndTest } from "./compile.js";
import { dryRun, type Sampled } from "./dryrun.js";
import { ChangeRejectedError } from "./errors.js";
import { compareEngines } from "./impact.js";
import { ImpactWorkers } from "./impact-pool.js";
import type { PolicyChange } from "./api.js";

const config = loadConfig({ ...process.env, NODE_ENV: "test" });
let shipped: PolicySourceTree;
let base: PolicyBundle;
const workers = new ImpactWorkers();

async function bundleOf(change: PolicyChange, label: string): Promise<PolicyBundle> {
  const src = applyChange(shipped, change);
  const out = await compileAndTest(config.opaBin, src, { minCoverage: 0, timeoutMs: 5000 });
  if (!out.ok) throw new Error(`${label} does not build: ${out.error}`);
  return makeBundle(out.wasm!, src.data, label, { ...src.rego });
}

/** A router policy that decides as the shipped one, but spends minutes on every decision for the recipient slowco. */
function slowChange(router: string): PolicyChange {
  const slow = router.replace(/^deliver if not refusal$/m, "deliver if {\n\tnot slow\n\tnot refusal\n}\n\nslow if {\n\tinput.recipient == \"slowco\"\n\tcount({i | some i in numbers.range(1, 30000); some j in numbers.range(1, 30000)}) < 0\n}");
  if (slow === router) throw new Error("router.rego no longer has the line the slow change replaces");
  return { rego: { "router/router.rego": slow }, parties: { slowco: { kind: "courier" } } };
}

const sample: Sampled[] = [{ type: "LockerEvent", attrs: { type: "LockerEvent", source: "hive-box", platform: "taobao", courier: "zto", locker: "hive-box" } }];

beforeAll(async () => {
  if (!existsSync(config.opaBin)) throw new Error(`no OPA at ${config.opaBin}: run npm run stack -- install`);
  shipped = { rego: await loadRego(), data: await loadPolicyData() };
  base = await bundleOf({}, "base");
  workers.warm();
}, 60_000);

afterAll(async () => {
  await workers.close();
});

describe("the impact worker", () => {
  it("answers what compareEngines and dryRun answer in-process", async () => {
    const c = structuredClone((shipped.data.contracts as Record<string, { grants: { from: string }[] }>)["jd--zto"]!);
    const proposed = await bundleOf({ contracts: { "jd--zto": { ...c, grants: c.grants.filter((g) => g.from !== "zto") } as never } }, "cut");
    const got = await workers.run({ base, proposed, sample }, 20_000);
    const [cur, next] = await Promise.all([PolicyEngine.load(base, 1000), PolicyEngine.load(proposed, 1000)]);
    expect(got.impact).toEqual(compareEngines(cur, next));
    expect(got.dryRun).toEqual(dryRun(cur, next, sample));
    expect(got.impact.reductions.some((r) => r.party === "jd" && r.eventType === "TrackingEvent")).toBe(true);
  }, 60_000);

  it("stops a proposed policy that is slow in Wasm at the limit, while this thread keeps running, and then works again", async () => {
    const proposed = await bundleOf(slowChange(shipped.rego["router/router.rego"]!), "slow");
    let ticks = 0;
    let longestGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      ticks++;
    }, 20);
    const t0 = performance.now();
    const err = await workers.run({ base, proposed, sample }, 1500).catch((e: unknown) => e);
    const took = performance.now() - t0;
    clearInterval(timer);
    expect(err).toBeInstanceOf(ChangeRejectedError);
    expect((err as Error).message).toMatch(/took longer than 1500 ms/);
    expect(took).toBeGreaterThanOrEqual(1500);
    expect(took).toBeLessThan(4000);
    expect(ticks).toBeGreaterThan(20);
    expect(longestGap).toBeLessThan(500);
    // A fresh worker takes the next task.
    expect((await workers.run({ base, proposed: base, sample }, 20_000)).impact.reductions).toEqual([]);
  }, 60_000);
});
