/**
 * Benchmark (c): latency from a party publishing an event to each entitled subscriber receiving its copy,
 * p50 / p99 / p999, at a fixed rate (by default half the router's maximum measured in router-vs-pipe).
 *
 *   npm run bench:latency -- [--rate 9000] [--duration-s 20] [--warmup-s 3]
 *
 * One process publishes (SDK) and subscribes (read_committed consumers of every delivery topic), so send and
 * receive times come from one clock; the router runs as its own process. Results:
 * load-tests/results/latency.{json,md}. Talks only to the configured addresses.
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { PartyPublisher } from "@parcel-exchange/sdk";
import { createKafka, createLogger, HEADERS, topics } from "@parcel-exchange/shared";
import { envOf, publishPolicy, spawnRouter } from "../test/harness.js";
import { testConfig } from "../test/helpers.js";
import { generateLoad, publisherOf, PUBLISHERS } from "./generate.js";
import { deleteRunTopics, provisionIngress, quantile, readRuns, runBenchmark, sleep, writeResults } from "./kit.js";

const { values: args } = parseArgs({
  options: { rate: { type: "string" }, "duration-s": { type: "string", default: "20" }, "warmup-s": { type: "string", default: "3" } },
  strict: true,
});

/** Half the router's best measured input rate, when the end-to-end benchmark has been run. */
function defaultRate(): number {
  const runs = readRuns<{ router?: { inputPerSecBest?: number } }>("router-vs-pipe");
  const best = Math.max(0, ...runs.map((r) => r.router?.inputPerSecBest ?? 0));
  return best > 0 ? Math.round(best / 2) : 5000;
}

const RATE = args.rate ? Number(args.rate) : defaultRate();
const DURATION = Number(args["duration-s"]) * 1000;
const WARMUP = Number(args["warmup-s"]) * 1000;
if (!(RATE > 0) || !(DURATION > 0) || !(WARMUP >= 0)) {
  console.error("--rate, --duration-s must be positive numbers, --warmup-s non-negative");
  process.exit(2);
}

async function main(): Promise<void> {
  const config = testConfig("lat", { PX_TOPIC_PARTITIONS: "6" });
  const log = createLogger("bench", "warn");
  const kafka = createKafka(config, log);
  const t = topics(config.topicPrefix);
  await publishPolicy(config);
  await provisionIngress(config, kafka);
  const { child } = await spawnRouter(envOf(config));
  process.on("exit", () => child.exitCode === null && child.kill("SIGTERM"));

  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let measuredFrom = Number.POSITIVE_INFINITY;
  const parties = ["taobao", "jd", "sf-express", "zto", "hive-box"];
  const consumer = kafka.consumer({ groupId: `${config.router.groupId}-lat`, readUncommitted: false, maxWaitTimeInMs: 10, minBytes: 1 });
  await consumer.connect();
  await consumer.subscribe({ topics: parties.map((p) => t.deliver(p)), fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 6,
    eachBatch: async ({ batch }) => {
      const now = performance.now();
      for (const m of batch.messages) {
        const id = m.headers?.[HEADERS.sourceEventId]?.toString();
        const s = id === undefined ? undefined : sentAt.get(id);
        if (s !== undefined && s >= measuredFrom) latencies.push(now - s);
      }
    },
  });

  const pubs = new Map<string, PartyPublisher>();
  for (const p of PUBLISHERS) pubs.set(p, await PartyPublisher.connect({ party: p, config, logger: log }));
  const total = Math.ceil((RATE * (DURATION + WARMUP)) / 1000);
  const load = generateLoad({ events: total, seed: 11 });
  const tick = 10; // ms between sends
  const perTick = Math.max(1, Math.round((RATE * tick) / 1000));
  const t0 = performance.now();
  measuredFrom = t0 + WARMUP;
  let sent = 0;
  let lastLog = t0;
  while (sent < load.all.length) {
    const slice = load.all.slice(sent, sent + perTick);
    const byParty = new Map<string, typeof slice>();
    for (const e of slice) byParty.set(publisherOf(e), [...(byParty.get(publisherOf(e)) ?? []), e]);
    const now = performance.now();
    await Promise.all(
      [...byParty].map(async ([p, list]) => {
        const out = await pubs.get(p)!.publishMany(list);
        for (const e of out) sentAt.set(e.event.eventId, now);
      }),
    );
    sent += slice.length;
    const due = t0 + (sent / RATE) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (performance.now() - lastLog > 2000) {
      lastLog = performance.now();
      process.stderr.write(`sent ${sent}/${load.all.length}, received ${latencies.length} measured copies\n`);
    }
  }
  const achieved = (sent / (performance.now() - t0)) * 1000;
  await sleep(3000);
  await consumer.disconnect();
  await Promise.all([...pubs.values()].map((p) => p.disconnect()));
  child.kill("SIGTERM");

  const xs = Float64Array.from(latencies).sort();
  const result = {
    at: new Date().toISOString(),
    machine: { cores: cpus().length, node: process.version },
    targetRate: RATE,
    achievedRate: Math.round(achieved),
    durationS: DURATION / 1000,
    copies: xs.length,
    ms: { p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), p999: quantile(xs, 0.999), max: xs[xs.length - 1] },
  };
  // Keep one result per target rate, so a run at another rate adds a row instead of replacing the table.
  const previous = readRuns<typeof result>("latency");
  const runs = [...previous.filter((r) => r.targetRate !== RATE), result].sort((a, b) => a.targetRate - b.targetRate);
  const md = [
    "### Latency, publisher → subscriber (read_committed), router in its own process",
    "",
    `2 cores shared by the broker, the registry, the router and the benchmark (publisher + subscriber) process; Node ${result.machine.node}. Measured after a ${WARMUP / 1000} s warm-up.`,
    "",
    "| target events/s | achieved | run | copies measured | p50 | p99 | p999 | max |",
    "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ...runs.map((r) => `| ${r.targetRate} | ${r.achievedRate} | ${r.at} | ${r.copies} | ${r.ms.p50.toFixed(1)} ms | ${r.ms.p99.toFixed(1)} ms | ${r.ms.p999.toFixed(1)} ms | ${r.ms.max!.toFixed(1)} ms |`),
    "",
  ].join("\n");
  await deleteRunTopics(config, log);
  writeResults("latency", { runs }, md);
  process.stdout.write(`${md}\n`);
}

runBenchmark("bench:latency", main, DURATION + WARMUP + 10 * 60_000);
