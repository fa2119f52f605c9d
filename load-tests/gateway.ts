/**
 * Benchmark: the HTTP gateway against the SDK and a plain Kafka consumer, side by side in one run.
 *
 *   npm run -s bench:gateway -- [--events 20000] [--rounds 3] [--batch 100] [--concurrency 8] [--partitions 6]
 *                               [--only ingest|webhooks|latency] [--latency-rate 200] [--latency-duration-s 10]
 *                               [--latency-batch 1] [--verify-every 20] [--phase-timeout-s 300]
 *                               [--keep-topics] [--no-results]
 *
 * 1. Ingest: N TrackingEvents of sf-express (taobao orders) published (a) with the SDK's PartyPublisher.publishMany
 *    and (b) POSTed to the gateway's /v1/events with sf-express's API key and an Idempotency-Key per request,
 *    both in batches of --batch with --concurrency calls in flight; alternated a b / b a per round.
 * 2. Webhooks: a backlog of N deliveries on px.deliver.taobao (published with the SDK, routed by the router, not
 *    timed) delivered (a) by the gateway to a taobao webhook endpoint and (b) by a plain kafkajs consumer that
 *    POSTs each record's bytes (no decoding, no signing) to the same receiver, one record at a time per
 *    partition like the gateway; and, for reference, (c) read and decoded by the SDK's DeliverySubscriber
 *    (no HTTP at all).
 * 3. Latency: events POSTed at --latency-rate for --latency-duration-s; from each 202 to the receiver getting
 *    the webhook (matched by data.eventId).
 *
 * The system under test (policy service, router, gateway, SDK publisher, plain consumer) runs in this process;
 * the HTTP load client and the webhook receiver (node:http on 127.0.0.1, answering 204, verifying a sample of
 * signatures with `standardwebhooks`) run in a child process of this same file, so process.cpuUsage() of this
 * process is the cost of the thing measured, not of its client. "Per core" = items ÷ CPU seconds of this process.
 *
 * Config: the environment (`eval "$(bash infra/local/stack.sh env)"` for the local stack's admin), a fresh topic
 * prefix per run (testConfig from test/helpers.ts), whose topics and groups are deleted at the end.
 * Results: stdout (Markdown) and load-tests/results/gateway.{json,md} (latest run per event count).
 */
import { fork, type ChildProcess } from "node:child_process";
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Consumer, Kafka } from "kafkajs";
import { Webhook } from "standardwebhooks";
import { DeliverySubscriber, PartyPublisher } from "@parcel-exchange/sdk";
import { createKafka, createLogger, HEADERS, ownGroup, topics as topicsOf, type Config, type Logger } from "@parcel-exchange/shared";
import { startGateway, type RunningGateway } from "@parcel-exchange/gateway";
import { startPolicyService, startRouter, type RunningPolicyService, type RunningRouter } from "../test/harness.js";
import { testConfig } from "../test/helpers.js";
import { chunks, cpuSeconds, dueEvents, latencySummary, markdownTable, median, perCpuSecond, perSecond, ratio, trackingEvents, type LatencySummary } from "./gateway-stats.js";
import { bounded, counterTotal, deleteRunTopics, fmt, provisionIngress, readRuns, runBenchmark, sleep, waitFor, wholeNumber, writeResults } from "./kit.js";

const ROLE_ENV = "PX_GW_BENCH_ROLE";
const KEYS = { sf: "px-dev-key-sf-express", taobao: "px-dev-key-taobao" } as const;

// ================================================================================================ the driver
// The child process: HTTP load client and webhook receiver. It talks to the parent over IPC.

type ToDriver =
  | { op: "listen"; rid: number }
  | { op: "secret"; rid: number; secret: string; verifyEvery: number }
  | { op: "expect"; rid: number; path: "hook" | "plain"; tag: string; n: number }
  | { op: "post"; rid: number; url: string; key: string; tag: string; n: number; batch: number; concurrency: number }
  | { op: "latency"; rid: number; url: string; key: string; tag: string; rate: number; durationMs: number; batch: number; settleMs: number }
  | { op: "stats"; rid: number };

type FromDriver =
  | { op: "reply"; rid: number; body: any }
  | { op: "first"; tag: string }
  | { op: "progress"; tag: string; count: number }
  | { op: "done"; tag: string; count: number; firstToLastMs: number };

interface PostResult {
  readonly ms: number;
  readonly cpuSec: number;
  readonly accepted: number;
  readonly statuses: Record<string, number>;
  readonly replayed: number;
  readonly firstError?: string;
}

