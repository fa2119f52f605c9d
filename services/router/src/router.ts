/**
 * The router process: consumes every party's ingress topic in a consumer group and, per input partition, runs
 * consume → route → produce as one Kafka transaction (exactly once per entitled party).
 *
 * Ingress topics are the exchange's to create (provisioning); the router finds them by listing the topics, and
 * re-lists every `topicRefreshMs` to take up a newly provisioned party's topics without a restart. It needs no
 * right to create them, nor the delivery topics of parties that provisioning has set up.
 *
 * Fencing: kafkajs sends TxnOffsetCommit v0, so the group generation does not fence a zombie (no KIP-447).
 * Instead each input partition has its own transactional id; whoever routes a partition first opens its sink,
 * which initialises that id (fencing any earlier holder and aborting its open transaction), then re-reads the
 * committed offset and skips what a zombie committed in the meantime. The Kafka client sits behind
 * kafka-client/types.ts (PX_KAFKA_CLIENT picks kafkajs or @platformatic/kafka); this file uses neither directly.
 */
import type { Kafka } from "kafkajs";
import type { Redis } from "ioredis";
import { loadVerifier, policyTopicSpec, RegistryHttp, topics, type Config, type Logger, type Topics } from "@parcel-exchange/shared";
import { SchemaCatalog, type PolicyEngine } from "@parcel-exchange/decision";
import { ActivePolicy, RouterCore, type BatchResult } from "./core.js";
import type { RawRecord } from "./records.js";
import { createRouterKafka, type PartitionBatch, type PartitionSink, type RouterKafka, type TopicMessages } from "./kafka-client/index.js";
import type { RouterMetrics } from "./metrics.js";
import { BatchAbortedError } from "./errors.js";
import { PolicySource } from "./policy-source.js";
import { QuotaTracker } from "./quota.js";
import { LagMonitor } from "./lag.js";

export { sendChunks } from "./kafka-client/index.js";

export interface RouterDeps {
  readonly config: Config;
  /** kafkajs: the policy source, and the router's control plane; the data path uses PX_KAFKA_CLIENT's client. */
  readonly kafka: Kafka;
  readonly redis: Redis;
  readonly log: Logger;
  readonly metrics: RouterMetrics;
  /** Distinguishes instances in logs and transactional ids are per partition, not per instance. */
  readonly instanceId: string;
  /** How often the topics are listed for new ingress topics (default 10 s). */
  readonly topicRefreshMs?: number;
}

const DEFAULT_TOPIC_REFRESH_MS = 10_000;

export class Router {
  private readonly t: Topics;
  private readonly core: RouterCore;
  private readonly quota: QuotaTracker;
  private readonly policySource: PolicySource;
  private readonly sinks = new Map<string, Promise<PartitionSink>>();
  private readonly verified = new Set<string>();
  private readonly knownDeliveryTopics = new Set<string>();
  private client: RouterKafka | undefined;
  private active: ActivePolicy | undefined;
  private policyWaiters: (() => void)[] = [];
  private readonly listeners: ((version: string) => void)[] = [];
  /** minute (ISO) → `party\u0000class` → records delivered carrying that class; reported for the ledger. */
  private readonly minuteCounts = new Map<string, Map<string, number>>();
  private countsTimer: NodeJS.Timeout | undefined;
  /** The ingress topics consumed (once `consuming`). */
  private readonly ingress = new Set<string>();
  private consuming = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private lag: LagMonitor | undefined;
  private stopping = false;
  /** Committed batches whose PII releases are not yet in the shared quota counters. */
  private readonly pendingQuota: { readonly batch: string; readonly releases: BatchResult["releases"] }[] = [];

  constructor(private readonly d: RouterDeps) {
    this.t = topics(d.config.topicPrefix);
    this.core = new RouterCore(new SchemaCatalog(new RegistryHttp(d.config)), {
      masks: d.config.masks,
      tokenKey: d.config.router.tokenKey,
      maxRecordBytes: d.config.router.maxRecordBytes,
      maxDeadLetterBytes: d.config.router.maxDeadLetterBytes,
      topicPrefix: d.config.topicPrefix,
    });
    this.quota = new QuotaTracker(d.redis, d.config.topicPrefix, d.log, d.config.router.quotaWarnRatio, {
      onUsage: (party, cls, used, limit) => {
        d.metrics.quotaUsage.set({ party, class: cls }, limit > 0 ? used / limit : 1);
        d.metrics.quotaLimit.set({ party, class: cls }, limit);
      },
    });
    this.policySource = new PolicySource(d.kafka, d.config, this.t.policy, d.log, loadVerifier(d.config), (e) => this.apply(e), () => d.metrics.policyReloads.inc({ result: "refused" }));
  }

