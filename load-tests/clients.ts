/**
 * Benchmark: does the Kafka client cap the router? kafkajs (the router's client) against @platformatic/kafka,
 * side by side in one run, over the same pre-loaded raw events.
 *
 *   npm run bench:clients -- --events 100000 [--rounds 2] [--partitions 6] [--seed N] [--batch 1000]
 *                            [--variants pipe,tx,produce] [--phase-timeout-s 300] [--keep-topics] [--no-results]
 *
 * Variants (pipe and produce: each client through the same narrow interface, `BenchClient` below; tx: the
 * router's own RouterKafka implementations):
 *   pipe     consumer group over the raw topics → idempotent producer (acks all) to <prefix>.clients.out-{a,b};
 *            every record goes out unchanged plus three router-shaped string headers. Offsets are committed
 *            after each produced batch (at-least-once, no transactions).
 *   tx       the router's own transactional pipe (services/router/src/kafka-client, kafkajs vs platformatic):
 *            one sink per input partition, one transaction per input batch with the group's offset inside.
 *   produce  producer only: N pre-encoded records (key, value, three string headers), batches of --batch,
 *            each batch awaited before the next.
 * A is kafkajs 2.2.4, B is @platformatic/kafka 1.35.0. Every phase has its own consumer group and a time limit;
 * the order of A and B alternates from round to round. Results: stdout (markdown) and
 * load-tests/results/clients.{json,md}. Talks only to the brokers in the configuration (the local stack).
 */
import { cpus, totalmem } from "node:os";
import { inspect, parseArgs } from "node:util";
import {
  compatibilityPartitioner,
  Consumer as PltConsumer,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  Producer as PltProducer,
  type Message as PltMessage,
  type MessagesStream,
  type MessageToProduce,
} from "@platformatic/kafka";
import type { IHeaders, Kafka, Message as KjsMessage, Producer as KjsProducer } from "kafkajs";
import { createKafka, createLogger, ensureTopics, idempotentProducer, type Logger } from "@parcel-exchange/shared";
import { testConfig } from "../test/helpers.js";
import { createRouterKafka, type PartitionSink } from "@parcel-exchange/router";
import { preloadEvents, ingressTopics, bounded, endOffsetsTotal, fmt, groupLag, median, runBenchmark, sleep, waitFor, wholeNumber, writeResults } from "./kit.js";


// ---------------------------------------------------------------------------------------------- options

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "100000" },
    rounds: { type: "string", default: "2" },
    partitions: { type: "string", default: "6" },
    seed: { type: "string", default: "20240601" },
    batch: { type: "string", default: "1000" },
    variants: { type: "string", default: "pipe,tx,produce" },
    "phase-timeout-s": { type: "string", default: "300" },
    "keep-topics": { type: "boolean", default: false },
    "no-results": { type: "boolean", default: false },
  },
  strict: true,
});


const N = wholeNumber("events", args.events, 1, 2_000_000);
const ROUNDS = wholeNumber("rounds", args.rounds, 1, 10);
const PARTITIONS = wholeNumber("partitions", args.partitions, 1, 64);
const SEED = wholeNumber("seed", args.seed, 0, 2 ** 31);
const BATCH = wholeNumber("batch", args.batch, 1, 100_000);
const PHASE_TIMEOUT_MS = wholeNumber("phase-timeout-s", args["phase-timeout-s"], 10, 3600) * 1000;
type Variant = "pipe" | "tx" | "produce";
const VARIANTS = (args.variants ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "") as Variant[];
for (const v of VARIANTS) {
  if (v !== "pipe" && v !== "tx" && v !== "produce") {
    console.error(`--variants takes a comma-separated list of pipe, tx, produce; got '${v}'`);
    process.exit(2);
  }
}

process.env.PX_LOG_LEVEL ??= "warn";
const config = testConfig("clients", { PX_TOPIC_PARTITIONS: String(PARTITIONS) });
const log: Logger = createLogger("bench-clients", config.logLevel);
const RAW = ingressTopics(config);
const OUT = (client: "a" | "b", variant: Variant): string => `${config.topicPrefix}.clients.${variant === "produce" ? "prod" : "out"}-${client}${variant === "tx" ? "-tx" : ""}`;
const CONCURRENCY = config.router.partitionsConcurrently;

