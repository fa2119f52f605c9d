/**
 * Policy propagation: how long from a policy bundle's publication until every router instance applies it,
 * with N router processes (default 3) in one consumer group routing a steady load.
 *
 *   npm run bench:propagation -- [--routers 3] [--versions 20] [--rate 2000] [--interval-ms 1000]
 *
 * Each version differs in content (a contract's notice period), so each is a new version. The clock starts
 * when the publication is acknowledged by the broker and stops when an instance prints `policy_applied` for
 * that version. Results: load-tests/results/propagation.{json,md}. Talks only to the configured addresses.
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { PartyPublisher } from "@parcel-exchange/sdk";
import { createKafka, createLogger, loadSigner, signBundle } from "@parcel-exchange/shared";
import { loadPolicyData, makeBundle, publishBundle } from "@parcel-exchange/policy-build";
import { envOf, policyWasm, spawnRouter } from "../test/harness.js";
import { testConfig } from "../test/helpers.js";
import { generateLoad, publisherOf, PUBLISHERS } from "./generate.js";
import { deleteRunTopics, provisionIngress, quantile, runBenchmark, sleep, wholeNumber, writeResults } from "./kit.js";

const { values: args } = parseArgs({
  options: {
    routers: { type: "string", default: "3" },
    versions: { type: "string", default: "20" },
    rate: { type: "string", default: "2000" },
    "interval-ms": { type: "string", default: "1000" },
  },
  strict: true,
});
const ROUTERS = wholeNumber("routers", args.routers, 1, 8);
const VERSIONS = wholeNumber("versions", args.versions, 2, 200);
const RATE = wholeNumber("rate", args.rate, 0, 100_000);
const INTERVAL = wholeNumber("interval-ms", args["interval-ms"], 100, 60_000);

async function main(): Promise<void> {
  const config = testConfig("prop", { PX_TOPIC_PARTITIONS: "6", PX_ROUTER_SESSION_TIMEOUT_MS: "10000" });
  const log = createLogger("bench", "warn");
  const kafka = createKafka(config, log);
  const signer = loadSigner(config);
  const wasm = await policyWasm(config);
  const data = await loadPolicyData();
  const contractId = "jd--zto";
  const variant = (i: number) => {
    const contracts = structuredClone(data.contracts) as Record<string, { notice_days?: number }>;
    contracts[contractId]!.notice_days = 30 + i;
    // Straight to the routers, not through the policy service: a release with no ledger entry, in order.
    return signBundle(makeBundle(wasm, { ...data, contracts }, `prop${i}`), signer, { sequence: i + 1, deployment: config.deploymentId, ledger: { seq: -1, hash: "benchmark" } });
  };
  await publishBundle(kafka, config, variant(0));
  await provisionIngress(config, kafka);

  // Router processes; each line `policy_applied` is timestamped on arrival.
  const applied = new Map<string, number[]>();
  const children: ChildProcess[] = [];
  const stopAll = () => children.forEach((c) => c.exitCode === null && c.kill("SIGTERM"));
  process.on("exit", stopAll);
  for (let i = 0; i < ROUTERS; i++) {
    const { child } = await spawnRouter(envOf(config));
    children.push(child);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const t = performance.now();
      try {
        const o = JSON.parse(line) as { event?: string; version?: string };
        if (o.event === "policy_applied" && o.version) applied.set(o.version, [...(applied.get(o.version) ?? []), t]);
      } catch {
        /* not a status line */
      }
    });
    process.stderr.write(`router ${i + 1}/${ROUTERS} started\n`);
  }

  // Steady load in the background.
  const load = generateLoad({ events: Math.max(1, RATE) * Math.ceil(((VERSIONS + 5) * (INTERVAL + 1000)) / 1000), seed: 7 });
  const pubs = new Map<string, PartyPublisher>();
  for (const p of PUBLISHERS) pubs.set(p, await PartyPublisher.connect({ party: p, config, logger: log }));
  let sent = 0;
  let stop = false;
  const loadRun = (async () => {
    if (RATE === 0) return;
    const t0 = performance.now();
    const chunk = Math.max(1, Math.round(RATE / 20));
    for (let i = 0; i < load.all.length && !stop; i += chunk) {
      const slice = load.all.slice(i, i + chunk);
      const byParty = new Map<string, typeof slice>();
      for (const e of slice) byParty.set(publisherOf(e), [...(byParty.get(publisherOf(e)) ?? []), e]);
      await Promise.all([...byParty].map(([p, list]) => pubs.get(p)!.publishMany(list)));
      sent += slice.length;
      const due = t0 + (sent / RATE) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
  })();

  await sleep(2000);
  const samples: { version: string; perInstanceMs: number[]; allMs: number }[] = [];
  for (let i = 1; i <= VERSIONS; i++) {
    const b = variant(i);
    await publishBundle(kafka, config, b);
    const t0 = performance.now();
    const deadline = t0 + 30_000;
    while ((applied.get(b.version)?.length ?? 0) < ROUTERS && performance.now() < deadline) await sleep(5);
    const times = (applied.get(b.version) ?? []).map((t) => Math.max(0, t - t0));
    if (times.length < ROUTERS) throw new Error(`version ${b.version} reached ${times.length} of ${ROUTERS} routers in 30 s`);
    samples.push({ version: b.version, perInstanceMs: times, allMs: Math.max(...times) });
    process.stderr.write(`version ${i}/${VERSIONS}: all ${ROUTERS} routers in ${Math.max(...times).toFixed(0)} ms (load sent so far: ${sent})\n`);
    await sleep(INTERVAL);
  }
  stop = true;
  await loadRun;
  await Promise.all([...pubs.values()].map((p) => p.disconnect()));
  stopAll();

  const per = samples.flatMap((s) => s.perInstanceMs);
  const all = samples.map((s) => s.allMs);
  const result = {
    at: new Date().toISOString(),
    machine: { cores: cpus().length, node: process.version },
    routers: ROUTERS,
    versions: VERSIONS,
    loadEventsPerSecond: RATE,
    perInstanceMs: { p50: quantile(per, 0.5), p99: quantile(per, 0.99), max: Math.max(...per) },
    allInstancesMs: { p50: quantile(all, 0.5), p99: quantile(all, 0.99), max: Math.max(...all) },
    samples,
  };
  const md = [
    `### Policy propagation: ${ROUTERS} router processes, ${VERSIONS} versions, load ${RATE} events/s`,
    "",
    `Run ${result.at} on ${result.machine.cores} cores, Node ${result.machine.node}. From the broker's acknowledgement of the publication to each instance applying it.`,
    "",
    "| measure | p50 | p99 | max |",
    "| --- | ---: | ---: | ---: |",
    `| one instance applies | ${result.perInstanceMs.p50.toFixed(0)} ms | ${result.perInstanceMs.p99.toFixed(0)} ms | ${result.perInstanceMs.max.toFixed(0)} ms |`,
    `| all ${ROUTERS} instances apply | ${result.allInstancesMs.p50.toFixed(0)} ms | ${result.allInstancesMs.p99.toFixed(0)} ms | ${result.allInstancesMs.max.toFixed(0)} ms |`,
    "",
  ].join("\n");
  await deleteRunTopics(config, log);
  writeResults("propagation", result, md);
  process.stdout.write(`${md}\n`);
}

runBenchmark("bench:propagation", main, VERSIONS * (30_000 + INTERVAL) + 10 * 60_000);
