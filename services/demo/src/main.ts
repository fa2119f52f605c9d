/**
 * `npm run demo`: the June 2017 dispute replayed on the local stack.
 *
 * Phase 1 — normal traffic under the bilateral contracts.
 * Phase 2 — "1 June": while traffic flows, Hive Box proposes to stop sharing pickup codes and non-Taobao locker
 * events with Taobao/Cainiao, and SF Express proposes to withdraw Taobao's tracking feed. Both go through the
 * policy service: dry run, approvals, the notice period, the regulator's decision; each becomes a signed policy
 * version the router applies live. The regulator's floor keeps SF parcels' status reaching Taobao buyers.
 * Ends with checks that can fail: no buyer lost tracking; no field beyond policy reached anyone; the ledger
 * verifies and a tampered copy does not.
 *
 * `npm run demo -- --serve` then keeps the run's services up and serves the web console on its data (with a
 * local Prometheus for the live flow when Debian's prometheus is installed) until Ctrl-C.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { DeliverySubscriber, PartyPublisher, type Delivery, type ParcelEventInput } from "@parcel-exchange/sdk";
import { ConfigError, createKafka, createLogger, deleteTopicsWithPrefix, createMetricsRegistry, loadConfig, loadVerifier, localStackEnv, localStackUp, serveMetrics, verifyKafkaAccess, type Config } from "@parcel-exchange/shared";
import { prometheusBin, startConsole, startLocalPrometheus, type LocalPrometheus } from "@parcel-exchange/console";
import { deprovisionDeployment, provisionDeployment, readParties } from "@parcel-exchange/provision";
import { isolationCheck } from "./isolation.js";
import { verifyChain } from "@parcel-exchange/ledger";
import { startPolicyService, type Contract } from "@parcel-exchange/policy";
import { routerMetrics, Router } from "@parcel-exchange/router";
import { startGateway } from "@parcel-exchange/gateway";
import { checkWebhookFeed, DemoReceiver } from "./webhook.js";
import { LANES, lifecycle } from "./traffic.js";
import { hiveBoxNarrowsTaobao, sfWithdrawsTaobaoTracking } from "./contract-changes.js";
import { checkBuyersKeepTracking, checkNothingBeyondPolicy, type Published, type Received } from "./verify.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const PARTIES = ["taobao", "jd", "sf-express", "zto", "hive-box"];
const PARCELS_PER_LANE = 30;
/** Development API keys of policies/users.json. */
const KEYS = { regulator: "px-dev-key-regulator-spb", hiveBox: "px-dev-key-hive-box", sf: "px-dev-key-sf-express", taobao: "px-dev-key-taobao", gateway: "px-dev-key-gateway" } as const;
/** The event types Taobao takes by webhook in the demo. */
const WEBHOOK_TYPES = ["TrackingEvent", "LockerEvent"] as const;
/** Keep the run's services up and serve the console on them until Ctrl-C. */
const SERVE = process.argv.slice(2).includes("--serve");

