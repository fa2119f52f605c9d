/**
 * The benchmarks' kit: option checks, waiting, Kafka lag and offsets, statistics, result files and the way a
 * benchmark process runs and ends. Every load-test command uses these; none carries its own copy.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Admin, Kafka } from "kafkajs";
import { PartyPublisher } from "@parcel-exchange/sdk";
import { createKafka, deleteTopicsWithPrefix, ensureTopics, ingressTopicsOf, registerEventSchemas, topics, type Config, type Logger } from "@parcel-exchange/shared";
import { generateLoad, PARTY_KINDS, PUBLISHERS } from "./generate.js";

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "results");

// ---------------------------------------------------------------------------------------------- options

/** A whole-number option; a bad value stops the command with exit code 2 and names the option. */
export function wholeNumber(name: string, v: string | undefined, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}, got '${v}'`);
    process.exit(2);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------- time

export const sleep = (ms: number): Promise<void> => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `done` every `everyMs`, prints `progress()` every second, fails after `timeoutMs`. */
export async function waitFor(label: string, done: () => boolean | Promise<boolean>, progress: () => string | Promise<string>, timeoutMs: number, everyMs = 50): Promise<void> {
  const start = Date.now();
  let nextPrint = start + 1000;
  for (;;) {
    if (await done()) return;
    const now = Date.now();
    if (now - start > timeoutMs) throw new Error(`${label}: not finished after ${timeoutMs / 1000} s (${await progress()})`);
    if (now >= nextPrint) {
      console.log(`  [${label}] ${((now - start) / 1000).toFixed(0).padStart(4)} s  ${await progress()}`);
      nextPrint += 1000;
    }
    await sleep(everyMs);
  }
}

/** Bounds a clean-up step: a client that hangs on close must not hang the run (a failure is only reported). */
export async function bounded(what: string, p: Promise<unknown>, ms = 15_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise((_, no) => (timer = setTimeout(() => no(new Error(`${what}: no answer after ${ms} ms`)), ms)))]);
  } catch (err) {
    console.error(`${what} failed: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a benchmark's main: a hard stop ends the process after `limitMs` whatever happens (exit 3); a failure
 * exits 1; otherwise the exit code main set. Stray timers of the clients do not keep the process alive.
 */
export function runBenchmark(name: string, main: () => Promise<void>, limitMs: number): void {
  const hardStop = setTimeout(() => {
    console.error(`${name}: overall time limit of ${Math.round(limitMs / 1000)} s reached; exiting`);
    process.exit(3);
  }, limitMs);
  hardStop.unref();
  main()
    .catch((err: unknown) => {
      console.error(`${name}: fatal`, err);
      process.exitCode = 1;
    })
    .finally(() => {
      setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref();
    });
}

// ---------------------------------------------------------------------------------------------- Kafka

/** Records in the topics (end − start offsets, summed over partitions). */
export async function endOffsetsTotal(admin: Admin, topicList: readonly string[]): Promise<number> {
  let total = 0;
  for (const topic of topicList) {
    for (const p of await admin.fetchTopicOffsets(topic)) total += Number(p.high) - Number(p.low);
  }
  return total;
}

/** Sum over partitions of (topic end offset − committed offset of the group): 0 once the group is caught up. */
export async function groupLag(admin: Admin, groupId: string, topicList: readonly string[]): Promise<number> {
  const committed = await admin.fetchOffsets({ groupId, topics: [...topicList] });
  let lag = 0;
  for (const topic of topicList) {
    const c = committed.find((x) => x.topic === topic)?.partitions ?? [];
    for (const p of await admin.fetchTopicOffsets(topic)) {
      const o = Number(c.find((x) => x.partition === p.partition)?.offset ?? "-1");
      lag += Number(p.high) - Math.max(o, Number(p.low));
    }
  }
  return lag;
}

/** The publishing parties' ingress topics under the run's prefix. */
export const ingressTopics = (config: Config): string[] => ingressTopicsOf(config.topicPrefix, PARTY_KINDS);

/**
 * The exchange's part for the run's own prefix, done with the benchmark's (admin) rights: the event schemas
 * registered and the publishing parties' ingress topics created, so that their publishers can connect.
 */
