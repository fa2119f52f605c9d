/**
 * Benchmark (a): the router's compute alone, on one core. No Kafka, no registry, no Redis: raw records in
 * Confluent wire format are made up front from the seeded generator, then RouterCore.process runs over them in
 * batches (decode → decide → transform → encode), exactly as the router calls it per fetched batch.
 *
 *   npm run bench:compute -- [--events 200000] [--batch 500] [--iterations 5] [--warmup 1]
 *                            [--fanouts 1,3,5] [--cache on,off] [--off-events 4000] [--no-shipped]
 *                            [--label after] [--baseline REV] [--seed N] [--no-results]
 *
 * Fan-out is set by the policy data, not by chance: the benchmark's parties document adds five recipients
 * (bench-1 … bench-5) to the shipped five, and its contracts grant every publisher's events to the first k of
 * them (k − 1 for tracking and locker events, which the regulator floor already sends to the order's
 * marketplace). Every event therefore goes to exactly 1, 3 or 5 parties; the run checks this.
 *
 * The only external tool is the OPA CLI, to compile the real router policy to Wasm once
 * (~/.cache/parcel-exchange/bin/opa, or OPA_BIN). Results: stdout (markdown), and
 * load-tests/results/compute.{json,md}, which keep the latest run of each --label side by side.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { compileWasm, loadPolicyData, makeBundle } from "@parcel-exchange/policy-build";
import { PolicyEngine, SchemaCatalog, type SchemaSource } from "@parcel-exchange/decision";
import { ActivePolicy, RouterCore, type CoreSettings, type QuotaView, type RawRecord } from "@parcel-exchange/router";
import { avroTypeOf, prepareEvent } from "@parcel-exchange/sdk";
import { EVENT_TYPES, loadConfig, schemaJson, topics, type EventType, type PartyInfo, type PolicyData } from "@parcel-exchange/shared";
import { generateLoad, MARKETPLACES, publisherOf, PUBLISHERS } from "./generate.js";
import { fmt, median, readRuns, runBenchmark, wholeNumber, writeResults } from "./kit.js";

const HERE = dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------------- options

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "200000" },
    batch: { type: "string", default: "500" },
    iterations: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    fanouts: { type: "string", default: "1,3,5" },
    cache: { type: "string", default: "on,off" },
    "off-events": { type: "string", default: "4000" },
    "no-shipped": { type: "boolean", default: false },
    label: { type: "string", default: "latest" },
    baseline: { type: "string" },
    seed: { type: "string", default: "20240601" },
    "no-results": { type: "boolean", default: false },
  },
  strict: true,
});


const N = wholeNumber("events", args.events, 1, 5_000_000);
const BATCH = wholeNumber("batch", args.batch, 1, 100_000);
const ITERATIONS = wholeNumber("iterations", args.iterations, 1, 50);
const WARMUP = wholeNumber("warmup", args.warmup, 0, 10);
const OFF_EVENTS = Math.min(N, wholeNumber("off-events", args["off-events"], 1, 5_000_000));
const SEED = wholeNumber("seed", args.seed, 0, 2 ** 31);
const FANOUTS = (args.fanouts ?? "").split(",").filter(Boolean).map((x) => wholeNumber("fanouts", x, 1, 5));
const CACHE_MODES = (args.cache ?? "").split(",").filter(Boolean);
for (const c of CACHE_MODES) {
  if (c !== "on" && c !== "off") {
    console.error(`--cache takes on, off or on,off; got '${c}'`);
    process.exit(2);
  }
}
const SHIPPED = args["no-shipped"] !== true;
const LABEL = args.label ?? "latest";

// ---------------------------------------------------------------------------------------------- policy data

/** Extra recipients; each gets its own mix of transforms so that copies differ as they do in life. */
const BENCH_PARTIES: readonly { id: string; kind: PartyInfo["kind"]; classes: Record<string, string> }[] = [
  { id: "bench-1", kind: "marketplace", classes: { public: "keep", business: "keep", "pii.name": "mask", "pii.phone": "mask", "pii.address": "coarsen" } },
  { id: "bench-2", kind: "courier", classes: { public: "keep", business: "keep", "pii.phone": "token", "pii.address": "mask", "staff.pii": "mask" } },
  { id: "bench-3", kind: "locker", classes: { public: "keep", business: "keep" } },
  { id: "bench-4", kind: "courier", classes: { public: "keep", business: "keep", "pii.name": "mask", "pii.phone": "mask", "staff.pii": "mask" } },
  { id: "bench-5", kind: "marketplace", classes: { public: "keep", "pii.phone": "coarsen", "pii.address": "coarsen" } },
];

