/**
 * `npm run demo`: the June 2017 dispute replayed on the local stack.
 *
 * Phase 1 — normal traffic under the bilateral contracts.
 * Phase 2 — "1 June": while traffic flows, Hive Box stops sharing pickup codes and non-Taobao locker events
 * with Taobao/Cainiao, and SF Express withdraws Taobao's tracking feed. Both are contract changes published as
 * a new policy version; the regulator's floor keeps SF parcels' status reaching Taobao buyers.
 * Ends with two checks that can fail: no buyer lost tracking; no field beyond policy reached anyone.
 */
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { DeliverySubscriber, PartyPublisher, type Delivery, type ParcelEventInput } from "../../sdk/src/index.js";
import { ConfigError, createKafka, createLogger, createMetricsRegistry, loadConfig, loadSigner, signBundle, type Config, type PolicyData } from "../../shared/src/index.js";
import { compileWasm, loadPolicyData, makeBundle } from "../../policy-build/src/build.js";
import { publishBundle } from "../../policy-build/src/publish.js";
import { routerMetrics } from "../../router/src/metrics.js";
import { Router } from "../../router/src/router.js";
import { LANES, lifecycle } from "./traffic.js";
import { checkBuyersKeepTracking, checkNothingBeyondPolicy, type Published, type Received } from "./verify.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const PARTIES = ["taobao", "jd", "sf-express", "zto", "hive-box"];
const PARCELS_PER_LANE = 30;

function say(line = ""): void {
  process.stdout.write(`${line}\n`);
}

/** The "1 June" contracts: Hive Box narrows Taobao's feed; SF withdraws Taobao's tracking grant. */
export function juneFirst(data: PolicyData): PolicyData {
  const contracts = structuredClone(data.contracts) as Record<string, { grants: { from: string; to: string; scope: string; classes: Record<string, string> }[] }>;
  const hb = contracts["hive-box--taobao"]!;
  for (const g of hb.grants) {
    if (g.from === "hive-box" && g.to === "taobao") {
      g.scope = "own_orders";
      delete g.classes["secret.pickup_code"];
    }
  }
  const sf = contracts["sf-express--taobao"]!;
  sf.grants = sf.grants.filter((g) => !(g.from === "sf-express" && g.to === "taobao"));
  return { ...data, contracts };
}