export async function provisionIngress(config: Config, kafka: Kafka): Promise<string[]> {
  await registerEventSchemas(config, topics(config.topicPrefix));
  const names = ingressTopics(config);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, config, names.map((topic) => ({ topic })));
  } finally {
    await admin.disconnect();
  }
  return names;
}

/** Deletes the run's topics (everything under its prefix), so benchmark runs do not pile partitions up. */
export async function deleteRunTopics(config: Config, log: Logger): Promise<void> {
  const gone = await deleteTopicsWithPrefix(createKafka(config, log), `${config.topicPrefix}.`);
  console.log(`deleted ${gone.length} benchmark topics under ${config.topicPrefix}.`);
}

/** A prom-client counter's total, and per value of one label. */
export async function counterTotal(c: { get(): Promise<{ values: { value: number; labels: Record<string, string | number> }[] }> }, by?: string): Promise<{ total: number; by: Record<string, number> }> {
  const { values } = await c.get();
  const out: Record<string, number> = {};
  let total = 0;
  for (const v of values) {
    total += v.value;
    if (by !== undefined) {
      const k = String(v.labels[by]);
      out[k] = (out[k] ?? 0) + v.value;
    }
  }
  return { total, by: out };
}

/**
 * Generates `events` events (seeded) and publishes them once with every publishing party's SDK publisher (each
 * party its own events), in chunks, all parties at a time: the input a benchmark then reads from offset 0 (not
 * timed as part of it). Provisions the parties' ingress first.
 */
export async function preloadEvents(o: { config: Config; log: Logger; kafka: Kafka; events: number; seed: number; chunk?: number }): Promise<{ ms: number; byParty: Record<string, number> }> {
  const chunk = o.chunk ?? 1000;
  const t0 = performance.now();
  const load = generateLoad({ events: o.events, seed: o.seed });
  console.log(`generated ${fmt(load.total)} events in ${fmt(load.parcels)} parcels (${fmt(performance.now() - t0)} ms)`);
  const byParty: Record<string, number> = {};
  await provisionIngress(o.config, o.kafka);
  const publishers = await Promise.all(PUBLISHERS.map((party) => PartyPublisher.connect({ party, config: o.config, logger: o.log, kafka: o.kafka })));
  let sent = 0;
  const t1 = performance.now();
  const timer = setInterval(() => console.log(`  [preload] ${fmt(sent)}/${fmt(o.events)} published`), 1000);
  try {
    await Promise.all(
      publishers.map(async (pub) => {
        const list = load.byParty[pub.party as (typeof PUBLISHERS)[number]];
        byParty[pub.party] = list.length;
        for (let i = 0; i < list.length; i += chunk) {
          await pub.publishMany(list.slice(i, i + chunk));
          sent += Math.min(chunk, list.length - i);
        }
      }),
    );
  } finally {
    clearInterval(timer);
    await Promise.all(publishers.map((p) => bounded("publisher disconnect", p.disconnect())));
  }
  console.log(`pre-loaded ${fmt(sent)} events in ${fmt((performance.now() - t1) / 1000, 1)} s`);
  return { ms: performance.now() - t0, byParty };
}

// ---------------------------------------------------------------------------------------------- statistics

export const fmt = (n: number, digits = 0): string => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The q-quantile (nearest rank) of the values. */
export function quantile(xs: ArrayLike<number>, q: number): number {
  const s = Array.from(xs).sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

// ---------------------------------------------------------------------------------------------- results

/** The runs stored in results/<name>.json (empty when there is none or it cannot be read). */
export function readRuns<T>(name: string): T[] {
  const file = join(RESULTS_DIR, `${name}.json`);
  if (!existsSync(file)) return [];
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { runs?: T[] }).runs ?? [];
  } catch {
    return [];
  }
}

/** Writes results/<name>.json ({benchmark, runs, ...extra}) and results/<name>.md. */
export function writeResults(name: string, json: Record<string, unknown>, md: string): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify({ benchmark: name, ...json }, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, `${name}.md`), md.endsWith("\n") ? md : `${md}\n`);
  console.log(`results written to load-tests/results/${name}.{json,md}`);
}