  get policyVersion(): string | undefined {
    return this.active?.version;
  }

  /** Called with the version each time a new policy takes effect. */
  onPolicyApplied(fn: (version: string) => void): void {
    this.listeners.push(fn);
  }

  async start(): Promise<void> {
    const { config, kafka, log } = this.d;
    const client = await createRouterKafka(config, kafka, log);
    this.client = client;
    await client.connect();
    await client.ensureTopics([
      { topic: this.t.deadLetter },
      policyTopicSpec(this.t.policy),
      { topic: this.t.deliveryCounts, partitions: 1 },
    ]);
    this.countsTimer = setInterval(() => void this.flushCounts(false).catch((err: unknown) => log.warn({ err }, "delivery counts not reported; will retry")), 5_000);
    await this.policySource.start();
    await this.waitForPolicy();

    client.onFatal((err) => {
      this.fatal = err;
      this.d.metrics.routing.set(0);
      log.error({ err }, "the consumer stopped for good; this router routes nothing until it is restarted");
      for (const f of this.fatalListeners) f(err);
    });
    client.onAssignmentChange(() => {
      // New assignment: every partition's sink is re-opened (fencing zombies) before its next batch.
      this.verified.clear();
      const old = [...this.sinks.values()];
      this.sinks.clear();
      for (const p of old) void p.then((x) => x.close()).catch(() => undefined);
    });
    await this.takeUpIngress();
    if (!this.consuming) log.warn({ pattern: `${this.t.rawPrefix}<party>.<orders|tracking|locker>` }, "no ingress topics yet; routing starts when the exchange provisions a party");
    const every = this.d.topicRefreshMs ?? DEFAULT_TOPIC_REFRESH_MS;
    this.refreshTimer = setInterval(() => {
      if (this.refreshing !== undefined || this.stopping) return;
      this.refreshing = this.takeUpIngress()
        .catch((err: unknown) => log.warn({ err }, `ingress topics not refreshed; trying again in ${every} ms`))
        .finally(() => (this.refreshing = undefined));
    }, every);
    this.lag = new LagMonitor({ kafka, groupId: config.router.groupId, topics: () => this.ingress, gauge: this.d.metrics.consumerLag, log, intervalMs: config.router.lagIntervalMs });
    this.lag.start();
    if (this.fatal === undefined) this.d.metrics.routing.set(1);
    log.info({ group: config.router.groupId, policy: this.policyVersion, instance: this.d.instanceId, kafkaClient: client.name, ingress: this.ingress.size }, "router started");
  }

  private fatal: Error | undefined;
  private readonly fatalListeners: ((err: Error) => void)[] = [];

  /** Called when the router can no longer route (its consumer stopped for good): the process should exit. */
  onFatal(fn: (err: Error) => void): void {
    this.fatalListeners.push(fn);
  }

  /** Whether this router is routing, for /healthz: started, a policy in force, its consumer alive. */
  health(): { ok: boolean; detail: Record<string, unknown> } {
    const ok = this.client !== undefined && this.active !== undefined && this.fatal === undefined && !this.stopping;
    return { ok, detail: { routing: ok, policy: this.active?.version ?? null, ingressTopics: this.ingress.size, ...(this.fatal ? { error: this.fatal.message } : {}) } };
  }