if (config.kafka.ssl || config.kafka.sasl) {
  // The comparison is meant for the local stack; wiring TLS/SASL into the second client is not worth it here.
  console.error("bench:clients runs against a plaintext broker only (unset KAFKA_SSL / KAFKA_SASL_MECHANISM)");
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------- helpers

/** Waits until a phase has produced N records; its first failure fails the wait. */
function untilProduced(label: string, state: () => { consumed: number; produced: number; failure: unknown }): Promise<void> {
  return waitFor(
    label,
    () => {
      const { produced, failure } = state();
      if (failure) throw failure;
      return produced >= N;
    },
    () => `consumed ${fmt(state().consumed)}/${fmt(N)}  produced ${fmt(state().produced)}`,
    PHASE_TIMEOUT_MS,
    25,
  );
}

/** Sends pre-built batches one after the other, each awaited, within the phase's time limit; the produce phase. */
async function timedSends<M>(label: string, t0: number, batches: readonly M[][], send: (messages: M[]) => Promise<void>): Promise<PhaseRun> {
  const total = batches.reduce((n, b) => n + b.length, 0);
  let sent = 0;
  let firstAt = 0;
  const timer = setInterval(() => console.log(`  [${label}] ${fmt(sent)}/${fmt(total)} sent`), 1000);
  try {
    for (const messages of batches) {
      if (performance.now() - t0 > PHASE_TIMEOUT_MS) throw new Error(`${label}: not finished after ${PHASE_TIMEOUT_MS / 1000} s`);
      await send(messages);
      sent += messages.length;
      if (firstAt === 0) firstAt = performance.now();
    }
  } finally {
    clearInterval(timer);
  }
  return { records: sent, wallMs: performance.now() - t0, firstMs: firstAt - t0, batches: batches.length };
}

// The three headers the router puts on a delivery (core.ts), with values of the same shape and length: a policy
// version, the source event's id (a UUID) and the list of transformed fields. The pipes derive the id from the
// input offset so that both clients get identical strings and pay the same (small) cost for making them.
const POLICY_VERSION = "2026.11.21-1f3a9c2e7b6d";
const TRANSFORMED = "recipient.phone:mask,recipient.address:generalize";
const eventIdFor = (partition: number, offset: string): string => `00000000-0000-4000-8${String(partition).padStart(3, "0")}-${offset.padStart(12, "0")}`;
/** The router's delivery headers on a record copied from raw partition `partition` at `offset`. */
const routerHeaders = (existing: IHeaders | undefined, partition: number, offset: string): IHeaders => ({
  ...existing,
  "px-policy-version": POLICY_VERSION,
  "px-source-event-id": eventIdFor(partition, offset),
  "px-transformed": TRANSFORMED,
});

// ---------------------------------------------------------------------------------------------- the narrow interface

/** What one phase reports: how many input records were handled and how long it took, start-up included. */
interface PhaseRun {
  readonly records: number;
  readonly wallMs: number;
  readonly firstMs: number;
  /** Produce calls (sendBatch / send, one per transaction in the tx variants): records ÷ batches is the mean batch. */
  readonly batches: number;
}

/** Pre-encoded producer-only input: the same records for both clients. */
interface PlainRecord {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly eventId: string;
}

/**
 * The little the router needs from a Kafka client, expressed as benchmark phases. Each implementation uses its
 * client the way its documentation intends (kafkajs: eachBatch; @platformatic/kafka: a message stream drained
 * in batches), so what is measured is the client, not an adapter.
 */
interface BenchClient {
  readonly name: "kafkajs" | "@platformatic/kafka";
  /** Consumer group over the raw topics → idempotent producer; offsets committed after each batch. */
  pipe(groupId: string, out: string, label: string): Promise<PhaseRun>;
  /** Sends `records` to `out` in batches of BATCH, each awaited. */
  produce(records: readonly PlainRecord[], out: string, label: string): Promise<PhaseRun>;
}

// ---------------------------------------------------------------------------------------------- tx: the router's own pipe

/**
 * The tx variant: the router's own transactional path, through the same RouterKafka implementation the router
 * runs (services/router/src/kafka-client, picked as PX_KAFKA_CLIENT would): one sink (transactional id) per
 * input partition, one transaction per input batch with the group's offset inside. Records are copied through
 * unchanged with the router's headers, so this is the router's Kafka path without its routing.
 */
async function routerTx(kind: "kafkajs" | "platformatic", kafka: Kafka, groupId: string, out: string, label: string): Promise<PhaseRun> {
  const client = await createRouterKafka({ ...config, router: { ...config.router, groupId, kafkaClient: kind } }, kafka, log);
  const sinks = new Map<string, Promise<PartitionSink>>();
  let consumed = 0;
  let produced = 0;
  let batches = 0;
  let firstAt = 0;
  let failure: unknown;
  let tEnd = 0;
  const t0 = performance.now();
  await client.connect();
  try {
    await client.consume(RAW, async ({ topic, partition, messages, isStale }) => {
      if (isStale() || messages.length === 0) return;
      consumed += messages.length;
      const tp = `${topic}/${partition}`;
      let sink = sinks.get(tp);
      if (sink === undefined) sinks.set(tp, (sink = client.openSink(topic, partition)));
      const tx = await (await sink).begin();
      try {
        await tx.send([{ topic: out, messages: messages.map((m) => ({ key: m.key, value: m.value ?? Buffer.alloc(0), headers: routerHeaders(m.headers as IHeaders | undefined, partition, m.offset) })) }]);
        await tx.commit((BigInt(messages[messages.length - 1]!.offset) + 1n).toString());
      } catch (err) {
        await tx.abort().catch(() => undefined);
        failure ??= err;
        throw err;
      }
      produced += messages.length;
      batches++;
      if (firstAt === 0) firstAt = performance.now();
    });
    await untilProduced(label, () => ({ consumed, produced, failure }));
    tEnd = performance.now();
  } finally {
    await bounded(`${kind} consumer stop`, client.stopConsuming());
    await Promise.all([...sinks.values()].map((p) => bounded(`${kind} sink close`, p.then((x) => x.close()))));
    await bounded(`${kind} control plane close`, client.close());
  }
  return { records: produced, wallMs: tEnd - t0, firstMs: firstAt - t0, batches };
}

// ---------------------------------------------------------------------------------------------- A: kafkajs

function kafkajsClient(kafka: Kafka): BenchClient {

  async function consumePipe(groupId: string, label: string, out: string): Promise<PhaseRun> {
    let consumed = 0;
    let produced = 0;
    let batches = 0;
    let firstAt = 0;
    let failure: unknown;
    const t0 = performance.now();
    const plain: KjsProducer = idempotentProducer(kafka, { allowAutoTopicCreation: false });
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50, sessionTimeout: 30_000, heartbeatInterval: 3000 });
    let tEnd = 0;
    try {
      await plain.connect();
      await consumer.connect();
      consumer.on(consumer.events.CRASH, (e) => {
        failure = e.payload.error;
      });
      await consumer.subscribe({ topics: RAW, fromBeginning: true });
      await consumer.run({
        autoCommit: true,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: CONCURRENCY,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          if (!isRunning() || isStale() || batch.messages.length === 0) return;
          const { partition } = batch;
          consumed += batch.messages.length;
          const messages: KjsMessage[] = batch.messages.map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp, headers: routerHeaders(m.headers, partition, m.offset) }));
          const last = batch.messages[batch.messages.length - 1]!.offset;
          await plain.sendBatch({ topicMessages: [{ topic: out, messages }], acks: -1 });
          produced += messages.length;
          batches++;
          if (firstAt === 0) firstAt = performance.now();
          resolveOffset(last);
          await heartbeat();
        },
      });
      await untilProduced(label, () => ({ consumed, produced, failure }));
      tEnd = performance.now();
    } finally {
      await bounded("kafkajs consumer disconnect", consumer.disconnect());
      await bounded("kafkajs producer disconnect", plain.disconnect());
    }
    return { records: produced, wallMs: tEnd - t0, firstMs: firstAt - t0, batches };
  }

  return {
    name: "kafkajs",
    pipe: (groupId, out, label) => consumePipe(groupId, label, out),
    async produce(records, out, label) {
      // Built before the clock starts: the router hands the client records of exactly this shape.
      const batches: KjsMessage[][] = [];
      for (let i = 0; i < records.length; i += BATCH) {
        batches.push(records.slice(i, i + BATCH).map((r) => ({ key: r.key, value: r.value, headers: { "px-policy-version": POLICY_VERSION, "px-source-event-id": r.eventId, "px-transformed": TRANSFORMED } })));
      }
      const t0 = performance.now();
      const producer = idempotentProducer(kafka, { allowAutoTopicCreation: false });
      try {
        await producer.connect();
        return await timedSends(label, t0, batches, async (messages) => {
          await producer.send({ topic: out, messages, acks: -1 });
        });
      } finally {
        await bounded("kafkajs producer disconnect", producer.disconnect());
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------- B: @platformatic/kafka

type HeaderPart = string | Buffer;
type PltOut = MessageToProduce<Buffer, Buffer, HeaderPart, HeaderPart>;
/** Header keys and values may be strings (the router's) or Buffers (passed through from the input record). */
const headerPart = (v?: HeaderPart): Buffer | undefined => (v === undefined ? undefined : typeof v === "string" ? Buffer.from(v, "utf8") : v);

function platformaticClient(): BenchClient {
  const bootstrapBrokers = [...config.kafka.brokers];
  const clientId = `${config.kafka.clientId}-plt`;
  const newProducer = (transactionalId?: string): PltProducer<Buffer, Buffer, HeaderPart, HeaderPart> =>
    new PltProducer<Buffer, Buffer, HeaderPart, HeaderPart>({
      clientId,
      bootstrapBrokers,
      idempotent: true, // forces acks = all and one in-flight request, like idempotentProducer() for kafkajs
      acks: -1,
      partitioner: compatibilityPartitioner, // the Java client's murmur2, as kafkajs's DefaultPartitioner
      serializers: { headerKey: headerPart, headerValue: headerPart },
      retries: 8,
      retryDelay: 100,
      ...(transactionalId !== undefined ? { transactionalId } : {}),
    });

  const routerHeaders = (m: PltMessage<Buffer, Buffer, Buffer, Buffer>): Map<HeaderPart, HeaderPart> => {
    const h = new Map<HeaderPart, HeaderPart>(m.headers);
    h.set("px-policy-version", POLICY_VERSION);
    h.set("px-source-event-id", eventIdFor(m.partition, String(m.offset)));
    h.set("px-transformed", TRANSFORMED);
    return h;
  };
  const toOut = (m: PltMessage<Buffer, Buffer, Buffer, Buffer>, out: string): PltOut => ({ topic: out, key: m.key, value: m.value, timestamp: m.timestamp, headers: routerHeaders(m) });

  /**
   * Reads the stream in batches: whatever the stream holds when we look, up to 2 × BATCH records, then waits for
   * more. The stream keeps fetching in the background up to its high-water mark. The cap matters: 1.35 sends
   * each partition's share of a send() as one record batch and does not split it, so a send whose share for one
   * partition exceeds the broker's max.message.bytes (1 MiB) fails with MESSAGE_TOO_LARGE. Records of one input
   * partition share keys with each other, so they tend to land in one output partition.
   */
  async function drain(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>, isDone: () => boolean, onBatch: (ms: PltMessage<Buffer, Buffer, Buffer, Buffer>[]) => Promise<void>): Promise<void> {
    // A 'readable' listener must stay attached for the whole loop: 1.35 fetches only while the stream's
    // readableFlowing is not null, and removing the last 'readable' listener sets it back to null, which stops
    // the fetch loop for good (a once('readable') per wait stalls the pipe after the first few fetches).
    let wake: (() => void) | undefined;
    const onReadable = (): void => wake?.();
    stream.on("readable", onReadable);
    try {
      await drainLoop(stream, isDone, onBatch, (ms) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          };
        }),
      );
    } finally {
      stream.off("readable", onReadable);
    }
  }

  async function drainLoop(
    stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>,
    isDone: () => boolean,
    onBatch: (ms: PltMessage<Buffer, Buffer, Buffer, Buffer>[]) => Promise<void>,
    waitReadable: (ms: number) => Promise<void>,
  ): Promise<void> {
    while (!isDone()) {
      const batch: PltMessage<Buffer, Buffer, Buffer, Buffer>[] = [];
      let m: PltMessage<Buffer, Buffer, Buffer, Buffer> | null;
      while (batch.length < 2 * BATCH && (m = stream.read() as PltMessage<Buffer, Buffer, Buffer, Buffer> | null) !== null) batch.push(m);
      if (batch.length > 0) {
        await onBatch(batch);
        continue;
      }
      await waitReadable(200);
    }
  }

  async function consumePipe(groupId: string, label: string, out: string): Promise<PhaseRun> {
    let consumed = 0;
    let produced = 0;
    let batches = 0;
    let firstAt = 0;
    let failure: unknown;
    let finished = false;
    const t0 = performance.now();
    const plain = newProducer();
    const consumer = new PltConsumer<Buffer, Buffer, Buffer, Buffer>({ clientId, bootstrapBrokers, groupId, autocommit: false, maxWaitTime: 50, sessionTimeout: 30_000, heartbeatInterval: 3000, retries: 8, retryDelay: 100 });
    let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
    let loop: Promise<void> | undefined;
    let tEnd = 0;

    try {
      stream = await consumer.consume({ topics: [...RAW], mode: MessagesStreamModes.COMMITTED, fallbackMode: MessagesStreamFallbackModes.EARLIEST, autocommit: false });
      stream.on("error", (err: unknown) => {
        failure ??= err;
      });
      const s = stream;
      loop = drain(
        s,
        () => finished || failure !== undefined,
        async (batch) => {
          consumed += batch.length;
          await plain.send({ messages: batch.map((m) => toOut(m, out)) });
          batches++;
          // Commit what was produced: the last offset of every partition in the batch, + 1.
          const last = new Map<string, PltMessage<Buffer, Buffer, Buffer, Buffer>>();
          for (const m of batch) last.set(`${m.topic}\u0000${m.partition}`, m);
          await consumer.commit({ offsets: [...last.values()].map((m) => ({ topic: m.topic, partition: m.partition, offset: m.offset + 1n, leaderEpoch: -1 })) });
          produced += batch.length;
          if (firstAt === 0) firstAt = performance.now();
        },
      ).catch((err: unknown) => {
        failure ??= err;
      });
      await untilProduced(label, () => ({ consumed, produced, failure }));
      tEnd = performance.now();
    } finally {
      finished = true;
      if (loop) await bounded("platformatic drain loop", loop);
      if (stream) await bounded("platformatic stream close", stream.close());
      await bounded("platformatic consumer close", consumer.close());
      await bounded("platformatic producer close", plain.close());
    }
    return { records: produced, wallMs: tEnd - t0, firstMs: firstAt - t0, batches };
  }

  return {
    name: "@platformatic/kafka",
    pipe: (groupId, out, label) => consumePipe(groupId, label, out),
    async produce(records, out, label) {
      const batches: PltOut[][] = [];
      for (let i = 0; i < records.length; i += BATCH) {
        batches.push(records.slice(i, i + BATCH).map((r) => ({ topic: out, key: r.key, value: r.value, headers: { "px-policy-version": POLICY_VERSION, "px-source-event-id": r.eventId, "px-transformed": TRANSFORMED } })));
      }
      const t0 = performance.now();
      const producer = newProducer();
      try {
        return await timedSends(label, t0, batches, async (messages) => {
          await producer.send({ messages });
        });
      } finally {
        await bounded("platformatic producer close", producer.close());
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------- run

interface PhaseResult extends PhaseRun {
  readonly variant: Variant;
  readonly client: "a" | "b";
  readonly clientName: string;
  readonly round: number;
  readonly perSec: number;
  /** This process's CPU time (user + system, all threads) during the phase ÷ N: the client's cost per record. */
  readonly cpuUsPerRecord: number;
  /** Growth of the output topic's end offsets during the phase (for tx variants this includes commit markers). */
  readonly outputGrowth: number;
  /** Consumer group lag over the raw topics after the phase (pipes only): 0 means every offset was committed. */
  readonly lagAfter?: number;
}

async function preload(kafka: Kafka): Promise<{ ms: number; meanValueBytes: number }> {
  const t0 = performance.now();
  await preloadEvents({ config, log, kafka, events: N, seed: SEED });
  // The producer-only bench sends values of the raw events' mean size: look at a sample of the raw records.
  const admin = kafka.admin();
  await admin.connect();
  let bytes = 0;
  let count = 0;
  const sampler = kafka.consumer({ groupId: `${config.router.groupId}-sample`, maxWaitTimeInMs: 50 });
  try {
    await sampler.connect();
    await sampler.subscribe({ topics: RAW, fromBeginning: true });
    await sampler.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          bytes += m.value?.length ?? 0;
          count++;
        }
      },
    });
    const until = Date.now() + 15_000;
    while (count < Math.min(N, 5000) && Date.now() < until) await sleep(50);
  } finally {
    await bounded("sampler disconnect", sampler.disconnect());
    await admin.deleteGroups([`${config.router.groupId}-sample`]).catch(() => undefined);
    await bounded("admin disconnect", admin.disconnect());
  }
  return { ms: performance.now() - t0, meanValueBytes: count > 0 ? Math.round(bytes / count) : 400 };
}

