/**
 * Publishing over HTTP. Each request's events are validated with the SDK's rules (every problem listed), then
 * published with the SDK to the authenticated party's own ingress topics — never another's — in a Kafka
 * transaction that also writes the request's record (`<prefix>.gateway.requests`, keyed party + Idempotency-Key,
 * holding the body's hash and the event ids). Both become visible together or not at all, so:
 *
 * - a retried request whose first attempt committed is answered from the record (same event ids, nothing sent);
 * - a first attempt that did not commit (the gateway died, Kafka refused) left nothing a reader can see, and
 *   the retry publishes; a restarted gateway fences its predecessor's transactional id, aborting what it left.
 *
 * Concurrent requests of one party share a transaction (group commit): one transaction at a time per party,
 * taking every request that queued while the previous one committed. The requests topic is read whole at start
 * and followed, so records written by other instances are known too; an answer is given only after the commit.
 */
import { createHash } from "node:crypto";
import type { Consumer, Kafka, TopicMessages } from "kafkajs";
import { PartyPublisher, prepareEvents, type ParcelEvent, type ParcelEventInput } from "@parcel-exchange/sdk";
import { DependencyError, PxError, ValidationError, ensureTopics, ownGroup, subscribeWhenReady, topics, whenReady, type Config, type Logger } from "@parcel-exchange/shared";
import { GatewayError } from "./errors.js";

/** What the requests topic remembers of an accepted request. */
export interface AcceptedRequest {
  readonly bodySha256: string;
  readonly eventIds: readonly string[];
  readonly at: number;
}

export interface PublishResult {
  readonly eventIds: readonly string[];
  /** True when the answer comes from an earlier request with the same Idempotency-Key (nothing was sent). */
  readonly replayed: boolean;
}

export const bodyHash = (body: unknown): string => createHash("sha256").update(JSON.stringify(body)).digest("hex");

interface Pending {
  readonly events: readonly ParcelEvent[];
  readonly idempotencyKey: string | undefined;
  readonly bodySha256: string;
  readonly resolve: (ids: readonly string[]) => void;
  readonly reject: (err: unknown) => void;
}

/** One party's publisher and its queue of requests waiting for the next transaction. */
class PartyLane {
  private queue: Pending[] = [];
  private running = false;

  constructor(
    readonly publisher: PartyPublisher,
    private readonly requestsTopic: string,
    private readonly onCommitted: (key: string, rec: AcceptedRequest) => void,
    private readonly maxEventsPerTx: number,
  ) {}

  submit(p: Omit<Pending, "resolve" | "reject">): Promise<readonly string[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...p, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch: Pending[] = [];
        let n = 0;
        while (this.queue.length > 0 && (batch.length === 0 || n + this.queue[0]!.events.length <= this.maxEventsPerTx)) {
          const p = this.queue.shift()!;
          batch.push(p);
          n += p.events.length;
        }
        const at = Date.now();
        const records = batch.filter((p) => p.idempotencyKey !== undefined).map((p) => ({
          key: requestKey(this.publisher.party, p.idempotencyKey!),
          value: JSON.stringify({ bodySha256: p.bodySha256, eventIds: p.events.map((e) => e.event.eventId), at } satisfies AcceptedRequest),
        }));
        const alongside: TopicMessages[] = records.length > 0 ? [{ topic: this.requestsTopic, messages: records }] : [];
        try {
          await this.publisher.publishInTransaction(batch.flatMap((p) => p.events), alongside);
        } catch (err) {
          for (const p of batch) p.reject(err);
          continue;
        }
        for (const r of records) this.onCommitted(r.key, JSON.parse(r.value) as AcceptedRequest);
        for (const p of batch) p.resolve(p.events.map((e) => e.event.eventId));
      }
    } finally {
      this.running = false;
    }
  }
}

const requestKey = (party: string, key: string): string => `${party}\n${key}`;

export interface IngestOptions {
  readonly kafka: Kafka;
  readonly config: Config;
  readonly log: Logger;
  /** Names this instance's transactional ids (`<principal>.ingest.<instance>.<party>`); unique per running gateway. */
  readonly instanceId: string;
}

export class HttpIngest {
  private readonly accepted = new Map<string, AcceptedRequest>();
  private readonly inFlight = new Map<string, { bodySha256: string; done: Promise<PublishResult> }>();
  private readonly lanes = new Map<string, Promise<PartyLane>>();
  private consumer: Consumer | undefined;
  private readonly t;

  private constructor(private readonly o: IngestOptions) {
    this.t = topics(o.config.topicPrefix);
  }

  /** Reads every accepted request of the last PX_GATEWAY_IDEMPOTENCY_TTL_MS, then follows the topic. */
  static async open(o: IngestOptions): Promise<HttpIngest> {
    const ingest = new HttpIngest(o);
    await ingest.follow();
    return ingest;
  }