function runDriver(): void {
  const send = (m: FromDriver): void => void process.send!(m);
  process.on("disconnect", () => process.exit(0)); // the parent is gone: so are we
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  let secret = "";
  let verifyEvery = 20;
  let hooks = 0;
  const stats = { hook: 0, plain: 0, verified: 0, verifyFailures: 0, firstVerifyFailure: "", other: 0 };
  /** Counting deliveries of one tag (one phase at a time). */
  let watch: { path: "hook" | "plain"; tag: string; n: number; count: number; firstAt: number; lastPrint: number; seen: Set<string> } | undefined;
  /** Arrival times of the latency phase's events, by event id. */
  let arrivals: Map<string, number> | undefined;
  let arrivalTag = "";

  const onDelivery = (path: "hook" | "plain", eventId: string | undefined): void => {
    const now = performance.now();
    if (eventId === undefined) return;
    if (arrivals !== undefined && eventId.startsWith(arrivalTag) && !arrivals.has(eventId)) arrivals.set(eventId, now);
    const w = watch;
    if (w === undefined || w.path !== path || !eventId.startsWith(w.tag) || w.seen.has(eventId)) return;
    w.seen.add(eventId);
    w.count++;
    if (w.count === 1) {
      w.firstAt = now;
      w.lastPrint = now;
      send({ op: "first", tag: w.tag });
    }
    if (w.count >= w.n) {
      send({ op: "done", tag: w.tag, count: w.count, firstToLastMs: now - w.firstAt });
      watch = undefined;
    } else if (now - w.lastPrint >= 1000) {
      w.lastPrint = now;
      send({ op: "progress", tag: w.tag, count: w.count });
    }
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      res.writeHead(204).end();
      const path = req.url?.startsWith("/hook") ? "hook" : req.url?.startsWith("/plain") ? "plain" : undefined;
      if (path === undefined) {
        stats.other++;
        return;
      }
      stats[path]++;
      if (path === "plain") {
        const h = req.headers["x-event-id"];
        onDelivery("plain", Array.isArray(h) ? h[0] : h);
        return;
      }
      const body = Buffer.concat(parts).toString("utf8");
      if (hooks++ % verifyEvery === 0) {
        try {
          new Webhook(secret).verify(body, req.headers as Record<string, string>);
          stats.verified++;
        } catch (err) {
          stats.verifyFailures++;
          stats.firstVerifyFailure ||= (err as Error).message;
        }
      }
      let id: string | undefined;
      try {
        id = (JSON.parse(body) as { data?: { eventId?: string } }).data?.eventId;
      } catch {
        stats.other++;
      }
      onDelivery("hook", id);
    });
  });

  const post = (url: string, key: string, body: string, idem: string): Promise<{ status: number; text: string }> =>
    new Promise((resolve) => {
      const r = request(url, { method: "POST", agent, headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "content-length": Buffer.byteLength(body), "idempotency-key": idem } }, (res) => {
        const got: Buffer[] = [];
        res.on("data", (c: Buffer) => got.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(got).toString("utf8") }));
        res.on("error", (err) => resolve({ status: 0, text: err.message }));
      });
      r.on("error", (err) => resolve({ status: 0, text: err.message }));
      r.end(body);
    });

  /** POSTs n events in batches, `concurrency` requests in flight; each request with its own Idempotency-Key. */
  async function postAll(m: Extract<ToDriver, { op: "post" }>): Promise<PostResult> {
    const bodies = chunks(trackingEvents(m.n, m.tag), m.batch).map((events) => JSON.stringify({ events }));
    const statuses: Record<string, number> = {};
    let accepted = 0;
    let replayed = 0;
    let firstError: string | undefined;
    let next = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: Math.min(m.concurrency, bodies.length) }, async () => {
        while (next < bodies.length) {
          const i = next++;
          const r = await post(m.url, m.key, bodies[i]!, `${m.tag}-b${i}`);
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          if (r.status === 202) {
            const b = JSON.parse(r.text) as { eventIds: string[]; replayed: boolean };
            accepted += b.eventIds.length;
            if (b.replayed) replayed++;
          } else firstError ??= `${r.status} ${r.text.slice(0, 300)}`;
        }
      }),
    );
    return { ms: performance.now() - t0, cpuSec: cpuSeconds(cpu0, process.cpuUsage()), accepted, statuses, replayed, ...(firstError ? { firstError } : {}) };
  }

  /** Open-loop: requests sent on schedule whatever the answers; latency from each 202 to its webhook. */
  async function latency(m: Extract<ToDriver, { op: "latency" }>) {
    const total = Math.round((m.rate * m.durationMs) / 1000);
    const events = trackingEvents(total, m.tag);
    const acked = new Map<string, number>();
    const requestMs: number[] = [];
    arrivals = new Map();
    arrivalTag = `${m.tag}-`;
    const statuses: Record<string, number> = {};
    const inFlight = new Set<Promise<void>>();
    let maxInFlight = 0;
    let sent = 0;
    let seq = 0;
    const t0 = performance.now();
    while (sent < total) {
      const due = dueEvents(m.rate, performance.now() - t0, total);
      while (sent < due) {
        const slice = events.slice(sent, sent + m.batch);
        sent += slice.length;
        const sentAt = performance.now();
        const p = post(m.url, m.key, JSON.stringify({ events: slice }), `${m.tag}-b${seq++}`).then((r) => {
          const at = performance.now();
          requestMs.push(at - sentAt);
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          if (r.status === 202) for (const e of slice) acked.set(e.event.eventId!, at);
          inFlight.delete(p);
        });
        inFlight.add(p);
        maxInFlight = Math.max(maxInFlight, inFlight.size);
      }
      await sleep(2);
    }
    const sendMs = performance.now() - t0;
    await Promise.all(inFlight);
    const deadline = performance.now() + m.settleMs;
    while (arrivals.size < acked.size && performance.now() < deadline) await sleep(20);
    const ms: number[] = [];
    let early = 0;
    for (const [id, a] of acked) {
      const r = arrivals.get(id);
      if (r === undefined) continue;
      if (r < a) early++;
      ms.push(r - a);
    }
    const got = arrivals.size;
    arrivals = undefined;
    return { sent, acked: acked.size, received: got, achievedRate: perSecond(sent, sendMs), statuses, maxInFlight, early, summary: latencySummary(ms), request: latencySummary(requestMs) };
  }

  process.on("message", (raw: ToDriver) => {
    const reply = (body: unknown) => send({ op: "reply", rid: raw.rid, body });
    switch (raw.op) {
      case "listen":
        server.keepAliveTimeout = 60_000;
        server.listen(0, "127.0.0.1", () => reply({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
        return;
      case "secret":
        secret = raw.secret;
        verifyEvery = raw.verifyEvery;
        hooks = 0;
        reply({});
        return;
      case "expect":
        watch = { path: raw.path, tag: `${raw.tag}-`, n: raw.n, count: 0, firstAt: 0, lastPrint: 0, seen: new Set() };
        reply({});
        return;
      case "post":
        void postAll(raw).then(reply);
        return;
      case "latency":
        void latency(raw).then(reply);
        return;
      case "stats":
        reply({ ...stats, cpuSec: cpuSeconds({ user: 0, system: 0 }, process.cpuUsage()) });
        return;
    }
  });
}

/** The parent's end of the driver: requests with replies, and the delivery events it reports. */
class Driver {
  private rid = 0;
  private readonly pending = new Map<number, (body: any) => void>();
  private listeners: ((m: FromDriver) => void)[] = [];
  url = "";

  private constructor(readonly child: ChildProcess) {
    child.on("message", (m: FromDriver) => {
      if (m.op === "reply") {
        this.pending.get(m.rid)?.(m.body);
        this.pending.delete(m.rid);
      } else for (const l of this.listeners) l(m);
    });
  }

  static async start(): Promise<Driver> {
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, [ROLE_ENV]: "driver" }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const d = new Driver(child);
    d.url = ((await d.ask({ op: "listen" })) as { url: string }).url;
    return d;
  }

  ask<T = any>(m: DistributiveOmit<ToDriver, "rid">): Promise<T> {
    const rid = ++this.rid;
    return new Promise<T>((resolve, reject) => {
      if (this.child.exitCode !== null) return reject(new Error(`the driver exited with ${this.child.exitCode}`));
      this.pending.set(rid, resolve);
      this.child.send({ ...m, rid });
    });
  }

  /**
   * Waits for n deliveries of `tag` on `path`: calls onFirst when the first arrives (to start the clock and the
   * CPU reading), and resolves when the n-th did.
   */
  async expect(path: "hook" | "plain", tag: string, n: number, label: string, timeoutMs: number, onFirst: () => void): Promise<{ firstToLastMs: number }> {
    const t = `${tag}-`;
    let count = 0;
    let result: { firstToLastMs: number } | undefined;
    const l = (m: FromDriver) => {
      if (m.op === "reply" || m.tag !== t) return;
      if (m.op === "first") onFirst();
      if (m.op === "progress") count = m.count;
      if (m.op === "done") {
        count = m.count;
        result = { firstToLastMs: m.firstToLastMs };
      }
    };
    this.listeners.push(l);
    try {
      await this.ask({ op: "expect", path, tag, n });
      return await new Promise((resolve, reject) => {
        // The waiting itself is in waitFor (progress lines, time limit); `result` is set by the listener.
        waitFor(label, () => result !== undefined, () => `${fmt(count)}/${fmt(n)} received`, timeoutMs, 20).then(() => resolve(result!), reject);
      });
    } finally {
      this.listeners = this.listeners.filter((x) => x !== l);
    }
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill("SIGTERM");
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

// ================================================================================================ the benchmark

interface Measured {
  readonly system: string;
  readonly round: number;
  readonly items: number;
  readonly ms: number;
  readonly cpuSec: number;
  readonly perSec: number;
  readonly perCpuSec: number;
  /** CPU seconds of the driver (HTTP client / receiver) in the same phase, when it had a part. */
  readonly driverCpuSec?: number;
  /** From the start of the phase to the first item (start-up: group join, endpoint list...). */
  readonly startupMs?: number;
}

const measured = (system: string, round: number, items: number, ms: number, cpuSec: number, extra: Partial<Measured> = {}): Measured => ({
  system,
  round,
  items,
  ms,
  cpuSec,
  perSec: perSecond(items, ms),
  perCpuSec: perCpuSecond(items, cpuSec),
  ...extra,
});

function parseOptions() {
  const { values: args } = parseArgs({
    options: {
      events: { type: "string", default: "20000" },
      rounds: { type: "string", default: "3" },
      batch: { type: "string", default: "100" },
      concurrency: { type: "string", default: "8" },
      partitions: { type: "string", default: "6" },
      only: { type: "string" },
      "latency-rate": { type: "string", default: "200" },
      "latency-duration-s": { type: "string", default: "10" },
      "latency-batch": { type: "string", default: "1" },
      "verify-every": { type: "string", default: "20" },
      "phase-timeout-s": { type: "string", default: "300" },
      "keep-topics": { type: "boolean", default: false },
      "no-results": { type: "boolean", default: false },
    },
    strict: true,
  });
  const only = args.only;
  if (only !== undefined && !["ingest", "webhooks", "latency"].includes(only)) {
    console.error(`--only must be ingest, webhooks or latency, got '${only}'`);
    process.exit(2);
  }
  return {
    N: wholeNumber("events", args.events, 100, 2_000_000),
    ROUNDS: wholeNumber("rounds", args.rounds, 1, 20),
    BATCH: wholeNumber("batch", args.batch, 1, 500),
    CONCURRENCY: wholeNumber("concurrency", args.concurrency, 1, 256),
    PARTITIONS: wholeNumber("partitions", args.partitions, 1, 64),
    LAT_RATE: wholeNumber("latency-rate", args["latency-rate"], 1, 100_000),
    LAT_MS: wholeNumber("latency-duration-s", args["latency-duration-s"], 1, 600) * 1000,
    LAT_BATCH: wholeNumber("latency-batch", args["latency-batch"], 1, 500),
    VERIFY_EVERY: wholeNumber("verify-every", args["verify-every"], 1, 1_000_000),
    PHASE_TIMEOUT_MS: wholeNumber("phase-timeout-s", args["phase-timeout-s"], 10, 3600) * 1000,
    ONLY: only as "ingest" | "webhooks" | "latency" | undefined,
    KEEP_TOPICS: args["keep-topics"],
    NO_RESULTS: args["no-results"],
  };
}

interface RunRecord {
  readonly events: number;
  readonly rounds: number;
  readonly batch: number;
  readonly concurrency: number;
  readonly partitions: number;
  readonly startedAt: string;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly memGiB: number; readonly node: string };
  readonly topicPrefix: string;
  readonly summary: Record<string, { perSec: number; perCpuSec: number; cpuSec: number; ms: number; startupMs?: number; driverCpuSec?: number; rounds: number }>;
  readonly ratios: Record<string, string>;
  readonly latency?: {
    rate: number;
    durationS: number;
    batch: number;
    achievedRate: number;
    sent: number;
    acked: number;
    received: number;
    ms: LatencySummary;
    gatewayCpuSec: number;
    /** Client side: from sending a request to its 202 (the gateway's transaction included). */
    request: LatencySummary;
    /** Means over the phase, from the services' own histograms: raw record → committed delivery (router), delivery record → webhook answered (gateway). */
    routerMeanMs: number;
    dispatcherMeanMs: number;
  };
  readonly receiver?: { hook: number; plain: number; verified: number; verifyFailures: number };
  readonly phases: Measured[];
}

const LABELS: Record<string, string> = {
  sdk: "ingest: SDK publishMany",
  http: "ingest: HTTP POST /v1/events (gateway)",
  webhook: "delivery: gateway webhooks (decode, sign, POST)",
  plain: "delivery: plain kafkajs consumer → POST raw record",
  subscriber: "delivery: SDK DeliverySubscriber (decode only, no HTTP)",
};

function report(r: RunRecord): string {
  const rows = Object.entries(r.summary).map(([k, s]) => [
    LABELS[k] ?? k,
    fmt(s.perSec),
    fmt(s.perCpuSec),
    fmt(s.cpuSec, 2),
    fmt(s.ms / 1000, 2) + " s",
    s.startupMs === undefined ? "" : fmt(s.startupMs / 1000, 2) + " s",
    s.driverCpuSec === undefined ? "" : fmt(s.driverCpuSec, 2),
  ]);
  const lines = [
    `### Gateway: ${fmt(r.events)} events, ${r.rounds} round(s), batches of ${r.batch}, ${r.concurrency} in flight, ${r.partitions} partitions`,
    "",
    `Run ${r.startedAt} on ${r.machine.cpus} cores (${r.machine.cpuModel}), Node ${r.machine.node}; medians over rounds. ` +
      "CPU = process.cpuUsage() of the benchmark process (policy service, router, gateway, SDK clients); the HTTP client and the webhook receiver run in a child process (driver CPU).",
    "",
    markdownTable(["system", "items/s", "items per CPU-second", "CPU s", "wall", "start-up", "driver CPU s"], rows),
    "",
  ];
  const ratioLines = Object.entries(r.ratios).map(([k, v]) => `- ${k}: **${v}**`);
  if (ratioLines.length > 0) lines.push("Ratios (medians):", "", ...ratioLines, "");
  if (r.latency) {
    const l = r.latency;
    lines.push(
      `#### Publish (HTTP 202) → webhook received, ${fmt(l.rate)} events/s target for ${l.durationS} s, ${l.batch} event(s) per request`,
      "",
      markdownTable(
        ["measured", "achieved events/s", "count", "p50", "p95", "p99", "max"],
        [
          ["202 → webhook received", fmt(l.achievedRate), fmt(l.ms.count), `${fmt(l.ms.p50, 1)} ms`, `${fmt(l.ms.p95, 1)} ms`, `${fmt(l.ms.p99, 1)} ms`, `${fmt(l.ms.max, 1)} ms`],
          ["request sent → 202", "", fmt(l.request.count), `${fmt(l.request.p50, 1)} ms`, `${fmt(l.request.p95, 1)} ms`, `${fmt(l.request.p99, 1)} ms`, `${fmt(l.request.max, 1)} ms`],
        ],
      ),
      "",
      `${fmt(l.sent)} sent, ${fmt(l.acked)} answered 202, ${fmt(l.received)} webhooks. Means over the phase from the services' histograms: router raw record → committed delivery ${fmt(l.routerMeanMs, 1)} ms; gateway delivery record → webhook answered ${fmt(l.dispatcherMeanMs, 1)} ms. ` +
        `CPU of the benchmark process per event end to end (HTTP ingest, routing, webhook): ${fmt((l.gatewayCpuSec / Math.max(1, l.ms.count)) * 1e6)} µs.`,
      "",
    );
  }
  if (r.receiver) lines.push(`Receiver: ${fmt(r.receiver.hook)} webhooks, ${fmt(r.receiver.plain)} plain POSTs; ${fmt(r.receiver.verified)} signatures verified with standardwebhooks, ${r.receiver.verifyFailures} failed.`, "");
  return lines.join("\n");
}

async function main(o: ReturnType<typeof parseOptions>): Promise<void> {
  process.env.PX_LOG_LEVEL ??= "warn";
  const base = testConfig("gwb", {
    PX_TOPIC_PARTITIONS: String(o.PARTITIONS),
    PX_WEBHOOK_ALLOW_HTTP: "true",
    PX_WEBHOOK_ALLOW_PRIVATE: "true",
    PX_WEBHOOK_SCHEDULE_SCALE: "0.001",
    PX_GATEWAY_POLICY_KEY: "px-dev-key-gateway",
    PX_GATEWAY_PORT: "0",
    PX_GATEWAY_RATE_PER_SEC: "10000000",
    PX_GATEWAY_RATE_BURST: "10000000",
    // Endpoints are picked up when the benchmark calls refresh(), so a phase starts when it says so.
    PX_GATEWAY_ENDPOINTS_REFRESH_MS: "600000",
  });
  const runId = base.router.groupId.replace(/^pxt-router-/, "");
  const log: Logger = createLogger("bench", base.logLevel);
  const T = topicsOf(base.topicPrefix);
  const deliverTopic = T.deliver("taobao");
  const { N, ROUNDS } = o;
  const phases: Measured[] = [];
  const groups = new Set<string>();
  const endpoints: string[] = [];
  console.log(`gateway bench: ${fmt(N)} events, ${ROUNDS} round(s), batches of ${o.BATCH}, ${o.CONCURRENCY} in flight, prefix ${base.topicPrefix}, brokers ${base.kafka.brokers.join(",")}`);

  const kafka: Kafka = createKafka(base, log);
  const admin = kafka.admin();
  await admin.connect();
  let driver: Driver | undefined;
  let policy: RunningPolicyService | undefined;
  let router: RunningRouter | undefined;
  let gw: RunningGateway | undefined;
  let sdk: PartyPublisher | undefined;
  let exitCode = 0;
  try {
    await provisionIngress(base, kafka);
    driver = await Driver.start();
    policy = await startPolicyService(base);
    const config: Config = { ...base, policyService: { ...base.policyService, url: policy.url } };
    gw = await startGateway(config, { instanceId: `bench-${runId}`, log });
    sdk = await PartyPublisher.connect({ party: "sf-express", config, logger: log, kafka });
    const eventsUrl = `${gw.url}/v1/events`;
    console.log(`policy service ${policy.url}, gateway ${gw.url}, receiver ${driver.url}`);

    const policyCall = async (key: string, method: string, path: string, body?: unknown): Promise<any> => {
      const res = await fetch(`${policy!.url}${path}`, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`policy service ${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
      return JSON.parse(text);
    };
    const register = async (): Promise<string> => {
      const r = await policyCall(KEYS.taobao, "POST", "/v1/webhooks", { url: `${driver!.url}/hook`, eventTypes: ["TrackingEvent"] });
      endpoints.push(r.endpoint.id);
      groups.add(ownGroup(config, `webhooks.${r.endpoint.id}`));
      await driver!.ask({ op: "secret", secret: r.secret, verifyEvery: o.VERIFY_EVERY });
      return r.endpoint.id as string;
    };
    const disable = async (id: string): Promise<void> => {
      await policyCall(KEYS.taobao, "POST", `/v1/webhooks/${id}/disable`, { reason: "benchmark phase over" });
      await gw!.webhooks.refresh(); // stops its dispatcher
    };
    const sdkPublish = async (tag: string, n: number): Promise<void> => {
      const batches = chunks(trackingEvents(n, tag), o.BATCH);
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(o.CONCURRENCY, batches.length) }, async () => {
          while (next < batches.length) await sdk!.publishMany(batches[next++]!);
        }),
      );
    };
    const httpPublish = async (tag: string, n: number): Promise<PostResult> => {
      const r = await driver!.ask<PostResult>({ op: "post", url: eventsUrl, key: KEYS.sf, tag, n, batch: o.BATCH, concurrency: o.CONCURRENCY });
      if (r.accepted !== n) throw new Error(`HTTP publishing of ${tag}: ${r.accepted}/${n} accepted; statuses ${JSON.stringify(r.statuses)}; first error ${r.firstError}`);
      return r;
    };
    let published = 0;

    // ------------------------------------------------------------------------------------ 1. ingest
    if (o.ONLY === undefined || o.ONLY === "ingest") {
      // Warm-up (not timed): the gateway's publisher lane connects (transactional id, schemas), the JIT warms.
      await sdkPublish(`${runId}-wa`, 2 * o.BATCH);
      await httpPublish(`${runId}-wh`, 2 * o.BATCH);
      published += 4 * o.BATCH;
      for (let round = 1; round <= ROUNDS; round++) {
        for (const system of round % 2 === 1 ? ["sdk", "http"] : ["http", "sdk"]) {
          const tag = `${runId}-${system === "sdk" ? "a" : "h"}${round}`;
          console.log(`round ${round}/${ROUNDS}: ingest ${system}`);
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          let driverCpu: number | undefined;
          if (system === "sdk") await sdkPublish(tag, N);
          else driverCpu = (await httpPublish(tag, N)).cpuSec;
          const m = measured(system, round, N, performance.now() - t0, cpuSeconds(cpu0, process.cpuUsage()), driverCpu === undefined ? {} : { driverCpuSec: driverCpu });
          published += N;
          phases.push(m);
          console.log(`  → ${system}: ${fmt(m.perSec)} events/s, ${fmt(m.cpuSec, 2)} CPU s, ${fmt(m.perCpuSec)} events per CPU-second`);
          await sleep(500);
        }
      }
      // Idempotency check: the same request again is answered from its record, nothing published.
      const again = await driver.ask<PostResult>({ op: "post", url: eventsUrl, key: KEYS.sf, tag: `${runId}-h1`, n: Math.min(N, o.BATCH), batch: o.BATCH, concurrency: 1 });
      if (ROUNDS >= 1 && again.replayed !== 1) throw new Error(`a repeated request with the same Idempotency-Key was not replayed: ${JSON.stringify(again)}`);
    }

    // The router starts after the ingest phase (its CPU is not in the ingest figures) and routes what it published.
    if (o.ONLY !== "ingest") {
      groups.add(config.router.groupId);
      router = await startRouter(config);
      const r = router;
      if (published > 0) {
        await waitFor("router catch-up", async () => (await counterTotal(r.metrics.consumed)).total >= published, async () => `${fmt((await counterTotal(r.metrics.consumed)).total)}/${fmt(published)} routed`, o.PHASE_TIMEOUT_MS);
      }
    }
    const deliveredToTaobao = async (): Promise<number> => (router ? ((await counterTotal(router.metrics.delivered, "party")).by["taobao"] ?? 0) : 0);

    // ------------------------------------------------------------------------------------ 2. webhooks
    if (router && (o.ONLY === undefined || o.ONLY === "webhooks")) {
      for (let round = 1; round <= ROUNDS; round++) {
        const tag = `${runId}-w${round}`;
        // A fresh endpoint; its dispatcher (started later) begins at the records written since it was registered.
        const endpoint = await register();
        await sleep(20);
        const starts = (await admin.fetchTopicOffsets(deliverTopic)).map((p) => ({ partition: p.partition, offset: p.high }));
        const d0 = await deliveredToTaobao();
        console.log(`round ${round}/${ROUNDS}: backlog of ${fmt(N)} deliveries to taobao (not timed)`);
        await sdkPublish(tag, N);
        await waitFor("backlog routed", async () => (await deliveredToTaobao()) - d0 >= N, async () => `${fmt((await deliveredToTaobao()) - d0)}/${fmt(N)} delivered to px.deliver.taobao`, o.PHASE_TIMEOUT_MS);
        await sleep(1000); // the last transaction's markers; the broker settles

        const order = round % 2 === 1 ? ["webhook", "plain", "subscriber"] : ["plain", "webhook", "subscriber"];
        for (const system of order) {
          console.log(`round ${round}/${ROUNDS}: delivery ${system}`);
          let cpuFirst = process.cpuUsage();
          let tFirst = 0;
          const t0 = performance.now();
          const onFirst = () => {
            cpuFirst = process.cpuUsage();
            tFirst = performance.now();
          };
          let firstToLastMs = 0;
          let stop: () => Promise<void> = async () => undefined;
          if (system === "webhook") {
            const waiting = driver.expect("hook", tag, N, `webhooks r${round}`, o.PHASE_TIMEOUT_MS, onFirst);
            await gw.webhooks.refresh(); // launches the endpoint's dispatcher
            firstToLastMs = (await waiting).firstToLastMs;
            stop = () => disable(endpoint);
          } else if (system === "plain") {
            const groupId = ownGroup(config, `bench-plain-${runId}-r${round}`);
            groups.add(groupId);
            await admin.setOffsets({ groupId, topic: deliverTopic, partitions: starts });
            const waiting = driver.expect("plain", tag, N, `plain r${round}`, o.PHASE_TIMEOUT_MS, onFirst);
            const consumer = await plainForwarder(kafka, groupId, deliverTopic, `${driver.url}/plain`);
            firstToLastMs = (await waiting).firstToLastMs;
            stop = () => consumer.disconnect();
          } else {
            const groupId = ownGroup(config, `bench-sub-${runId}-r${round}`);
            groups.add(groupId);
            await admin.setOffsets({ groupId, topic: deliverTopic, partitions: starts });
            let count = 0;
            let lastAt = 0;
            const prefix = `${tag}-`;
            const sub = await DeliverySubscriber.connect({ party: "taobao", config, kafka, logger: log, groupId });
            await sub.run((d) => {
              if (!d.sourceEventId.startsWith(prefix)) return;
              if (++count === 1) onFirst();
              if (count === N) lastAt = performance.now();
            });
            await waitFor(`subscriber r${round}`, () => count >= N, () => `${fmt(count)}/${fmt(N)} decoded`, o.PHASE_TIMEOUT_MS, 20);
            firstToLastMs = lastAt - tFirst;
            stop = () => sub.disconnect();
          }
          const cpuSec = cpuSeconds(cpuFirst, process.cpuUsage());
          // Items counted from the first to the N-th: N − 1 of them in firstToLastMs, the CPU over the same window
          // (the few ms of IPC between the receiver's clock and this one are left in).
          const m = measured(system, round, N - 1, Math.max(firstToLastMs, performance.now() - tFirst), cpuSec, { startupMs: tFirst - t0 });
          phases.push(m);
          // Monotonic microseconds, the clock of V8's .cpuprofile timestamps: lets cpuprofile-top.ts cut one phase out.
          const endUs = process.hrtime.bigint() / 1000n;
          console.log(`  phase window (hrtime µs): ${endUs - BigInt(Math.round(m.ms * 1000))}..${endUs}`);
          console.log(`  → ${system}: ${fmt(m.perSec)} deliveries/s, ${fmt(m.cpuSec, 2)} CPU s, ${fmt(m.perCpuSec)} per CPU-second (start-up ${fmt(m.startupMs! / 1000, 2)} s)`);
          await stop();
          await sleep(500);
        }
      }
    }

    // ------------------------------------------------------------------------------------ 3. latency
    let latency: RunRecord["latency"];
    /** Sum and count of the router's end-to-end and the gateway's webhook latency histograms (seconds). */
    const histograms = async () => {
      const of = async (h: { get(): Promise<{ values: { value: number; metricName?: string }[] }> }) => {
        const v = (await h.get()).values;
        return { sum: v.find((x) => x.metricName?.endsWith("_sum"))?.value ?? 0, count: v.find((x) => x.metricName?.endsWith("_count"))?.value ?? 0 };
      };
      return { router: await of(router!.metrics.endToEnd), dispatcher: await of(gw!.metrics.webhookLatency) };
    };
    if (router && (o.ONLY === undefined || o.ONLY === "latency")) {
      const endpoint = await register();
      await gw.webhooks.refresh();
      // Prime: a few events end to end, so the dispatcher has joined its group and the path is warm.
      const primeTag = `${runId}-lp`;
      const primed = driver.expect("hook", primeTag, 20, "latency prime", o.PHASE_TIMEOUT_MS, () => undefined);
      await httpPublish(primeTag, 20);
      await primed;
      console.log(`latency: ${fmt(o.LAT_RATE)} events/s over HTTP for ${o.LAT_MS / 1000} s, ${o.LAT_BATCH} per request`);
      const hist0 = await histograms();
      const cpu0 = process.cpuUsage();
      const r = await driver.ask<{ sent: number; acked: number; received: number; achievedRate: number; statuses: Record<string, number>; maxInFlight: number; early: number; summary: LatencySummary; request: LatencySummary }>({
        op: "latency",
        url: eventsUrl,
        key: KEYS.sf,
        tag: `${runId}-lat`,
        rate: o.LAT_RATE,
        durationMs: o.LAT_MS,
        batch: o.LAT_BATCH,
        settleMs: 30_000,
      });
      const gatewayCpuSec = cpuSeconds(cpu0, process.cpuUsage());
      const hist1 = await histograms();
      const mean = (a: { sum: number; count: number }, b: { sum: number; count: number }) => (b.count > a.count ? ((b.sum - a.sum) / (b.count - a.count)) * 1000 : Number.NaN);
      await disable(endpoint);
      latency = {
        rate: o.LAT_RATE,
        durationS: o.LAT_MS / 1000,
        batch: o.LAT_BATCH,
        achievedRate: r.achievedRate,
        sent: r.sent,
        acked: r.acked,
        received: r.received,
        ms: r.summary,
        gatewayCpuSec,
        request: r.request,
        routerMeanMs: mean(hist0.router, hist1.router),
        dispatcherMeanMs: mean(hist0.dispatcher, hist1.dispatcher),
      };
      console.log(`  → request → 202: p50 ${fmt(r.request.p50, 1)} ms, p99 ${fmt(r.request.p99, 1)} ms; mean router end-to-end ${fmt(latency.routerMeanMs, 1)} ms, mean delivery record → webhook answered ${fmt(latency.dispatcherMeanMs, 1)} ms`);
      console.log(`  → sent ${r.sent}, 202 for ${r.acked} (statuses ${JSON.stringify(r.statuses)}), ${r.received} webhooks; max ${r.maxInFlight} requests in flight; ${r.early} webhook(s) before their 202`);
      console.log(`  → p50 ${fmt(r.summary.p50, 1)} ms, p95 ${fmt(r.summary.p95, 1)} ms, p99 ${fmt(r.summary.p99, 1)} ms, max ${fmt(r.summary.max, 1)} ms`);
      if (r.received < r.acked) throw new Error(`latency: only ${r.received} of ${r.acked} accepted events arrived as webhooks within 30 s`);
    }

    // ------------------------------------------------------------------------------------ report
    const rec = await driver.ask<{ hook: number; plain: number; verified: number; verifyFailures: number; firstVerifyFailure: string }>({ op: "stats" });
    if (rec.verifyFailures > 0) throw new Error(`${rec.verifyFailures} webhook signatures failed standardwebhooks' verification: ${rec.firstVerifyFailure}`);
    const summary: RunRecord["summary"] = {};
    for (const system of ["sdk", "http", "webhook", "plain", "subscriber"]) {
      const rs = phases.filter((p) => p.system === system);
      if (rs.length === 0) continue;
      const driverCpu = rs.filter((p) => p.driverCpuSec !== undefined).map((p) => p.driverCpuSec!);
      const startup = rs.filter((p) => p.startupMs !== undefined).map((p) => p.startupMs!);
      summary[system] = {
        rounds: rs.length,
        perSec: median(rs.map((p) => p.perSec)),
        perCpuSec: median(rs.map((p) => p.perCpuSec)),
        cpuSec: median(rs.map((p) => p.cpuSec)),
        ms: median(rs.map((p) => p.ms)),
        ...(startup.length > 0 ? { startupMs: median(startup) } : {}),
        ...(driverCpu.length > 0 ? { driverCpuSec: median(driverCpu) } : {}),
      };
    }
    const s = summary;
    const ratios: Record<string, string> = {};
    if (s.http && s.sdk) {
      ratios["ingest HTTP/SDK, events/s"] = ratio(s.http.perSec, s.sdk.perSec);
      ratios["ingest HTTP/SDK, events per CPU-second"] = ratio(s.http.perCpuSec, s.sdk.perCpuSec);
    }
    if (s.webhook && s.plain) {
      ratios["webhook/plain consumer, deliveries/s"] = ratio(s.webhook.perSec, s.plain.perSec);
      ratios["webhook/plain consumer, deliveries per CPU-second"] = ratio(s.webhook.perCpuSec, s.plain.perCpuSec);
    }
    if (s.webhook && s.subscriber) {
      ratios["webhook/SDK subscriber, deliveries/s"] = ratio(s.webhook.perSec, s.subscriber.perSec);
      ratios["webhook/SDK subscriber, deliveries per CPU-second"] = ratio(s.webhook.perCpuSec, s.subscriber.perCpuSec);
    }
    const run: RunRecord = {
      events: N,
      rounds: ROUNDS,
      batch: o.BATCH,
      concurrency: o.CONCURRENCY,
      partitions: o.PARTITIONS,
      startedAt: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? "unknown", memGiB: Math.round(totalmem() / 2 ** 30), node: process.versions.node },
      topicPrefix: base.topicPrefix,
      summary,
      ratios,
      ...(latency ? { latency } : {}),
      receiver: { hook: rec.hook, plain: rec.plain, verified: rec.verified, verifyFailures: rec.verifyFailures },
      phases,
    };
    const md = report(run);
    console.log(`\n${md}`);
    if (!o.NO_RESULTS && o.ONLY === undefined) {
      const runs = [...readRuns<RunRecord>("gateway").filter((x) => x.events !== run.events), run].sort((a, b) => a.events - b.events);
      writeResults("gateway", { runs }, ["# HTTP gateway vs SDK and a plain consumer", "", "Generated by `npm run bench:gateway` (load-tests/gateway.ts). The latest run of each event count is kept.", "", ...runs.map(report)].join("\n"));
    }
  } catch (err) {
    console.error("benchmark failed:", err);
    exitCode = 1;
  } finally {
    if (gw) await bounded("gateway stop", gw.stop());
    if (router) await bounded("router stop", router.stop());
    if (sdk) await bounded("publisher disconnect", sdk.disconnect());
    if (policy) await bounded("policy service stop", policy.stop());
    driver?.stop();
    if (!o.KEEP_TOPICS) {
      // The run's consumer groups (before its topics: a group left without offsets or members vanishes anyway):
      // those named above, and every other whose name holds the run's id or prefix.
      const listed = await admin.listGroups().then((r) => r.groups.map((g) => g.groupId)).catch(() => [] as string[]);
      const mine = listed.filter((g) => groups.has(g) || g.includes(runId) || g.startsWith(`${base.topicPrefix}.`));
      if (mine.length > 0) await bounded("deleting the run's groups", admin.deleteGroups(mine));
      console.log(`deleted ${mine.length} consumer groups of the run (pass --keep-topics to keep topics and groups)`);
      await bounded("deleting the run's topics", deleteRunTopics(base, log), 60_000);
    }
    await admin.disconnect().catch(() => undefined);
  }
  process.exitCode = exitCode;
}

/**
 * The plain forwarder: reads the delivery topic (read_committed) and POSTs each record's bytes unchanged to the
 * receiver, one record at a time per partition, committing every 200 ms, the way the gateway's dispatcher
 * paces itself, but with no decoding, no JSON, no signing and no SSRF guard.
 */
async function plainForwarder(kafka: Kafka, groupId: string, topic: string, url: string): Promise<Consumer> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const post = (body: Buffer, eventId: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const r = request(url, { method: "POST", agent, headers: { "content-type": "application/octet-stream", "content-length": body.length, "x-event-id": eventId } }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      r.on("error", reject);
      r.end(body);
    });
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 50, sessionTimeout: 30_000, heartbeatInterval: 3_000, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 64,
    eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
      let last = Date.now();
      let uncommitted: string | undefined;
      const commit = async () => {
        if (uncommitted === undefined) return;
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(uncommitted) + 1n).toString() }]);
        uncommitted = undefined;
        last = Date.now();
      };
      try {
        for (const m of batch.messages) {
          if (!isRunning() || isStale()) break;
          if (m.value !== null) {
            const status = await post(m.value, m.headers?.[HEADERS.sourceEventId]?.toString() ?? "");
            if (status < 200 || status >= 300) throw new Error(`the receiver answered ${status}`);
          }
          resolveOffset(m.offset);
          uncommitted = m.offset;
          if (Date.now() - last >= 200) await commit();
          await heartbeat();
        }
      } finally {
        await commit().catch(() => undefined);
      }
    },
  });
  return consumer;
}

// ================================================================================================ entry

if (process.env[ROLE_ENV] === "driver") runDriver();
else {
  const o = parseOptions();
  // Whatever happens, the run ends: every wait has the phase limit; this is the hard stop over all of them
  // (catch-up, 2 ingest, 1 backlog + 3 delivery phases per round, the latency phase) plus margin.
  runBenchmark("bench:gateway", () => main(o), o.PHASE_TIMEOUT_MS * (6 * o.ROUNDS + 3) + o.LAT_MS + 300_000);
}
