/**
 * Delivers one webhook endpoint's feed: its own consumer group on the owning party's delivery topic, one record
 * at a time per partition, so a parcel's events (one key, one partition) arrive in order. A record is committed
 * only once the endpoint answered 2xx (at-least-once; `webhook-id` is the same on every attempt, so a receiver
 * drops repeats). A failed attempt is retried on the schedule (schedule.ts), its progress kept in Kafka
 * (progress.ts); 410, a refused address, or failing for the whole schedule disables the endpoint through the
 * policy service, which tells the owner. Each endpoint has its own consumer, so a slow or failing endpoint
 * holds up only its own feed.
 */
import { createHash } from "node:crypto";
import type { Consumer, Kafka, KafkaMessage } from "kafkajs";
import type { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import type { WebhookTarget } from "@parcel-exchange/policy-api";
import { DependencyError, ownGroup, subscribeWhenReady, topics, whenReady, type Config, type Logger } from "@parcel-exchange/shared";
import { payloadOf, readDelivery } from "../deliveries.js";
import { toEpcisDocument } from "../epcis/epcis.js";
import type { GatewayMetrics } from "../metrics.js";
import type { WebhookProgress } from "./progress.js";
import { nextAttemptDelay } from "./schedule.js";
import { sendWebhook } from "./sender.js";
import { webhookHeaders } from "./signature.js";

export interface DispatcherDeps {
  readonly kafka: Kafka;
  readonly config: Config;
  readonly registry: SchemaRegistry;
  readonly progress: WebhookProgress;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  /** Disables the endpoint at the policy service (recorded in the ledger; the owner gets a notice). */
  readonly disable: (endpointId: string, reason: string) => Promise<void>;
}

/** The stable id of one delivery to one endpoint: the same on every attempt and after any restart. */
export function webhookIdOf(endpointId: string, topic: string, partition: number, offset: string): string {
  return "msg_" + createHash("sha256").update(`${endpointId}\n${topic}\n${partition}\n${offset}`).digest("hex").slice(0, 32);
}

const COMMIT_EVERY_MS = 200;

export class EndpointDispatcher {
  private consumer: Consumer | undefined;
  private stopping = false;
  /** Set by stop(): the gateway is shutting down, so nothing is waited for any longer. */
  private closing = false;
  private stopped: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private target: WebhookTarget,
    private readonly d: DispatcherDeps,
  ) {}

  get id(): string {
    return this.target.id;
  }

  /** Takes a changed registration (a rotated secret, other event types); the URL is read at each attempt. */
  update(target: WebhookTarget): void {
    this.target = target;
  }

  async start(): Promise<void> {
    const { kafka, config } = this.d;
    const topic = topics(config.topicPrefix).deliver(this.target.party);
    const groupId = ownGroup(config, `webhooks.${this.target.id}`);
    await this.startFromRegistration(groupId, topic);
    const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 50, sessionTimeout: 30_000, heartbeatInterval: 3_000, allowAutoTopicCreation: false });
    this.consumer = consumer;
    await consumer.connect();
    await subscribeWhenReady(consumer, { topic, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 64,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        let lastCommit = Date.now();
        let uncommitted: string | undefined;
        const commit = async (): Promise<void> => {
          if (uncommitted === undefined) return;
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(uncommitted) + 1n).toString() }]);
          uncommitted = undefined;
          lastCommit = Date.now();
        };
        try {
          for (const m of batch.messages) {
            if (!isRunning() || isStale() || this.stopping) break;
            const done = await this.deliver(batch.topic, batch.partition, m, heartbeat);
            if (!done) break; // the endpoint was disabled or the gateway is stopping: this record stays uncommitted
            resolveOffset(m.offset); // the next fetch starts after it
            uncommitted = m.offset;
            if (Date.now() - lastCommit >= COMMIT_EVERY_MS) await commit();
            await heartbeat();
          }
        } finally {
          await commit().catch((err: unknown) => this.d.log.warn({ err, endpoint: this.target.id }, "committing webhook progress failed; those records are delivered again"));
        }
      },
    });
  }

  /** A new endpoint's group starts at the records written since the endpoint was registered, not at the topic's end. */
  private async startFromRegistration(groupId: string, topic: string): Promise<void> {
    const admin = this.d.kafka.admin();
    await admin.connect();
    try {
      const committed = await whenReady("fetch webhook offsets", () => admin.fetchOffsets({ groupId, topics: [topic] }));
      const parts = committed.find((c) => c.topic === topic)?.partitions ?? [];
      if (parts.length > 0 && parts.every((p) => p.offset !== "-1")) return;
      const at = await admin.fetchTopicOffsetsByTimestamp(topic, Date.parse(this.target.createdAt));
      await admin.setOffsets({ groupId, topic, partitions: at.map((p) => ({ partition: p.partition, offset: p.offset })) });
    } finally {
      await admin.disconnect();
    }
  }

  /** Delivers one record until it is delivered or skipped (true), or the endpoint stops (false). */
  private async deliver(topic: string, partition: number, m: KafkaMessage, heartbeat: () => Promise<void>): Promise<boolean> {
    const read = await this.untilDependency(() => readDelivery(this.d.registry, topic, partition, m), heartbeat);
    if (read === undefined) return false;
    if (read.kind === "undecodable") {
      this.d.metrics.undecodable.inc();
      this.d.log.error({ endpoint: this.target.id, topic, partition, offset: m.offset, err: read.error }, "a delivery record cannot be decoded; it is not sent to the webhook");
      return true;
    }
    if (read.kind === "notice") return true; // notices reach the party on its stream and Kafka feed
    const delivery = read.delivery;
    if (!this.target.eventTypes.includes(delivery.type)) return true;

    const body =
      this.target.format === "epcis"
        ? JSON.stringify({ type: "EPCISDocument", timestamp: read.timestamp, data: toEpcisDocument([{ type: delivery.type, event: delivery.event as unknown as Record<string, unknown>, policyVersion: delivery.policyVersion, eventId: delivery.sourceEventId }], {}), policyVersion: delivery.policyVersion, sourceEventId: delivery.sourceEventId })
        : JSON.stringify(payloadOf(delivery, read.timestamp));
    const id = webhookIdOf(this.target.id, topic, partition, m.offset);
    const { config, progress, metrics, log } = this.d;
    const prior = progress.get(this.target.id, partition);
    let state = prior !== undefined && prior.offset === m.offset ? prior : undefined;

    for (;;) {
      if (state !== undefined && !(await this.sleepUntil(state.nextAt, heartbeat))) return false;
      if (this.stopping) return false;
      const headers = { ...webhookHeaders(this.target.secrets, id, Math.floor(Date.now() / 1000), body), "px-policy-version": delivery.policyVersion };
      const r = await sendWebhook({ url: this.target.url, headers: headers as unknown as Record<string, string>, body, timeoutMs: config.webhooks.timeoutMs, rules: config.webhooks });
      metrics.attempts.inc({ outcome: r.outcome });
      if (r.outcome === "delivered") {
        metrics.webhookLatency.observe(Math.max(0, Date.now() - Number(m.timestamp)) / 1000);
        if (state !== undefined) await progress.clear(this.target.id, partition);
        return true;
      }
      const why = r.status !== undefined ? `HTTP ${r.status}` : (r.error ?? "no answer");
      if (r.outcome === "disable") {
        await this.disableWith(r.status === 410 ? "the endpoint answered 410 Gone" : `the endpoint was refused: ${why}`, r.status === 410 ? "gone" : "refused");
        return false;
      }
      const attempts = (state?.attempts ?? 0) + 1;
      const delay = nextAttemptDelay(attempts, { scale: config.webhooks.scheduleScale, ...(r.retryAfterMs !== undefined ? { retryAfterMs: r.retryAfterMs } : {}) });
      if (delay === undefined) {
        await this.disableWith(`every attempt of the retry schedule failed (${attempts} attempts since ${new Date(state?.firstFailureAt ?? Date.now()).toISOString()}, last: ${why})`, "exhausted");
        return false;
      }
      state = { offset: m.offset, attempts, firstFailureAt: state?.firstFailureAt ?? Date.now(), nextAt: Date.now() + delay, lastError: why };
      log.info({ endpoint: this.target.id, webhookId: id, attempts, retryInMs: delay, why }, "webhook attempt failed; retrying on the schedule");
      await this.untilDependency(() => progress.save(this.target.id, partition, state!), heartbeat);
    }
  }

  private async disableWith(reason: string, why: string): Promise<void> {
    this.d.metrics.disabled.inc({ why });
    this.d.log.warn({ endpoint: this.target.id, party: this.target.party, reason }, "disabling the webhook endpoint");
    this.stopping = true;
    for (let delay = 500; !this.closing; delay = Math.min(delay * 2, 30_000)) {
      try {
        await this.d.disable(this.target.id, reason);
        return;
      } catch (err) {
        this.d.log.warn({ err, endpoint: this.target.id }, "the policy service did not take the endpoint's disabling; retrying");
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Runs fn until it succeeds, waiting with back-off while a dependency is down; undefined when stopping. */
  private async untilDependency<T>(fn: () => Promise<T>, heartbeat: () => Promise<void>): Promise<T | undefined> {
    for (let delay = 200; ; delay = Math.min(delay * 2, 10_000)) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof DependencyError) && !(err as { retriable?: boolean }).retriable) throw err;
        this.d.log.warn({ err, endpoint: this.target.id }, "a dependency is down; the webhook waits and retries");
        if (!(await this.sleepUntil(Date.now() + delay, heartbeat))) return undefined;
      }
    }
  }

  /** Sleeps until `at`, heartbeating; false when the dispatcher stops meanwhile. */
  private async sleepUntil(at: number, heartbeat: () => Promise<void>): Promise<boolean> {
    while (!this.stopping && Date.now() < at) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(at - Date.now(), 2_000));
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      await heartbeat().catch(() => undefined);
    }
    return !this.stopping;
  }

  stop(): Promise<void> {
    this.stopping = true;
    this.closing = true;
    this.wake?.();
    this.stopped ??= (async () => {
      await this.consumer?.disconnect().catch(() => undefined);
    })();
    return this.stopped;
  }
}