/** Deterministic pre-encoded records: parcel-like keys, values of the raw events' mean size, event ids. */
function plainRecords(n: number, valueBytes: number): PlainRecord[] {
  let x = SEED >>> 0 || 1;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const out: PlainRecord[] = [];
  for (let i = 0; i < n; i++) {
    const value = Buffer.allocUnsafe(valueBytes);
    for (let j = 0; j < valueBytes; j += 4) value.writeUInt32LE(next(), Math.min(j, valueBytes - 4));
    out.push({ key: Buffer.from(`PX${String(Math.floor(i / 10)).padStart(10, "0")}`), value, eventId: eventIdFor(0, String(i)) });
  }
  return out;
}


interface SideSummary {
  readonly medianPerSec: number;
  readonly bestPerSec: number;
  readonly runs: number;
  readonly startupMs: number;
  /** Median over rounds of the process's CPU µs per input record. */
  readonly cpuUsPerRecord: number;
  /** Records per produce call (per transaction in the tx variants), over all rounds. */
  readonly meanBatch: number;
}

interface VariantSummary {
  readonly variant: Variant;
  readonly a?: SideSummary;
  readonly b?: SideSummary;
  /** B ÷ A, medians; above 1 means @platformatic/kafka is faster. */
  readonly ratioBtoA?: number;
  /** B ÷ A per round (same round, adjacent phases). */
  readonly ratioPerRound?: number[];
}