/**
 * Data for fan-out k: the shipped parties plus bench-1…5, and contracts granting each publisher's events to the
 * first k bench parties (k − 1 for tracking/locker events, whose marketplace the floor adds), scope "all".
 */
function fanoutData(base: PolicyData, k: number): PolicyData {
  const parties: Record<string, PartyInfo> = { ...base.parties };
  for (const p of BENCH_PARTIES) parties[p.id] = { kind: p.kind, name: `Benchmark recipient ${p.id}` };
  const contracts: Record<string, unknown> = {};
  for (const from of PUBLISHERS) {
    const marketplace = (MARKETPLACES as readonly string[]).includes(from);
    const events = marketplace ? ["OrderCreated"] : ["TrackingEvent", "LockerEvent"];
    const n = marketplace ? k : k - 1;
    for (const p of BENCH_PARTIES.slice(0, n)) {
      const id = `${from}--${p.id}`;
      contracts[id] = { id, parties: [from, p.id].sort(), notice_days: 0, grants: [{ from, to: p.id, events, scope: "all", classes: p.classes }] };
    }
  }
  return { ...base, parties, contracts };
}

// ---------------------------------------------------------------------------------------------- input

const SCHEMA_ID: Record<EventType, number> = { OrderCreated: 1, TrackingEvent: 2, LockerEvent: 3 };

class MemorySchemas implements SchemaSource {
  schemaById(id: number): Promise<unknown> {
    const t = EVENT_TYPES.find((x) => SCHEMA_ID[x] === id);
    return Promise.resolve(t === undefined ? undefined : schemaJson(t));
  }
}

/** Each event on its publisher's ingress topic under `prefix`, as the router reads it. */
function rawRecords(n: number, seed: number, prefix: string): RawRecord[] {
  const t = topics(prefix);
  const load = generateLoad({ events: n, seed });
  return load.all.map((e, i) => {
    const party = publisherOf(e);
    const event = prepareEvent(e.type, e.event as never, party);
    const body = avroTypeOf(e.type).toBuffer(event);
    const value = Buffer.allocUnsafe(5 + body.length);
    value[0] = 0;
    value.writeInt32BE(SCHEMA_ID[e.type], 1);
    body.copy(value, 5);
    return { topic: t.ingress(party, e.type), partition: 0, offset: String(i), timestamp: String(1_780_000_000_000 + i), key: Buffer.from(e.event.parcelId), value };
  });
}

// ---------------------------------------------------------------------------------------------- measuring

/** A plan cache that never keeps anything: every (record, recipient) runs the Wasm policy. */
class NoCache<K, V> extends Map<K, V> {
  override set(): this {
    return this;
  }
}

interface Row {
  /** "current" (the working tree) or "baseline" (--baseline REV); absent in results from older runs. */
  readonly variant?: string;
  readonly scenario: string;
  readonly fanout: number;
  readonly cache: "on" | "off";
  readonly events: number;
  readonly eventsPerSec: number;
  readonly outputPerSec: number;
  readonly bestEventsPerSec: number;
  readonly usPerEvent: number;
  readonly measuredFanout: number;
  readonly avgOutBytes: number;
  readonly iterations: number[];
}

const quotaOk = { sig: "", quota: {} } as const;
const QUOTA: QuotaView = { stateOf: () => quotaOk };