  /** Lists the topics and starts consuming the ingress topics not consumed yet (all of them the first time). */
  private async takeUpIngress(): Promise<void> {
    const client = this.client!;
    const fresh = (await client.listTopics()).filter((t) => this.t.parseIngress(t) !== undefined && !this.ingress.has(t)).sort();
    if (fresh.length === 0 || this.stopping) return;
    this.d.log.info({ topics: fresh }, "new ingress topics");
    const all = [...this.ingress, ...fresh];
    if (this.consuming) await client.resubscribe(all);
    else await client.consume(all, (b) => this.onBatch(b));
    this.consuming = true;
    for (const t of fresh) this.ingress.add(t);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    await this.refreshing;
    await this.lag?.stop();
    await this.client?.stopConsuming();
    if (this.countsTimer) clearInterval(this.countsTimer);
    await this.flushCounts(true).catch((err: unknown) => this.d.log.warn({ err }, "delivery counts of the last minute not reported"));
    await this.policySource.stop();
    await Promise.all([...this.sinks.values()].map((p) => p.then((x) => x.close()).catch(() => undefined)));
    this.sinks.clear();
    await this.client?.close();
  }

  private async waitForPolicy(): Promise<void> {
    if (this.active) return;
    const timer = setInterval(() => this.d.log.warn({ topic: this.t.policy }, "waiting for a policy bundle; nothing is routed until the policy service publishes one (npm run policy-service)"), 10_000);
    try {
      await new Promise<void>((ok) => this.policyWaiters.push(ok));
    } finally {
      clearInterval(timer);
    }
  }

  /** Puts a new policy in force; first makes sure its parties' delivery topics exist (provisioning creates them, so normally nothing is created). */
  private async apply(engine: PolicyEngine): Promise<void> {
    const parties = Object.keys(engine.bundle.data.parties);
    const missing = parties.map((p) => this.t.deliver(p)).filter((t) => !this.knownDeliveryTopics.has(t));
    if (missing.length > 0 && this.client) {
      await this.client.ensureTopics(missing.map((topic) => ({ topic })));
      for (const t of missing) this.knownDeliveryTopics.add(t);
    }
    const prev = this.active?.version;
    this.active = new ActivePolicy(engine);
    this.d.metrics.policyVersion.reset();
    this.d.metrics.policyVersion.set({ version: engine.version }, 1);
    if (engine.bundle.release) this.d.metrics.policySequence.set(engine.bundle.release.sequence);
    this.d.metrics.policyReloads.inc({ result: "applied" });
    this.d.log.info({ version: engine.version, previous: prev, parties: parties.length }, "policy applied");
    for (const w of this.policyWaiters.splice(0)) w();
    for (const l of this.listeners) l(engine.version);
  }

  /** The partition's transactional sink; opening it fences any earlier holder of the partition's transactional id. */
  private sinkFor(topic: string, partition: number): Promise<PartitionSink> {
    const tp = `${topic}/${partition}`;
    let p = this.sinks.get(tp);
    if (p === undefined) {
      p = this.client!.openSink(topic, partition);
      p.catch(() => this.sinks.delete(tp));
      this.sinks.set(tp, p);
    }
    return p;
  }

  private async onBatch({ topic, partition, messages: batch, isStale }: PartitionBatch): Promise<void> {
    if (isStale() || batch.length === 0) return;
    const t0 = performance.now();
    const tp = `${topic}/${partition}`;
    const sink = await this.sinkFor(topic, partition);
    let messages = batch;
    if (!this.verified.has(tp)) {
      // After initialising the transactional id (which fenced any zombie), trust only the committed offset.
      const committed = await this.client!.committedOffset(topic, partition);
      if (committed >= 0n) messages = messages.filter((m) => BigInt(m.offset) >= committed);
      this.verified.add(tp);
      if (messages.length === 0) return;
    }
    const records: RawRecord[] = messages.map((m) => ({ topic, partition, offset: m.offset, timestamp: m.timestamp, key: m.key, value: m.value, ...(m.headers ? { headers: m.headers } : {}) }));
    await this.core.prepare(records);
    const policy = this.active!; // one version decides the whole batch
    const result = this.core.process(policy, records, this.quota);
    const last = messages[messages.length - 1]!.offset;

    const tx = await sink.begin();
    try {
      const topicMessages: TopicMessages[] = [...result.deliveries].map(([party, list]) => ({ topic: this.t.deliver(party), messages: list }));
      if (result.deadLetters.length > 0) topicMessages.push({ topic: this.t.deadLetter, messages: result.deadLetters.map((d) => d.record) });
      await tx.send(topicMessages);
      await tx.commit((BigInt(last) + 1n).toString());
    } catch (err) {
      await tx.abort().catch(() => undefined);
      this.d.metrics.transactions.inc({ result: "aborted" });
      // The sink may be fenced or in an unknown state: the next attempt re-opens it and re-reads the committed offset.
      const dropped = this.sinks.get(tp);
      this.sinks.delete(tp);
      this.verified.delete(tp);
      void dropped?.then((x) => x.close()).catch(() => undefined);
      this.d.log.warn({ err, partition: tp }, "batch transaction aborted; routing the batch again");
      throw new BatchAbortedError(tp, err);
    }
    this.d.metrics.transactions.inc({ result: "committed" });
    // Counted only now that the transaction has committed; the batch id makes the count idempotent, so a
    // count that failed (Redis unreachable) is retried with the next batch and still adds once.
    this.observe(topic, policy, result, t0);
    if (result.releases.size > 0) this.pendingQuota.push({ batch: `${tp}@${BigInt(last) + 1n}`, releases: result.releases });
    await this.countQuota();
  }

