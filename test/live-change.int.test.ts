/**
 * Policy changes applied while a load runs, with two routers in one group: every delivered record is checked
 * field by field against the policy version stamped on it, every event is decided wholly under one version,
 * no event reaches a party twice, and buyers never lose tracking.
 */
import { afterAll, describe, expect, it } from "vitest";
import { DeliverySubscriber, PartyPublisher, type ParcelEventInput } from "@parcel-exchange/sdk";
import { loadSigner, signBundle, createKafka, createLogger, type PolicyBundle } from "@parcel-exchange/shared";
import { loadPolicyData, makeBundle, publishBundle } from "@parcel-exchange/policy-build";
import { hiveBoxNarrowsTaobao, sfWithdrawsTaobaoTracking, LANES, lifecycle, checkBuyersKeepTracking, checkNothingBeyondPolicy, type Published, type Received } from "@parcel-exchange/demo";
import { policyWasm, startRouter, testRelease, type RunningRouter } from "./harness.js";
import { testConfig, until } from "./helpers.js";

const config = testConfig("live", { PX_ROUTER_PARTITIONS_CONCURRENTLY: "2" });
const routers: RunningRouter[] = [];

afterAll(async () => {
  await Promise.all(routers.map((r) => r.stop()));
});

describe("policy changes under load", () => {
  it("decides every record under exactly the version stamped on it", async () => {
    const signer = loadSigner(config);
    const wasm = await policyWasm(config);
    const d1 = await loadPolicyData();
    const c = d1.contracts as Record<string, any>;
    const d2 = { ...d1, contracts: { ...c, "hive-box--taobao": hiveBoxNarrowsTaobao(c["hive-box--taobao"]) } };
    const d3 = { ...d2, contracts: { ...d2.contracts, "sf-express--taobao": sfWithdrawsTaobaoTracking(c["sf-express--taobao"]) } };
    const bundles: PolicyBundle[] = [d1, d2, d3].map((d, i) => signBundle(makeBundle(wasm, d, `live${i + 1}`), signer, testRelease(config)));
    const kafka = createKafka(config, createLogger("test", "warn"));
    await publishBundle(kafka, config, bundles[0]!);
    routers.push(await startRouter(config), await startRouter(config));
    const applied = routers.map(() => [] as string[]);
    routers.forEach((r, i) => r.router.onPolicyApplied((v) => applied[i]!.push(v)));

    const pubs = new Map<string, PartyPublisher>();
    for (const p of ["taobao", "jd", "sf-express", "zto", "hive-box"]) pubs.set(p, await PartyPublisher.connect({ party: p, config }));
    const published = new Map<string, Published>();
    let stop = false;
    const load = (async () => {
      for (let n = 0; !stop && n < 400; n++) {
        const batch = new Map<string, ParcelEventInput[]>();
        for (const [i, lane] of LANES.entries()) for (const [party, events] of lifecycle("live", n * LANES.length + i, lane, Date.now())) batch.set(party, [...(batch.get(party) ?? []), ...events]);
        for (const [party, events] of batch) for (const e of await pubs.get(party)!.publishMany(events)) published.set(e.event.eventId, { type: e.type, event: e.event as unknown as Record<string, unknown> });
      }
    })();
    for (const b of bundles.slice(1)) {
      await new Promise((r) => setTimeout(r, 1500));
      await publishBundle(kafka, config, b);
      await until(`both routers to apply ${b.version}`, () => applied.every((a) => a.includes(b.version)) || undefined, 20_000);
    }
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await load;
    await Promise.all([...pubs.values()].map((p) => p.disconnect()));

    const received: Received[] = [];
    for (const party of pubs.keys()) {
      const sub = await DeliverySubscriber.connect({ party, config, fromBeginning: true, groupId: `${config.router.groupId}-check-${party}` });
      for (const d of await sub.collect({ idleMs: 4000, timeoutMs: 120_000 })) received.push({ party, type: d.type, event: d.event as unknown as Record<string, unknown>, policyVersion: d.policyVersion, sourceEventId: d.sourceEventId });
      await sub.disconnect();
    }
    const versionsSeen = new Set(received.map((r) => r.policyVersion));
    expect([...versionsSeen].sort()).toEqual(bundles.map((b) => b.version).sort()); // traffic under every version
    const beyond = checkNothingBeyondPolicy(bundles, published, received);
    expect(beyond.problems.slice(0, 5)).toEqual([]);
    expect(checkBuyersKeepTracking(published, received).problems.slice(0, 5)).toEqual([]);
    const perEvent = new Map<string, Set<string>>();
    const perPartyEvent = new Set<string>();
    for (const r of received) {
      perEvent.set(r.sourceEventId, (perEvent.get(r.sourceEventId) ?? new Set()).add(r.policyVersion));
      const k = `${r.party}|${r.sourceEventId}`;
      expect(perPartyEvent.has(k), `${k} delivered twice`).toBe(false);
      perPartyEvent.add(k);
    }
    expect([...perEvent.entries()].filter(([, v]) => v.size > 1)).toEqual([]);
  });
});