function runOnce(core: RouterCore, policy: ActivePolicy, records: readonly RawRecord[]): { seconds: number; out: number; outBytes: number; dead: number } {
  let out = 0;
  let outBytes = 0;
  let dead = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < records.length; i += BATCH) {
    const r = core.process(policy, records.slice(i, i + BATCH), QUOTA);
    // What the router does with a result besides producing it: drain the per-evaluation timings, as its
    // metrics step does.
    policy.evalSeconds.length = 0;
    for (const list of r.deliveries.values()) {
      out += list.length;
      for (const o of list) outBytes += o.value.length;
    }
    dead += r.deadLetters.length;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, out, outBytes, dead };
}

/** One implementation of the router core under test: the working tree's, or a baseline's from git. */
interface Variant {
  readonly name: string;
  readonly ActivePolicy: typeof ActivePolicy;
  readonly core: RouterCore;
}

/**
 * Measures one scenario for each variant. With two variants the timed iterations alternate between them
 * (ABAB…, the order flipping each round), so that both see the same machine load.
 */
async function measure(scenario: string, fanout: number, cache: "on" | "off", engine: PolicyEngine, variants: readonly Variant[], records: readonly RawRecord[]): Promise<Row[]> {
  const state = variants.map((v) => {
    // Cache off: the policy runs for every (record, recipient). The option is the router's own switch; the
    // never-storing map gives the same behaviour on code from before the option existed (the baseline).
    const policy = new v.ActivePolicy(engine, { cacheDecisions: cache === "on" });
    if (cache === "off") Object.defineProperty(policy, "plans", { value: new NoCache() });
    return { v, policy, rates: [] as number[], last: { seconds: 0, out: 0, outBytes: 0, dead: 0 } };
  });
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    const order = i % 2 === 0 ? state : [...state].reverse();
    for (const st of order) {
      if (global.gc) global.gc();
      await new Promise((r) => setImmediate(r));
      st.last = runOnce(st.v.core, st.policy, records);
      if (st.last.dead > 0) throw new Error(`${scenario} (${st.v.name}): ${st.last.dead} records were dead-lettered`);
      if (i >= WARMUP) st.rates.push(records.length / st.last.seconds);
    }
  }
  return state.map(({ v, rates, last }) => {
    const measuredFanout = last.out / records.length;
    if (fanout > 0 && measuredFanout !== fanout) throw new Error(`${scenario} (${v.name}): expected fan-out ${fanout}, measured ${measuredFanout}`);
    const eps = median(rates);
    const row: Row = {
      variant: v.name,
      scenario,
      fanout: measuredFanout,
      cache,
      events: records.length,
      eventsPerSec: eps,
      outputPerSec: eps * measuredFanout,
      bestEventsPerSec: Math.max(...rates),
      usPerEvent: 1e6 / eps,
      measuredFanout,
      avgOutBytes: last.out > 0 ? last.outBytes / last.out : 0,
      iterations: rates.map((x) => Math.round(x)),
    };
    console.log(`  ${v.name.padEnd(9)} ${scenario.padEnd(18)} cache ${cache.padEnd(3)}  ${fmt(row.eventsPerSec).padStart(9)} events/s  ${fmt(row.outputPerSec).padStart(9)} out/s  (iterations: ${row.iterations.map(fmt).join(", ")})`);
    return row;
  });
}

/**
 * The router core as it is at a git revision, for a side-by-side run: services/router/src of that revision (and
 * services/decision/src, where the revision has it) is extracted to a temporary directory next to links to this tree's services/shared and node_modules, and
 * imported from there.
 */