function say(line = ""): void {
  process.stdout.write(`${line}\n`);
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
    say("Starting the local stack if needed (three Kafka brokers, schema registry, Redis, OPA)...");
    localStackUp(ROOT, "quiet");
    // No credentials given: act as the local stack's admin, who provisions the demo's deployment.
    if (process.env.KAFKA_SASL_USERNAME === undefined) base = loadConfig({ ...process.env, ...localStackEnv(ROOT) });
  }
  const run = Date.now().toString(36);
  const prefix = `${base.topicPrefix}.demo.${run}`;
  // The admin's configuration: it provisions the deployment; everyone else acts as their own principal.
  const config: Config = { ...base, topicPrefix: prefix, router: { ...base.router, groupId: `${prefix}.router.routers` }, logLevel: base.logLevel === "info" ? "warn" : base.logLevel };
  const log = createLogger("demo", config.logLevel);
  await verifyKafkaAccess(config, log);
  const kafka = createKafka(config, log);
  const parties = readParties(join(ROOT, "policies/data/parties.json"));

  // Earlier demo runs' topics and identities are removed (each run would otherwise leave ~20 topics and 8
  // principals on the cluster); this run's are kept afterwards, so they can be inspected with `npx px tail`.
  const demoRoot = `${base.topicPrefix}.demo.`;
  const removed = await deleteTopicsWithPrefix(kafka, demoRoot);
  const earlierRuns = new Set(removed.map((t) => t.slice(demoRoot.length).split(".")[0]!));
  for (const r of earlierRuns) await deprovisionDeployment({ config: { ...config, topicPrefix: `${demoRoot}${r}` }, parties, log }).catch(() => undefined);
  if (removed.length > 0) say(`Removed ${removed.length} topics and the identities of ${earlierRuns.size} earlier demo run(s) (${demoRoot}*); this run's stay after it ends.`);

  say(`Provisioning ${prefix}: one principal per party and service, their topics, ACLs and quotas (SASL_SSL, SCRAM-SHA-512)`);
  const provisioned = await provisionDeployment({ config, parties, log });
  const secret = new Map(provisioned.credentials.map((c) => [c.principal, c.password]));
  /** The configuration of one party or service of this deployment: its own credentials, nothing more. */
  const as = (id: string): Config => {
    const username = `${prefix}.${id}`;
    const password = secret.get(username)!;
    return { ...config, kafka: { ...config.kafka, sasl: { mechanism: "scram-sha-512", username, password } }, registry: { ...config.registry, username, password } };
  };
  const isolation = await isolationCheck(as, prefix);
  for (const line of isolation.lines) say(`  ${line}`);

  say(`Starting the policy service as ${prefix}.policy; it compiles policies/ and publishes version 1`);
  // The demo's webhook receiver listens on loopback over plain HTTP; production endpoints are HTTPS to public
  // addresses, and production refuses these two settings.
  const demoWebhooks = { ...config.webhooks, allowHttp: true, allowPrivate: true };
  const policy = await startPolicyService({ ...as("policy"), webhooks: demoWebhooks }, log, { port: 0 });
  const { service, ledger } = policy;
  const apiUrl = policy.url;
  const call = async (key: string, method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${apiUrl}${path}`, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const out = (await res.json()) as { error?: string };
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${out.error ?? ""}`);
    return out;
  };
  const phase1 = service.bundle(service.currentVersion());

  const registry = createMetricsRegistry("router");
  const metrics = routerMetrics(registry);
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const routerConfig = as("router");
  const router = new Router({ config: routerConfig, kafka: createKafka(routerConfig, log), redis, log, metrics, instanceId: "demo" });
  const applied: string[] = [];
  router.onPolicyApplied((v) => applied.push(v));
  await router.start();

  // Taobao also takes its tracking and locker feed by webhook, through the HTTP gateway (its own principal).
  const gwBase = as("gateway");
  const gateway = await startGateway(
    {
      ...gwBase,
      gateway: { ...gwBase.gateway, port: 0, policyKey: KEYS.gateway, endpointsRefreshMs: 500, instanceId: `demo-${run}` },
      policyService: { ...gwBase.policyService, url: apiUrl },
      webhooks: demoWebhooks,
    },
    { log },
  );
  const receiver = new DemoReceiver();
  const hookUrl = await receiver.listen();
  const hook = await call(KEYS.taobao, "POST", "/v1/webhooks", { url: hookUrl, eventTypes: WEBHOOK_TYPES });
  receiver.secret = hook.secret;
  await gateway.webhooks.refresh();
  say(`Started the HTTP gateway (${gateway.url}) as ${prefix}.gateway; Taobao registered webhook ${hook.endpoint.id} → ${hookUrl} for ${WEBHOOK_TYPES.join(", ")}`);

  const received: (Received & { transformed: Delivery["transformed"] })[] = [];
  const subs = await Promise.all(PARTIES.map((party) => DeliverySubscriber.connect({ party, config: as(party), fromBeginning: true, logger: log })));
  await Promise.all(
    subs.map((s) =>
      s.run((d) => {
        received.push({ party: s.party, type: d.type, event: d.event as unknown as Record<string, unknown>, policyVersion: d.policyVersion, sourceEventId: d.sourceEventId, transformed: d.transformed });
      }),
    ),
  );
  const pubs = new Map(await Promise.all(PARTIES.map(async (p) => [p, await PartyPublisher.connect({ party: p, config: as(p), logger: log })] as const)));
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

  say('\nPhase 2 — "1 June": Hive Box and SF Express propose contract changes while traffic flows');
  const third = Math.floor(PARCELS_PER_LANE / 3);
  await traffic("p2", 0, third);
  const contractNow = (id: string) => structuredClone((service.bundle(service.currentVersion()).data.contracts as Record<string, Contract>)[id]!);
  const showProposal = (who: string, p: { id: string; status: string; dryRun: { sampled: number; lines: { text: string }[] }; impact: { reductions: unknown[] }; effectiveAt?: string }) => {
    say(`  ${who} proposal ${p.id}: ${p.impact.reductions.length} reductions found over every routing case; dry run on the last ${p.dryRun.sampled} events:`);
    for (const l of p.dryRun.lines.slice(0, 6)) say(`    - ${l.text}`);
  };
  const hb = await call(KEYS.hiveBox, "POST", "/v1/proposals", { change: { contracts: { "hive-box--taobao": hiveBoxNarrowsTaobao(contractNow("hive-box--taobao")) } }, description: "Hive Box: pickup codes and non-Taobao locker events are not Cainiao's" });
  showProposal("Hive Box", hb);
  say(`  Taobao does not approve. The regulator reviews the dry run and approves it for immediate effect.`);
  const hbDone = await call(KEYS.regulator, "POST", `/v1/proposals/${hb.id}/approve`, { immediate: true });
  say(`  → published ${hbDone.publishedVersion}`);
  await until("the Hive Box change to apply", () => applied.includes(hbDone.publishedVersion), 30_000);
  await traffic("p2", third, 2 * third);
  const sf = await call(KEYS.sf, "POST", "/v1/proposals", { change: { contracts: { "sf-express--taobao": sfWithdrawsTaobaoTracking(contractNow("sf-express--taobao")) } }, description: "SF Express: stop returning tracking to Taobao" });
  showProposal("SF Express", sf);
  const sfScheduled = await call(KEYS.regulator, "POST", `/v1/proposals/${sf.id}/approve`, {});
  say(`  The regulator approves without immediate effect: ${sfScheduled.status} until ${sfScheduled.effectiveAt} (the contract's notice period); Taobao is notified on its delivery topic.`);
  say(`  After mediation the regulator applies it now — the floor keeps status, time and city reaching Taobao buyers.`);
  const sfDone = await call(KEYS.regulator, "POST", `/v1/proposals/${sf.id}/apply`);
  say(`  → published ${sfDone.publishedVersion}`);
  await until("the 1-June policies to apply", () => applied.includes(sfDone.publishedVersion), 30_000);
  await traffic("p2", 2 * third, PARCELS_PER_LANE);
  target = published.size;
  for (let i = 0; i < 900 && (await consumedTotal()) < target; i++) await new Promise((r) => setTimeout(r, 100));
  let last = -1;
  while (received.length + receiver.got.size !== last) {
    last = received.length + receiver.got.size;
    await new Promise((r) => setTimeout(r, 2000));
  }

  // Report: per party and policy version, events received and field actions.
  const versions = [phase1.version, hbDone.publishedVersion as string, sfDone.publishedVersion as string];
  const label = (v: string) => (v === phase1.version ? "1: contracts" : v === versions[1] ? "2: Hive Box change" : v === versions[2] ? "3: + SF change" : v);
  say(`\nPublished ${published.size} events; routed ${await consumedTotal()}; ${received.length} deliveries.`);
  say(`Policy versions: ${versions.map((v) => `${label(v)} = ${v}`).join("; ")}\n`);
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
  const p2sf = sfToTaobao.filter((r) => r.policyVersion === versions[2]);
  say(`\nSF tracking reaching Taobao buyers after SF's change: ${p2sf.length} events, each with status and city, all else withheld (${p2sf.every((r) => r.event.district === null && r.event.staffName === null) ? "yes" : "NO"}).`);

  const entries = await ledger.readAll();
  const verifier = loadVerifier(config);
  const ledgerOk = verifyChain(entries, verifier);
  const tampered = entries.map((e) => (e.type === "policy.approved" ? { ...e, actor: "party:taobao" } : e));
  const tamperedResult = verifyChain(tampered, verifier);
  say(`\nLedger: ${entries.length} entries (${[...new Set(entries.map((e) => e.type))].join(", ")}); head ${ledgerOk.head?.slice(0, 16)}…`);
  say(`  verify: ${ledgerOk.ok ? "OK" : "FAILED"}; a copy with one approval's author rewritten: ${tamperedResult.ok ? "ACCEPTED (bad)" : `rejected — ${tamperedResult.problems[0]?.message}`}`);
  const ledgerCheck = { name: "ledger verifies, tampered copy rejected", ok: ledgerOk.ok && !tamperedResult.ok, checked: entries.length, problems: [...ledgerOk.problems.map((p) => p.message), ...(tamperedResult.ok ? ["tampered copy verified"] : [])] };
  say(`Taobao's webhook received ${receiver.got.size} signed deliveries (verified with the standardwebhooks library).`);
  const checks = [
    checkBuyersKeepTracking(published, received),
    checkNothingBeyondPolicy(versions.map((v) => service.bundle(v)), published, received),
    ledgerCheck,
    isolation.check,
    checkWebhookFeed("taobao", WEBHOOK_TYPES, received, receiver),
  ];
  say("");
  for (const c of checks) {
    say(`${c.ok ? "PASS" : "FAIL"}  ${c.name} (${c.checked} checked)`);
    for (const p of c.problems.slice(0, 10)) say(`      ${p}`);
  }

  if (SERVE) await serveConsole(config, apiUrl, registry);
  else say("\nTo look at this run in the web console (who receives what, the proposals, the ledger, the live flow): npm run demo -- --serve");

  await Promise.all([...pubs.values()].map((p) => p.disconnect()));
  await Promise.all(subs.map((s) => s.disconnect()));
  await gateway.stop();
  await receiver.close();
  await router.stop();
  await policy.stop();
  redis.disconnect();
  say(`\nThis run's topics are kept under ${config.topicPrefix}.* (inspect them with \`npx px tail\`); the next demo run removes them.`);
  return checks.every((c) => c.ok) ? 0 : 1;
}