const VARIANT_LABEL: Record<Variant, string> = {
  pipe: "pipe (consume → idempotent produce, +3 headers)",
  tx: "router's pipe-tx (router kafka-client: one transaction per input batch, offsets inside)",
  produce: `producer only (batches of ${BATCH}, +3 headers)`,
};

function summarize(phases: PhaseResult[]): VariantSummary[] {
  const out: VariantSummary[] = [];
  for (const variant of VARIANTS) {
    const side = (c: "a" | "b") => {
      const rs = phases.filter((p) => p.variant === variant && p.client === c);
      if (rs.length === 0) return undefined;
      return {
        medianPerSec: median(rs.map((r) => r.perSec)),
        bestPerSec: Math.max(...rs.map((r) => r.perSec)),
        runs: rs.length,
        startupMs: median(rs.map((r) => r.firstMs)),
        cpuUsPerRecord: median(rs.map((r) => r.cpuUsPerRecord)),
        meanBatch: rs.reduce((n, r) => n + r.records, 0) / Math.max(1, rs.reduce((n, r) => n + r.batches, 0)),
      };
    };
    const a = side("a");
    const b = side("b");
    const perRound: number[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const pa = phases.find((p) => p.variant === variant && p.client === "a" && p.round === r);
      const pb = phases.find((p) => p.variant === variant && p.client === "b" && p.round === r);
      if (pa && pb) perRound.push(pb.perSec / pa.perSec);
    }
    out.push({ variant, ...(a ? { a } : {}), ...(b ? { b } : {}), ...(a && b ? { ratioBtoA: b.medianPerSec / a.medianPerSec, ratioPerRound: perRound } : {}) });
  }
  return out;
}

