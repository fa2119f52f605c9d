/**
 * Benchmark: the router against a plain kafkajs consume → produce pipe over the same pre-loaded raw events.
 *
 *   npm run bench -- --events 50000 [--rounds 1] [--partitions 6] [--seed N] [--only pipe|router]
 *                    [--order alternate|pipe-first|router-first] [--phase-timeout-s 600] [--keep-topics]
 *
 * One run, one process, one machine: a fresh topic prefix, N generated events published once with the SDK
 * publishers (not timed), then per round the pipe and the router, each in its own consumer group reading
 * from offset 0. Results go to stdout (markdown) and to load-tests/results/router-vs-pipe.{json,md}.
 * Talks only to the addresses in the configuration (the local stack by default).
 */
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import type { Admin, Consumer, Kafka, Producer } from "kafkajs";
import { createKafka, createLogger, ensureTopics, idempotentProducer, topics as topicsOf, type Config, type Logger } from "@parcel-exchange/shared";
import { publishPolicy, startRouter, type RunningRouter } from "../test/harness.js";
import { testConfig } from "../test/helpers.js";
import { preloadEvents, counterTotal, ingressTopics, endOffsetsTotal, fmt, groupLag, median, readRuns, runBenchmark, sleep, waitFor, wholeNumber, writeResults } from "./kit.js";

const CHUNK = 1000;

// ---------------------------------------------------------------------------------------------- options

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "50000" },
    rounds: { type: "string", default: "1" },
    partitions: { type: "string", default: "6" },
    seed: { type: "string", default: "20240601" },
    only: { type: "string" },
    order: { type: "string", default: "alternate" },
    "phase-timeout-s": { type: "string", default: "600" },
    "keep-topics": { type: "boolean", default: false },
    "no-results": { type: "boolean", default: false },
  },
  strict: true,
});


const N = wholeNumber("events", args.events, 1, 5_000_000);
const ROUNDS = wholeNumber("rounds", args.rounds, 1, 20);
const PARTITIONS = wholeNumber("partitions", args.partitions, 1, 64);
const SEED = wholeNumber("seed", args.seed, 0, 2 ** 31);
const PHASE_TIMEOUT_MS = wholeNumber("phase-timeout-s", args["phase-timeout-s"], 10, 3600) * 1000;
const ONLY = args.only;
if (ONLY !== undefined && ONLY !== "pipe" && ONLY !== "router") {
  console.error(`--only must be pipe or router, got '${ONLY}'`);
  process.exit(2);
}
const ORDER = args.order;
if (ORDER !== "alternate" && ORDER !== "pipe-first" && ORDER !== "router-first") {
  console.error(`--order must be alternate, pipe-first or router-first, got '${ORDER}'`);
  process.exit(2);
}

// The benchmark logs warnings only, unless told otherwise.
process.env.PX_LOG_LEVEL ??= "warn";
const config = testConfig("bench", { PX_TOPIC_PARTITIONS: String(PARTITIONS) });
const log: Logger = createLogger("bench", config.logLevel);
const T = topicsOf(config.topicPrefix);
const RAW = ingressTopics(config);
const PIPE_OUT = `${config.topicPrefix}.pipe.out`;

// ---------------------------------------------------------------------------------------------- phases

interface PhaseResult {
  readonly system: "pipe" | "router";
  readonly round: number;
  readonly inputEvents: number;
  readonly outputRecords: number;
  /** From the start of the phase (client creation, group join included) until the last input record is done. */
  readonly wallMs: number;
  /** From the start of the phase until the first input record was done (start-up: connect, join, policy). */
  readonly firstMs: number;
  readonly inputPerSec: number;
  readonly outputPerSec: number;
  readonly fanOut: number;
  readonly deliveredByParty?: Record<string, number>;
  readonly deadLettered?: number;
}

const preload = (kafka: Kafka) => preloadEvents({ config, log, kafka, events: N, seed: SEED, chunk: CHUNK });