async function baselineVariant(rev: string, catalog: SchemaCatalog, settings: CoreSettings): Promise<Variant> {
  const dir = mkdtempSync(join(tmpdir(), "px-compute-baseline-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const repo = join(HERE, "..");
  const paths = ["services/router/src"];
  if (execFileSync("git", ["-C", repo, "ls-tree", "--name-only", rev, "services/decision/src"]).length > 0) paths.push("services/decision/src");
  const archive = execFileSync("git", ["-C", repo, "archive", rev, ...paths]);
  execFileSync("tar", ["-x", "-C", dir], { input: archive });
  symlinkSync(join(repo, "services", "shared"), join(dir, "services", "shared"));
  symlinkSync(join(repo, "node_modules"), join(dir, "node_modules"));
  const mod = (await import(pathToFileURL(join(dir, "services", "router", "src", "core.ts")).href)) as typeof import("../services/router/src/core.js");
  return { name: `baseline`, ActivePolicy: mod.ActivePolicy, core: new mod.RouterCore(catalog, settings) };
}


// ---------------------------------------------------------------------------------------------- results

interface Run {
  readonly label: string;
  readonly startedAt: string;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly memGiB: number; readonly node: string };
  readonly options: { readonly events: number; readonly offEvents: number; readonly batch: number; readonly iterations: number; readonly warmup: number; readonly seed: number };
  readonly input: { readonly avgRawBytes: number; readonly avgRawBytesByType: Record<string, number>; readonly shareByType: Record<string, number> };
  readonly rows: Row[];
}

function table(runs: readonly Run[]): string {
  // One column pair per (run label, variant); rows of runs made before variants existed count as "current".
  const variantOf = (row: Row): string => row.variant ?? "current";
  const cols: { run: Run; variant: string; title: string }[] = [];
  for (const run of runs) {
    const vs = [...new Set(run.rows.map(variantOf))];
    for (const variant of vs) cols.push({ run, variant, title: vs.length === 1 ? run.label : `${run.label}: ${variant}` });
  }
  const withBoth = [...runs].reverse().find((r) => r.rows.some((x) => variantOf(x) === "baseline") && r.rows.some((x) => variantOf(x) === "current"));
  const keys: string[] = [];
  for (const r of runs) for (const row of r.rows) if (!keys.includes(`${row.scenario}\u0000${row.cache}`)) keys.push(`${row.scenario}\u0000${row.cache}`);
  const head = `| scenario | cache | ${cols.map((c) => `${c.title} events/s | ${c.title} out records/s`).join(" | ")} |${withBoth ? ` current/baseline (${withBoth.label}) |` : ""}`;
  const sep = `| --- | --- | ${cols.map(() => "---: | ---:").join(" | ")} |${withBoth ? " ---: |" : ""}`;
  const lines = [head, sep];
  for (const k of keys) {
    const [scenario, cache] = k.split("\u0000") as [string, string];
    const find = (run: Run, variant: string) => run.rows.find((x) => x.scenario === scenario && x.cache === cache && variantOf(x) === variant);
    const cells = cols.map((c) => find(c.run, c.variant));
    let ratio = "";
    if (withBoth) {
      const b = find(withBoth, "baseline");
      const c = find(withBoth, "current");
      ratio = b && c ? ` ${(c.eventsPerSec / b.eventsPerSec).toFixed(2)}× |` : " – |";
    }
    lines.push(`| ${scenario} | ${cache} | ${cells.map((c) => (c ? `${fmt(c.eventsPerSec)} | ${fmt(c.outputPerSec)}` : "– | –")).join(" | ")} |${ratio}`);
  }
  return lines.join("\n");
}

function saveResults(run: Run): void {
  const runs = [...readRuns<Run>("compute").filter((r) => r.label !== run.label), run];
  // "before" first, then the others in the order they were first written.
  runs.sort((a, b) => (a.label === "before" ? -1 : b.label === "before" ? 1 : 0));
  const md = [
    "# Router compute per core",
    "",
    "Generated by `npm run bench:compute` (load-tests/compute.ts); see load-tests/README.md. One thread,",
    "RouterCore.process over pre-encoded records, medians over iterations. The latest run of each label is kept.",
    "",
    ...runs.map((r) => `- **${r.label}**: ${r.startedAt}, ${r.machine.cpus} cores (${r.machine.cpuModel}), Node ${r.machine.node}; ${fmt(r.options.events)} events (cache off: ${fmt(r.options.offEvents)}), batches of ${r.options.batch}, ${r.options.warmup} warm-up + ${r.options.iterations} iterations`),
    "",
    table(runs),
    "",
    "Input (from the generator): " +
      (runs.at(-1)
        ? `average raw record ${runs.at(-1)!.input.avgRawBytes.toFixed(0)} bytes (${Object.entries(runs.at(-1)!.input.avgRawBytesByType)
            .map(([t, b]) => `${t} ${b.toFixed(0)} B, ${(100 * runs.at(-1)!.input.shareByType[t]!).toFixed(1)}%`)
            .join("; ")}).`
        : ""),
    "",
    "Average output record size by scenario (latest run): " +
      (runs.at(-1)?.rows.filter((r) => r.cache === "on" && (r.variant ?? "current") === "current").map((r) => `${r.scenario} ${r.avgOutBytes.toFixed(0)} B`).join(", ") ?? ""),
    "",
  ].join("\n");
  writeResults("compute", { runs }, md);
}

// ---------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, PX_LOG_LEVEL: "warn" });
  const t0 = Date.now();
  const [wasm, base] = await Promise.all([compileWasm(config.opaBin), loadPolicyData()]);
  console.log(`policy compiled in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const records = rawRecords(N, SEED, config.topicPrefix);
  const ingress = topics(config.topicPrefix);
  const byType: Record<string, { n: number; bytes: number }> = {};
  for (const r of records) {
    const t = ingress.parseIngress(r.topic)!.type;
    const s = (byType[t] ??= { n: 0, bytes: 0 });
    s.n++;
    s.bytes += r.value!.length;
  }
  const input = {
    avgRawBytes: records.reduce((a, r) => a + r.value!.length, 0) / records.length,
    avgRawBytesByType: Object.fromEntries(Object.entries(byType).map(([t, s]) => [t, s.bytes / s.n])),
    shareByType: Object.fromEntries(Object.entries(byType).map(([t, s]) => [t, s.n / records.length])),
  };
  console.log(`${fmt(records.length)} raw records, average ${input.avgRawBytes.toFixed(0)} bytes`);

  const catalog = new SchemaCatalog(new MemorySchemas());
  await catalog.prefetch(Object.values(SCHEMA_ID));
  const settings: CoreSettings = { masks: config.masks, tokenKey: config.router.tokenKey, maxRecordBytes: config.router.maxRecordBytes, topicPrefix: config.topicPrefix };
  const variants: Variant[] = [];
  if (args.baseline !== undefined) variants.push(await baselineVariant(args.baseline, catalog, settings));
  variants.push({ name: "current", ActivePolicy, core: new RouterCore(catalog, settings) });
  const offRecords = records.slice(0, OFF_EVENTS);

  const rows: Row[] = [];
  const scenarios: { name: string; fanout: number; data: PolicyData }[] = FANOUTS.map((k) => ({ name: `fan-out ${k}`, fanout: k, data: fanoutData(base, k) }));
  if (SHIPPED) scenarios.push({ name: "shipped contracts", fanout: 0, data: base });
  for (const s of scenarios) {
    const engine = await PolicyEngine.load(makeBundle(wasm, s.data, "bench"), 10_000);
    for (const cache of CACHE_MODES as ("on" | "off")[]) {
      rows.push(...(await measure(s.name, s.fanout, cache, engine, variants, cache === "on" ? records : offRecords)));
    }
  }

  const run: Run = {
    label: LABEL,
    startedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? "unknown", memGiB: Math.round(totalmem() / 2 ** 30), node: process.versions.node },
    options: { events: N, offEvents: OFF_EVENTS, batch: BATCH, iterations: ITERATIONS, warmup: WARMUP, seed: SEED },
    input,
    rows,
  };
  console.log("");
  console.log(table([run]));
  if (!args["no-results"]) saveResults(run);
}

runBenchmark("bench:compute", main, 60 * 60_000);