  private async follow(): Promise<void> {
    const { kafka, config } = this.o;
    const topic = this.t.gatewayRequests;
    const admin = kafka.admin();
    await admin.connect();
    let high: Map<number, bigint>;
    try {
      await ensureTopics(admin, config, [{ topic, compacted: true, partitions: 1 }]);
      high = new Map((await whenReady(`offsets of ${topic}`, () => admin.fetchTopicOffsets(topic))).map((p) => [p.partition, BigInt(p.high)]));
    } finally {
      await admin.disconnect();
    }
    const consumer = kafka.consumer({ groupId: ownGroup(config, `requests-${this.o.instanceId}-${Date.now()}`), readUncommitted: false, maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    await consumer.connect();
    await subscribeWhenReady(consumer, { topic, fromBeginning: true });
    const caughtUp = new Promise<void>((resolve, reject) => {
      const pending = new Set([...high].filter(([, h]) => h > 0n).map(([p]) => p));
      if (pending.size === 0) resolve();
      const timer = setTimeout(() => reject(new DependencyError("kafka", `reading ${topic} took over 60 s`)), 60_000);
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            if (m.key !== null && m.value !== null) this.remember(m.key.toString(), m.value.toString());
          }
          // A batch ends at the last stable offset; markers after it count as read.
          if (BigInt(batch.highWatermark) <= BigInt(batch.lastOffset()) + 1n || BigInt(batch.lastOffset()) + 1n >= (high.get(batch.partition) ?? 0n)) {
            pending.delete(batch.partition);
            if (pending.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          }
        },
      });
    });
    await caughtUp;
  }

  private remember(key: string, raw: string): void {
    try {
      const v = JSON.parse(raw) as AcceptedRequest;
      if (typeof v.bodySha256 === "string" && Array.isArray(v.eventIds) && typeof v.at === "number") this.accepted.set(key, v);
    } catch {
      this.o.log.warn({ key: key.split("\n")[0] }, "a record of the requests topic is not JSON; ignored");
    }
  }

  private known(key: string): AcceptedRequest | undefined {
    const r = this.accepted.get(key);
    if (r === undefined) return undefined;
    if (Date.now() - r.at > this.o.config.gateway.idempotencyTtlMs) {
      this.accepted.delete(key);
      return undefined;
    }
    return r;
  }

  /**
   * Publishes a party's events (validated first; ValidationError lists every problem and nothing is sent).
   * With an Idempotency-Key, a request already accepted is answered from its record, and a different body
   * under the same key is refused.
   */
  async publish(party: string, events: readonly ParcelEventInput[], idempotencyKey: string | undefined, body: unknown): Promise<PublishResult> {
    const sha = bodyHash(body);
    if (idempotencyKey === undefined) return { eventIds: await this.send(party, events, undefined, sha), replayed: false };
    const key = requestKey(party, idempotencyKey);
    const prior = this.known(key);
    if (prior !== undefined) {
      if (prior.bodySha256 !== sha) throw new GatewayError("IDEMPOTENCY_KEY_REUSED", `Idempotency-Key '${idempotencyKey}' was used for a different request`);
      return { eventIds: prior.eventIds, replayed: true };
    }
    const running = this.inFlight.get(key);
    if (running !== undefined) {
      if (running.bodySha256 !== sha) throw new GatewayError("IDEMPOTENCY_KEY_IN_USE", `a request with Idempotency-Key '${idempotencyKey}' and another body is being published`, undefined, 1);
      const r = await running.done;
      return { ...r, replayed: true };
    }
    const done = this.send(party, events, idempotencyKey, sha).then((eventIds) => ({ eventIds, replayed: false }));
    this.inFlight.set(key, { bodySha256: sha, done });
    try {
      return await done;
    } finally {
      this.inFlight.delete(key);
    }
  }

  private async send(party: string, events: readonly ParcelEventInput[], idempotencyKey: string | undefined, sha: string): Promise<readonly string[]> {
    const prepared = prepareEvents(events, party); // throws ValidationError before anything is queued
    const lane = await this.lane(party);
    // A type the party has no ingress topic for would fail the whole shared transaction: refuse it here.
    const problems = prepared.flatMap((e, i) => (lane.publisher.schemaIds[e.type] === undefined ? [`events[${i}] (${e.type}): party ${party} publishes no ${e.type} events (it has no ingress topic for them)`] : []));
    if (problems.length > 0) throw new ValidationError(`batch of ${prepared.length} events`, problems);
    try {
      return await lane.submit({ events: prepared, idempotencyKey, bodySha256: sha });
    } catch (err) {
      if (err instanceof ValidationError || err instanceof GatewayError) throw err;
      if (err instanceof PxError && err.code === "INGRESS_MISSING") throw new GatewayError("FORBIDDEN", err.message);
      throw new GatewayError("UNAVAILABLE", `publishing failed: ${(err as Error).message}`, undefined, 1);
    }
  }

  private lane(party: string): Promise<PartyLane> {
    let lane = this.lanes.get(party);
    if (lane === undefined) {
      const { kafka, config, log, instanceId } = this.o;
      lane = PartyPublisher.connect({ party, config, kafka, logger: log, transactionalId: ownGroup(config, `ingest.${instanceId}.${party}`) }).then(
        (publisher) => new PartyLane(publisher, this.t.gatewayRequests, (k, r) => this.accepted.set(k, r), Math.max(config.gateway.maxBatch, 1000)),
      );
      lane.catch(() => this.lanes.delete(party)); // a failed connect is tried again by the next request
      this.lanes.set(party, lane);
    }
    return lane.catch((err: unknown) => {
      if (err instanceof PxError && err.code === "INGRESS_MISSING") throw new GatewayError("FORBIDDEN", err.message);
      throw new GatewayError("UNAVAILABLE", `connecting the publisher of ${party} failed: ${(err as Error).message}`, undefined, 1);
    });
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    for (const lane of this.lanes.values()) await lane.then((l) => l.publisher.disconnect()).catch(() => undefined);
  }
}