async function runPipe(kafka: Kafka, round: number): Promise<PhaseResult> {
  const groupId = `${config.router.groupId}-pipe-r${round}`;
  let consumed = 0;
  let produced = 0;
  let firstAt = 0;
  const t0 = performance.now();
  const producer: Producer = idempotentProducer(kafka, { allowAutoTopicCreation: false });
  const consumer: Consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50, sessionTimeout: 30_000, heartbeatInterval: 3000 });
  let failure: unknown;
  let tEnd = 0;
  try {
    await producer.connect();
    await consumer.connect();
    consumer.on(consumer.events.CRASH, (e) => {
      failure = e.payload.error;
    });
    await consumer.subscribe({ topics: RAW, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: config.router.partitionsConcurrently,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        consumed += batch.messages.length;
        const messages = batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp }));
        await producer.sendBatch({ topicMessages: [{ topic: PIPE_OUT, messages }], acks: -1 });
        produced += messages.length;
        if (firstAt === 0) firstAt = performance.now();
        resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
        await heartbeat();
      },
    });
    let last = { t: performance.now(), n: 0 };
    await waitFor(
      `pipe r${round}`,
      async () => {
        if (failure) throw failure;
        return produced >= N;
      },
      async () => {
        const now = performance.now();
        const rate = ((produced - last.n) * 1000) / (now - last.t);
        last = { t: now, n: produced };
        return `consumed ${fmt(consumed)}/${fmt(N)}  produced ${fmt(produced)}  (${fmt(rate)}/s)`;
      },
      PHASE_TIMEOUT_MS,
    );
    tEnd = performance.now(); // before the disconnects, which are not timed
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
  }
  const wallMs = tEnd - t0;
  return { system: "pipe", round, inputEvents: consumed, outputRecords: produced, wallMs, firstMs: firstAt - t0, inputPerSec: (N * 1000) / wallMs, outputPerSec: (produced * 1000) / wallMs, fanOut: produced / N };
}

async function runRouter(admin: Admin, round: number): Promise<PhaseResult> {
  const groupId = `${config.router.groupId}-r${round}`;
  const cfg: Config = { ...config, router: { ...config.router, groupId } };
  const t0 = performance.now();
  let running: RunningRouter | undefined;
  let firstAt = 0;
  let consumed = 0;
  try {
    running = await startRouter(cfg);
    const m = running.metrics;
    let last = { t: performance.now(), n: 0 };
    await waitFor(
      `router r${round}`,
      async () => {
        consumed = (await counterTotal(m.consumed)).total;
        if (consumed > 0 && firstAt === 0) firstAt = performance.now();
        return consumed >= N;
      },
      async () => {
        const delivered = (await counterTotal(m.delivered)).total;
        const now = performance.now();
        const rate = ((consumed - last.n) * 1000) / (now - last.t);
        last = { t: now, n: consumed };
        return `committed ${fmt(consumed)}/${fmt(N)}  delivered ${fmt(delivered)}  (${fmt(rate)} in/s)`;
      },
      PHASE_TIMEOUT_MS,
    );
    const tEnd = performance.now(); // before the cross-checks and the stop, which are not timed
    const delivered = await counterTotal(m.delivered, "party");
    const rejected = await counterTotal(m.rejected);
    // Cross-check with the broker: the router's group must have committed every input offset. Offsets sent in
    // a transaction become visible once the coordinator has written the commit markers, a moment after commit.
    let lag = -1;
    for (let i = 0; i < 100 && lag !== 0; i++) {
      if (i > 0) await sleep(100);
      lag = await groupLag(admin, groupId, RAW);
    }
    if (lag !== 0) throw new Error(`router r${round}: metrics say ${consumed} consumed but the group still lags by ${lag} after 10 s`);
    const wallMs = tEnd - t0;
    return {
      system: "router",
      round,
      inputEvents: consumed,
      outputRecords: delivered.total,
      wallMs,
      firstMs: firstAt - t0,
      inputPerSec: (N * 1000) / wallMs,
      outputPerSec: (delivered.total * 1000) / wallMs,
      fanOut: delivered.total / N,
      deliveredByParty: delivered.by,
      deadLettered: rejected.total,
    };
  } finally {
    await running?.stop().catch((err: unknown) => log.warn({ err }, "router stop failed"));
  }
}

// ---------------------------------------------------------------------------------------------- report