  /** Adds the committed batches' releases to the quota counters, oldest first; what fails stays for the next try. */
  private async countQuota(): Promise<void> {
    while (this.pendingQuota.length > 0) {
      const next = this.pendingQuota[0]!;
      try {
        await this.quota.record(next.batch, next.releases);
      } catch (err) {
        this.d.log.warn({ err, pending: this.pendingQuota.length }, "quota counters not updated (Redis); deliveries are committed, counting is retried with the next batch");
        return;
      }
      this.pendingQuota.shift();
    }
  }

  /** Reports finished minutes (all minutes when `all`) to the delivery-counts topic. */
  async flushCounts(all: boolean): Promise<void> {
    const current = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
    const due = [...this.minuteCounts.keys()].filter((m) => all || m < current);
    if (due.length === 0 || !this.client) return;
    const messages = due.map((minute) => ({
      key: minute,
      value: JSON.stringify({
        minute,
        instance: this.d.instanceId,
        counts: [...this.minuteCounts.get(minute)!].map(([k, count]) => {
          const [party, dataClass] = k.split("\u0000");
          return { party, dataClass, count };
        }),
      }),
    }));
    await this.client.sendPlain(this.t.deliveryCounts, messages);
    for (const m of due) this.minuteCounts.delete(m);
  }

  private observe(topic: string, policy: ActivePolicy, r: BatchResult, t0: number): void {
    const m = this.d.metrics;
    m.consumed.inc({ topic }, r.consumed);
    for (const [party, list] of r.deliveries) m.delivered.inc({ party }, list.length);
    for (const d of r.deadLetters) m.rejected.inc({ reason: d.reason });
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
    let bucket = this.minuteCounts.get(minute);
    if (!bucket) this.minuteCounts.set(minute, (bucket = new Map()));
    for (const [plan, delivered] of r.planCounts) {
      const seen = new Set<string>();
      for (const c of plan.actionCounts) {
        m.fieldActions.inc({ party: plan.recipient, class: c.dataClass, action: c.action }, c.n * delivered);
        if (c.action === "drop" || seen.has(c.dataClass)) continue;
        seen.add(c.dataClass);
        const k = `${plan.recipient}\u0000${c.dataClass}`;
        bucket.set(k, (bucket.get(k) ?? 0) + delivered);
      }
    }
    if (policy.cacheHits + policy.cacheMisses > 0) {
      m.cacheLookups.inc({ result: "hit" }, policy.cacheHits);
      m.cacheLookups.inc({ result: "miss" }, policy.cacheMisses);
      policy.totalHits += policy.cacheHits;
      policy.totalLookups += policy.cacheHits + policy.cacheMisses;
      m.cacheHitRatio.set(policy.totalHits / policy.totalLookups);
      policy.cacheHits = 0;
      policy.cacheMisses = 0;
    }
    for (const s of policy.evalSeconds.splice(0)) m.policyEval.observe(s);
    const now = Date.now();
    for (const ts of r.timestamps) m.endToEnd.observe((now - ts) / 1000);
    m.batch.observe((performance.now() - t0) / 1000);
  }
}