async function until(what: string, fn: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<number> {
  let base: Config;
  try {
    base = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`demo: invalid configuration: ${err.message}`);
      return 78;
    }
    throw err;
  }
  if (base.manageLocalStack) {
    say("Starting the local stack if needed (Kafka, schema registry, Redis, OPA)...");
    execFileSync("bash", [join(ROOT, "infra/local/stack.sh"), "up"], { stdio: ["ignore", "ignore", "inherit"] });
  }
  const run = Date.now().toString(36);
  const config: Config = { ...base, topicPrefix: `${base.topicPrefix}.demo.${run}`, router: { ...base.router, groupId: `${base.router.groupId}-demo-${run}` }, logLevel: base.logLevel === "info" ? "warn" : base.logLevel };
  const log = createLogger("demo", config.logLevel);
  const kafka = createKafka(config, log);

  say(`Compiling policies/ to Wasm and publishing the phase-1 policy (topics under ${config.topicPrefix}.*)`);
  const wasm = await compileWasm(config.opaBin);
  const data1 = await loadPolicyData();
  const signer = loadSigner(config);
  const phase1 = signBundle(makeBundle(wasm, data1, "contracts-2017-05"), signer);
  const phase2 = signBundle(makeBundle(wasm, juneFirst(data1), "contracts-2017-06-01"), signer);
  await publishBundle(kafka, config, phase1);

  const registry = createMetricsRegistry("router");
  const metrics = routerMetrics(registry);
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const router = new Router({ config, kafka, redis, log, metrics, instanceId: "demo" });
  const applied: string[] = [];
  router.onPolicyApplied((v) => applied.push(v));
  await router.start();

  const received: (Received & { transformed: Delivery["transformed"] })[] = [];
  const subs = await Promise.all(PARTIES.map((party) => DeliverySubscriber.connect({ party, config, fromBeginning: true, logger: log })));
  await Promise.all(
    subs.map((s) =>
      s.run((d) => {
        received.push({ party: s.party, type: d.type, event: d.event as unknown as Record<string, unknown>, policyVersion: d.policyVersion, sourceEventId: d.sourceEventId, transformed: d.transformed });
      }),
    ),
  );
  const pubs = new Map(await Promise.all(PARTIES.map(async (p) => [p, await PartyPublisher.connect({ party: p, config, logger: log })] as const)));
  const published = new Map<string, Published>();
  const consumedTotal = async () => (await metrics.consumed.get()).values.reduce((n, v) => n + v.value, 0);

  async function traffic(phase: string, from: number, to: number): Promise<void> {
    for (let n = from; n < to; n++) {
      const batch = new Map<string, ParcelEventInput[]>();
      for (const [i, lane] of LANES.entries()) {
        for (const [party, events] of lifecycle(phase, n * LANES.length + i, lane, Date.now())) batch.set(party, [...(batch.get(party) ?? []), ...events]);
      }
      for (const [party, events] of batch) {
        for (const e of await pubs.get(party)!.publishMany(events)) published.set(e.event.eventId, { type: e.type, event: e.event as unknown as Record<string, unknown> });
      }
    }
  }

  say("\nPhase 1 — normal traffic under the contracts");
  await traffic("p1", 0, PARCELS_PER_LANE);
  let target = published.size;
  for (let i = 0; i < 600 && (await consumedTotal()) < target; i++) await new Promise((r) => setTimeout(r, 100));

  say('Phase 2 — "1 June": Hive Box and SF Express change their contracts while traffic flows');
  const half = Math.floor(PARCELS_PER_LANE / 2);
  await traffic("p2", 0, half);
  await publishBundle(kafka, config, phase2);
  await until("the 1-June policy to apply", () => applied.includes(phase2.version), 30_000);
  await traffic("p2", half, PARCELS_PER_LANE);
  target = published.size;
  for (let i = 0; i < 900 && (await consumedTotal()) < target; i++) await new Promise((r) => setTimeout(r, 100));
  let last = -1;
  while (received.length !== last) {
    last = received.length;
    await new Promise((r) => setTimeout(r, 2000));
  }

  // Report: per party and policy version, events received and field actions.
  const versions = [phase1.version, phase2.version];
  const label = (v: string) => (v === phase1.version ? "phase 1" : v === phase2.version ? "phase 2" : v);
  say(`\nPublished ${published.size} events; routed ${await consumedTotal()}; ${received.length} deliveries.`);
  say(`Policy versions: phase 1 = ${phase1.version}, phase 2 = ${phase2.version}\n`);
  say("| party | phase | events | kept | masked | tokenised | coarsened | dropped | pickup codes | non-own locker events |");
  say("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const party of PARTIES) {
    for (const v of versions) {
      const mine = received.filter((r) => r.party === party && r.policyVersion === v);
      const count = (a: string) => mine.reduce((n, r) => n + r.transformed.filter((t) => t.action === a).length, 0);
      const transformed = mine.reduce((n, r) => n + r.transformed.length, 0);
      const total = mine.reduce((n, r) => n + Object.keys(r.event).length, 0);
      const codes = mine.filter((r) => typeof r.event.pickupCode === "string").length;
      const foreign = mine.filter((r) => r.type === "LockerEvent" && r.event.platform !== party && PARTIES.slice(0, 2).includes(party)).length;
      say(`| ${party} | ${label(v)} | ${mine.length} | ${total - transformed} | ${count("mask")} | ${count("token")} | ${count("coarsen")} | ${count("drop")} | ${codes} | ${foreign} |`);
    }
  }
  const sfToTaobao = received.filter((r) => r.party === "taobao" && r.type === "TrackingEvent" && r.event.courier === "sf-express");
  const p2sf = sfToTaobao.filter((r) => r.policyVersion === phase2.version);
  say(`\nSF tracking reaching Taobao buyers in phase 2: ${p2sf.length} events, each with status and city, all else withheld (${p2sf.every((r) => r.event.district === null && r.event.staffName === null) ? "yes" : "NO"}).`);

  const checks = [checkBuyersKeepTracking(published, received), await checkNothingBeyondPolicy(config, [phase1, phase2], published, received)];
  say("");
  for (const c of checks) {
    say(`${c.ok ? "PASS" : "FAIL"}  ${c.name} (${c.checked} checked)`);
    for (const p of c.problems.slice(0, 10)) say(`      ${p}`);
  }

  await Promise.all([...pubs.values()].map((p) => p.disconnect()));
  await Promise.all(subs.map((s) => s.disconnect()));
  await router.stop();
  redis.disconnect();
  return checks.every((c) => c.ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("demo failed:", err);
    process.exit(1);
  },
);