interface Summary {
  readonly system: "pipe" | "router";
  readonly rounds: number;
  readonly inputPerSecMedian: number;
  readonly inputPerSecBest: number;
  readonly outputPerSecMedian: number;
  readonly fanOut: number;
  readonly wallMsMedian: number;
  readonly wallMsBest: number;
  readonly startupMsMedian: number;
}

function summarize(system: "pipe" | "router", rs: PhaseResult[]): Summary | undefined {
  if (rs.length === 0) return undefined;
  return {
    system,
    rounds: rs.length,
    inputPerSecMedian: median(rs.map((r) => r.inputPerSec)),
    inputPerSecBest: Math.max(...rs.map((r) => r.inputPerSec)),
    outputPerSecMedian: median(rs.map((r) => r.outputPerSec)),
    fanOut: median(rs.map((r) => r.fanOut)),
    wallMsMedian: median(rs.map((r) => r.wallMs)),
    wallMsBest: Math.min(...rs.map((r) => r.wallMs)),
    startupMsMedian: median(rs.map((r) => r.firstMs)),
  };
}

interface RunRecord {
  readonly events: number;
  readonly rounds: number;
  readonly partitions: number;
  readonly seed: number;
  readonly startedAt: string;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly memGiB: number; readonly node: string };
  readonly topicPrefix: string;
  readonly preload: { readonly ms: number; readonly byParty: Record<string, number> };
  readonly pipe?: Summary;
  readonly router?: Summary;
  /** router input events/s ÷ pipe input events/s (medians), when both ran. */
  readonly ratioRouterToPipe?: number;
  readonly ratioRouterToPipeBest?: number;
  readonly phases: PhaseResult[];
}

function table(r: RunRecord): string {
  const rows = [
    "| system | input events/s | output records/s | fan-out | wall time | start-up (to first record) | best input events/s |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const s of [r.pipe, r.router]) {
    if (!s) continue;
    rows.push(
      `| ${s.system} | ${fmt(s.inputPerSecMedian)} | ${fmt(s.outputPerSecMedian)} | ${fmt(s.fanOut, 2)} | ${fmt(s.wallMsMedian / 1000, 2)} s | ${fmt(s.startupMsMedian / 1000, 2)} s | ${fmt(s.inputPerSecBest)} |`,
    );
  }
  const lines = [
    `### ${fmt(r.events)} events, ${r.rounds} round(s), ${r.partitions} partitions per topic`,
    "",
    `Run ${r.startedAt} on ${r.machine.cpus} cores (${r.machine.cpuModel}), Node ${r.machine.node}; medians over rounds.`,
    "",
    ...rows,
    "",
  ];
  if (r.ratioRouterToPipe !== undefined) {
    lines.push(`**Ratio router/pipe (input events/s): ${r.ratioRouterToPipe.toFixed(3)}** (best rounds: ${r.ratioRouterToPipeBest!.toFixed(3)}; the router is ${fmt(1 / r.ratioRouterToPipe, 1)}× slower than the pipe)`, "");
  }
  const router = r.phases.find((p) => p.system === "router");
  if (router?.deliveredByParty) {
    lines.push(`Router deliveries by party (one round): ${Object.entries(router.deliveredByParty).sort().map(([p, n]) => `${p} ${fmt(n)}`).join(", ")}; dead-lettered ${fmt(router.deadLettered ?? 0)}.`, "");
  }
  return lines.join("\n");
}

function saveResults(run: RunRecord): void {
  // One entry per input size: the latest run of each size is kept, so a 50k and a 200k run sit side by side.
  const runs = [...readRuns<RunRecord>("router-vs-pipe").filter((x) => x.events !== run.events), run].sort((a, b) => a.events - b.events);
  const md = [
    "# Router vs plain pipe",
    "",
    "Generated by `npm run bench` (load-tests/router-vs-pipe.ts); see load-tests/README.md for how to read it.",
    "The latest run of each input size is kept.",
    "",
    ...runs.map(table),
  ].join("\n");
  writeResults("router-vs-pipe", { runs }, md);
}