interface RunRecord {
  readonly benchmark: "clients";
  readonly events: number;
  readonly rounds: number;
  readonly partitions: number;
  readonly batch: number;
  readonly seed: number;
  readonly startedAt: string;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly memGiB: number; readonly node: string };
  readonly clients: { readonly a: string; readonly b: string };
  readonly topicPrefix: string;
  readonly preload: { readonly ms: number; readonly meanValueBytes: number };
  readonly summary: VariantSummary[];
  readonly phases: PhaseResult[];
}

function table(r: RunRecord): string {
  const rows = [
    "| variant | A kafkajs records/s | B @platformatic/kafka records/s | **ratio B/A** | per-round B/A | A best | B best | CPU µs/record A / B | start-up A / B | records per produce call A / B |",
    "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const s of r.summary) {
    const cell = (x?: { medianPerSec: number }) => (x ? fmt(x.medianPerSec) : "–");
    rows.push(
      `| ${VARIANT_LABEL[s.variant]} | ${cell(s.a)} | ${cell(s.b)} | **${s.ratioBtoA !== undefined ? s.ratioBtoA.toFixed(2) : "–"}** | ${(s.ratioPerRound ?? []).map((x) => x.toFixed(2)).join(", ")} | ${s.a ? fmt(s.a.bestPerSec) : "–"} | ${s.b ? fmt(s.b.bestPerSec) : "–"} | ${s.a ? fmt(s.a.cpuUsPerRecord, 1) : "–"} / ${s.b ? fmt(s.b.cpuUsPerRecord, 1) : "–"} | ${s.a ? fmt(s.a.startupMs / 1000, 2) : "–"} / ${s.b ? fmt(s.b.startupMs / 1000, 2) : "–"} s | ${s.a ? fmt(s.a.meanBatch) : "–"} / ${s.b ? fmt(s.b.meanBatch) : "–"} |`,
    );
  }
  const checks = r.phases
    .filter((p) => p.lagAfter !== undefined && p.lagAfter !== 0)
    .map((p) => `${p.variant}/${p.client} r${p.round} lag ${p.lagAfter}`);
  return [
    `### ${fmt(r.events)} events, ${r.rounds} round(s), ${r.partitions} partitions per topic`,
    "",
    `Run ${r.startedAt} on ${r.machine.cpus} cores (${r.machine.cpuModel}), Node ${r.machine.node}; A = ${r.clients.a}, B = ${r.clients.b}. ` +
      `Records/s = input records fully handled ÷ wall time (start-up included), medians over rounds; raw values average ${r.preload.meanValueBytes} bytes.`,
    "",
    ...rows,
    "",
    checks.length === 0 ? "Every pipe phase left its consumer group with zero lag (all offsets committed)." : `**Lag left after phases:** ${checks.join("; ")}.`,
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  console.log(`clients: ${fmt(N)} events, ${ROUNDS} round(s), variants ${VARIANTS.join(",")}, prefix ${config.topicPrefix}, brokers ${config.kafka.brokers.join(",")}`);
  const kafka = createKafka(config, log);
  const admin = kafka.admin();
  await admin.connect();
  const outTopics = VARIANTS.flatMap((v) => [OUT("a", v), OUT("b", v)]);
  const groups: string[] = [];
  let exitCode = 0;
  try {
    await ensureTopics(admin, config, [...RAW, ...outTopics].map((topic) => ({ topic })));
    const pre = await preload(kafka);
    const onRaw = await endOffsetsTotal(admin, RAW);
    if (onRaw !== N) throw new Error(`expected ${N} records on the raw topics after pre-loading, found ${onRaw}`);
    console.log(`pre-loaded ${fmt(N)} events in ${fmt(pre.ms / 1000, 1)} s; raw values average ${pre.meanValueBytes} bytes`);
    const records = VARIANTS.includes("produce") ? plainRecords(N, pre.meanValueBytes) : [];

    const clients = { a: kafkajsClient(kafka), b: platformaticClient() };
    const phases: PhaseResult[] = [];
    const startedAt = new Date().toISOString();
    for (let round = 1; round <= ROUNDS; round++) {
      const order: ("a" | "b")[] = round % 2 === 1 ? ["a", "b"] : ["b", "a"];
      for (const variant of VARIANTS) {
        for (const c of order) {
          const client = clients[c];
          const label = `${variant} ${c.toUpperCase()} r${round}`;
          const out = OUT(c, variant);
          const groupId = `${config.router.groupId}-${variant}-${c}-r${round}`;
          console.log(`round ${round}/${ROUNDS}: ${variant} with ${client.name}`);
          const before = await endOffsetsTotal(admin, [out]);
          const cpu0 = process.cpuUsage();
          let run: PhaseRun;
          if (variant === "produce") run = await client.produce(records, out, label);
          else {
            groups.push(groupId);
            run = variant === "pipe" ? await client.pipe(groupId, out, label) : await routerTx(c === "a" ? "kafkajs" : "platformatic", kafka, groupId, out, label);
          }
          const cpu = process.cpuUsage(cpu0);
          const outputGrowth = (await endOffsetsTotal(admin, [out])) - before;
          let lagAfter: number | undefined;
          if (variant !== "produce") {
            // Offsets sent in a transaction are visible once the commit markers are written: allow a moment.
            for (let i = 0; i < 50; i++) {
              lagAfter = await groupLag(admin, groupId, RAW);
              if (lagAfter === 0) break;
              await sleep(100);
            }
          }
          const r: PhaseResult = { ...run, variant, client: c, clientName: client.name, round, perSec: (N * 1000) / run.wallMs, cpuUsPerRecord: (cpu.user + cpu.system) / N, outputGrowth, ...(lagAfter !== undefined ? { lagAfter } : {}) };
          phases.push(r);
          console.log(`  → ${client.name}: ${fmt(r.perSec)} records/s, ${r.cpuUsPerRecord.toFixed(1)} CPU µs/record, wall ${(r.wallMs / 1000).toFixed(2)} s, start-up ${(r.firstMs / 1000).toFixed(2)} s, ${fmt(r.records / Math.max(1, r.batches))} records per produce call, output +${fmt(outputGrowth)}${lagAfter !== undefined ? `, lag after ${lagAfter}` : ""}`);
          await sleep(1000); // let the broker settle between phases
        }
      }
    }
    const run: RunRecord = {
      benchmark: "clients",
      events: N,
      rounds: ROUNDS,
      partitions: PARTITIONS,
      batch: BATCH,
      seed: SEED,
      startedAt,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? "unknown", memGiB: Math.round(totalmem() / 2 ** 30), node: process.versions.node },
      clients: { a: "kafkajs 2.2.4", b: "@platformatic/kafka 1.35.0" },
      topicPrefix: config.topicPrefix,
      preload: pre,
      summary: summarize(phases),
      phases,
    };
    const md = table(run);
    console.log(`\n${md}`);
    if (!args["no-results"]) {
      writeResults("clients", JSON.parse(JSON.stringify(run, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))) as Record<string, unknown>, ["# Kafka clients: kafkajs vs @platformatic/kafka", "", "Generated by `npm run bench:clients` (load-tests/clients.ts); see load-tests/README.md for how to read it.", "", md].join("\n"));
    }
  } catch (err) {
    console.error("benchmark failed:", inspect(err, { depth: 8 }));
    exitCode = 1;
  } finally {
    if (!args["keep-topics"]) {
      const existing = new Set(await admin.listTopics().catch(() => [] as string[]));
      const mine = [...RAW, ...outTopics].filter((t) => existing.has(t) && t.startsWith(`${config.topicPrefix}.`));
      await admin.deleteTopics({ topics: mine, timeout: 30_000 }).catch((err: unknown) => log.warn({ err }, "could not delete the benchmark topics"));
      await admin.deleteGroups(groups).catch(() => undefined);
      console.log(`deleted ${mine.length} benchmark topics (pass --keep-topics to keep them)`);
    }
    await bounded("admin disconnect", admin.disconnect());
  }
  process.exitCode = exitCode;
}

// Whatever happens, the process ends within every phase's budget plus margin.
runBenchmark("bench:clients", main, PHASE_TIMEOUT_MS * (ROUNDS * 2 * Math.max(1, VARIANTS.length) + 2) + 120_000);