/** The console on the demo's policy service, the live flow from a local Prometheus scraping the demo's router and policy service; until Ctrl-C. */
async function serveConsole(config: Config, policyUrl: string, routerRegistry: ReturnType<typeof createMetricsRegistry>): Promise<void> {
  const metrics = await serveMetrics(routerRegistry, 0);
  let prom: LocalPrometheus | undefined;
  try {
    prom = await startLocalPrometheus([
      { job: "router", address: `127.0.0.1:${(metrics.address() as { port: number }).port}` },
      { job: "policy", address: new URL(policyUrl).host },
    ]);
  } catch (err) {
    say(`The live flow page stays empty: ${(err as Error).message} (${prometheusBin()}).`);
  }
  const consoleApp = await startConsole({ ...config, console: { ...config.console, ...(prom ? { prometheusUrl: prom.url } : {}) } }, { policyUrl });
  say(`\nThe web console serves this run at ${consoleApp.url}${prom ? ` (live flow from Prometheus at ${prom.url})` : ""}. Sign in with a development key of policies/users.json:`);
  say(`  ${KEYS.regulator}  the regulator (State Post Bureau): sees everything, approves, applies, rolls back`);
  say(`  ${KEYS.taobao}  Taobao's compliance officer: what concerns Taobao; approves or rejects changes to its contracts`);
  say("  px-dev-key-viewer  a viewer: reads everything, changes nothing");
  say("Press Ctrl-C to stop.");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  say("\nStopping the console and the demo's services...");
  await consoleApp.stop();
  await prom?.stop();
  await new Promise((r) => metrics.close(r));
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("demo failed:", err);
    process.exit(1);
  },
);