// ---------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  console.log(`router vs pipe: ${fmt(N)} events, ${ROUNDS} round(s), prefix ${config.topicPrefix}, brokers ${config.kafka.brokers.join(",")}`);
  const kafka = createKafka(config, log);
  const admin = kafka.admin();
  await admin.connect();
  const created: string[] = [...RAW, PIPE_OUT];
  const groups: string[] = [];
  let exitCode = 0;
  try {
    await ensureTopics(admin, config, [...RAW.map((topic) => ({ topic })), { topic: PIPE_OUT }]);
    const pre = await preload(kafka);
    const onBroker = await endOffsetsTotal(admin, RAW);
    if (onBroker !== N) throw new Error(`expected ${N} records on the raw topics after pre-loading, found ${onBroker}`);

    if (ONLY !== "pipe") {
      const bundle = await publishPolicy(config, undefined, "bench");
      console.log(`policy ${bundle.version} published`);
    }

    const phases: PhaseResult[] = [];
    const startedAt = new Date().toISOString();
    for (let round = 1; round <= ROUNDS; round++) {
      const pipeFirst = ORDER === "pipe-first" || (ORDER === "alternate" && round % 2 === 1);
      const order: ("pipe" | "router")[] = pipeFirst ? ["pipe", "router"] : ["router", "pipe"];
      for (const system of order) {
        if (ONLY !== undefined && ONLY !== system) continue;
        console.log(`round ${round}/${ROUNDS}: ${system}`);
        let r: PhaseResult;
        if (system === "pipe") {
          groups.push(`${config.router.groupId}-pipe-r${round}`);
          r = await runPipe(kafka, round);
        } else {
          groups.push(`${config.router.groupId}-r${round}`);
          r = await runRouter(admin, round);
        }
        phases.push(r);
        // Monotonic microseconds, the clock of V8's .cpuprofile timestamps: lets cpuprofile-top.ts cut one phase out.
        const endUs = process.hrtime.bigint() / 1000n;
        console.log(`  phase window (hrtime µs): ${endUs - BigInt(Math.round(r.wallMs * 1000))}..${endUs}`);
        console.log(`  → ${system}: ${fmt(r.inputPerSec)} input events/s, ${fmt(r.outputPerSec)} output records/s, fan-out ${r.fanOut.toFixed(2)}, wall ${(r.wallMs / 1000).toFixed(2)} s`);
        await sleep(1000); // let the broker settle between phases
      }
    }

    const pipe = summarize("pipe", phases.filter((p) => p.system === "pipe"));
    const router = summarize("router", phases.filter((p) => p.system === "router"));
    const run: RunRecord = {
      events: N,
      rounds: ROUNDS,
      partitions: PARTITIONS,
      seed: SEED,
      startedAt,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? "unknown", memGiB: Math.round(totalmem() / 2 ** 30), node: process.versions.node },
      topicPrefix: config.topicPrefix,
      preload: pre,
      ...(pipe ? { pipe } : {}),
      ...(router ? { router } : {}),
      ...(pipe && router ? { ratioRouterToPipe: router.inputPerSecMedian / pipe.inputPerSecMedian, ratioRouterToPipeBest: router.inputPerSecBest / pipe.inputPerSecBest } : {}),
      phases,
    };
    console.log(`\n${table(run)}`);
    if (!args["no-results"] && ONLY === undefined) saveResults(run);
  } catch (err) {
    console.error("benchmark failed:", err);
    exitCode = 1;
  } finally {
    if (!args["keep-topics"]) {
      const all = [...created, T.deadLetter, T.policy, ...["taobao", "jd", "sf-express", "zto", "hive-box"].map((p) => T.deliver(p))];
      const existing = new Set(await admin.listTopics().catch(() => [] as string[]));
      const mine = all.filter((t) => existing.has(t) && t.startsWith(`${config.topicPrefix}.`));
      await admin.deleteTopics({ topics: mine, timeout: 30_000 }).catch((err: unknown) => log.warn({ err }, "could not delete the benchmark topics"));
      await admin.deleteGroups(groups).catch(() => undefined);
      console.log(`deleted ${mine.length} benchmark topics (pass --keep-topics to keep them)`);
    }
    await admin.disconnect().catch(() => undefined);
  }
  process.exitCode = exitCode;
}

// Whatever happens, the process ends within the phase budget of every phase plus margin.
runBenchmark("benchmark", main, PHASE_TIMEOUT_MS * (2 * ROUNDS + 2) + 120_000);
