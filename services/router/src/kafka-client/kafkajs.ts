/**
 * The router's Kafka client on kafkajs 2.2.4 (the default). kafkajs sends TxnOffsetCommit v0, so the group
 * generation does not fence a zombie (no KIP-447): fencing rests on the per-partition transactional id that
 * openSink() initialises.
 */
import type { Admin, Consumer, ConsumerRunConfig, Kafka, Message, Producer } from "kafkajs";
import { Admin as PlatformaticAdmin } from "@platformatic/kafka";
import { ensureTopics, errorTypes, idempotentProducer, platformaticConnection, subscribeWhenReady, whenReady, type Config, type Logger, type TopicSpec } from "@parcel-exchange/shared";
import { sendChunks } from "./chunks.js";
import type { BatchHandler, PartitionSink, PartitionTransaction, RouterKafka, TopicMessages } from "./types.js";

/**
 * Records per produce call. kafkajs groups a call's records by partition in time quadratic in the records per
 * partition, which showed in the profile for large batches; a transaction may span several calls.
 */
const SEND_CHUNK = 2000;

/**
 * Admin, committed offsets, the plain producer and assignment listeners: the part of the router's Kafka client
 * that stays on kafkajs whichever client consumes and produces the hot path. Both clients extend it.
 */
/** Error types that say a committed offset is not settled yet: ask again. */
const UNSETTLED = new Set(["UNSTABLE_OFFSET_COMMIT", "COORDINATOR_LOAD_IN_PROGRESS", "COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR"]);
const offsetNotSettled = (err: unknown): boolean => errorTypes(err).some((t) => UNSETTLED.has(t));

export abstract class KafkajsControlPlane {
  private admin: Admin | undefined;
  private plain: Producer | undefined;
  protected readonly listeners: (() => void)[] = [];

  constructor(
    protected readonly kafka: Kafka,
    protected readonly config: Config,
    protected readonly log: Logger,
  ) {}

  async connect(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.plain = idempotentProducer(this.kafka);
    await this.plain.connect();
  }

  ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    return ensureTopics(this.admin!, this.config, specs);
  }

  listTopics(): Promise<string[]> {
    return whenReady("list topics", () => this.admin!.listTopics());
  }

  async sendPlain(topic: string, messages: readonly { key: string; value: string }[]): Promise<void> {
    await this.plain!.send({ topic, acks: -1, messages: [...messages] });
  }

  /**
   * The group's committed offset, read with requireStable (KIP-447): while a transaction that commits offsets of
   * this partition is not yet fully written (its markers still travelling to the replicas of the offsets topic),
   * the broker answers UNSTABLE_OFFSET_COMMIT instead of the previous offset, and we ask again. kafkajs cannot
   * ask for stable offsets, and an earlier offset here means routing a committed batch twice; @platformatic/kafka can.
   */
  async committedOffset(topic: string, partition: number): Promise<bigint> {
    this.offsets ??= new PlatformaticAdmin({ ...platformaticConnection(this.config), retries: 0 });
    const deadline = Date.now() + 60_000;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
      try {
        const groups = await this.offsets.listConsumerGroupOffsets({
          groups: [{ groupId: this.config.router.groupId, topics: [{ name: topic, partitionIndexes: [partition] }] }],
          requireStable: true,
        });
        const p = groups.find((g) => g.groupId === this.config.router.groupId)?.topics.find((t) => t.name === topic)?.partitions.find((x) => x.partitionIndex === partition);
        return p === undefined ? -1n : p.committedOffset;
      } catch (err) {
        if (!offsetNotSettled(err) || Date.now() + delay > deadline) throw err;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private offsets: PlatformaticAdmin | undefined;

  onAssignmentChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  async close(): Promise<void> {
    await this.plain?.disconnect();
    await this.admin?.disconnect();
    await this.offsets?.close().catch(() => undefined);
  }
}

class KafkajsSink implements PartitionSink {
  constructor(
    private readonly producer: Producer,
    private readonly groupId: string,
    private readonly topic: string,
    private readonly partition: number,
  ) {}

  async begin(): Promise<PartitionTransaction> {
    const tx = await this.producer.transaction();
    const { groupId, topic, partition } = this;
    return {
      async send(topicMessages: readonly TopicMessages[]) {
        for (const chunk of sendChunks(topicMessages, SEND_CHUNK)) await tx.sendBatch({ topicMessages: chunk as { topic: string; messages: Message[] }[], acks: -1 });
      },
      async commit(nextOffset: string) {
        await tx.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition, offset: nextOffset }] }] });
        await tx.commit();
      },
      abort: () => tx.abort(),
    };
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}

export class KafkajsRouterKafka extends KafkajsControlPlane implements RouterKafka {
  readonly name = "kafkajs" as const;
  private consumer: Consumer | undefined;
  private runConfig: ConsumerRunConfig | undefined;

  async openSink(topic: string, partition: number): Promise<PartitionSink> {
    const producer = idempotentProducer(this.kafka, { transactionalId: `${this.config.router.groupId}.${topic}.${partition}`, transactionTimeout: 60_000 });
    await producer.connect();
    // kafkajs initialises the transactional id (fencing an earlier holder and aborting its open transaction)
    // on the first transaction, not on connect: do it now, before the caller reads the committed offset.
    try {
      await (await producer.transaction()).abort();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw err;
    }
    return new KafkajsSink(producer, this.config.router.groupId, topic, partition);
  }

  async consume(topics: readonly string[], handler: BatchHandler): Promise<void> {
    const r = this.config.router;
    const consumer = this.kafka.consumer({ groupId: r.groupId, readUncommitted: false, maxWaitTimeInMs: r.fetchMaxWaitMs, sessionTimeout: r.sessionTimeoutMs, heartbeatInterval: Math.min(3000, r.sessionTimeoutMs / 3) });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const l of this.listeners) l();
    });
    // A crash kafkajs does not restart from (a non-retriable error, e.g. an authorization the broker withdrew)
    // leaves the consumer stopped for good: report it, so that the process says so or exits.
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) for (const f of this.fatalListeners) f(e.payload.error);
    });
    const runConfig: ConsumerRunConfig = {
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: r.partitionsConcurrently,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        await handler({ topic: batch.topic, partition: batch.partition, messages: batch.messages, isStale: () => !isRunning() || isStale() });
        resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
        await heartbeat();
      },
    };
    try {
      await consumer.connect();
      await subscribeWhenReady(consumer, { topics: [...topics], fromBeginning: true });
      await consumer.run(runConfig);
    } catch (err) {
      // The router may call consume again (it retries when the ingress topics are listed next): leave nothing behind.
      await consumer.disconnect().catch(() => undefined);
      this.consumer = undefined;
      throw err;
    }
    this.runConfig = runConfig;
    this.log.debug({ client: this.name }, "consuming");
  }

  /**
   * kafkajs subscribes only while stopped: stop (waits for the batches in flight, leaves the group), subscribe,
   * run again. Re-joining emits GROUP_JOIN, so the partitions' sinks are re-opened (fenced) before their next batch.
   */
  async resubscribe(topics: readonly string[]): Promise<void> {
    const consumer = this.consumer;
    if (consumer === undefined || this.runConfig === undefined) throw new Error("resubscribe before consume");
    await consumer.stop();
    try {
      await subscribeWhenReady(consumer, { topics: [...topics], fromBeginning: true });
    } finally {
      // Run again whatever happened: a failed subscribe must not leave the router consuming nothing.
      await consumer.run(this.runConfig);
    }
  }

  async stopConsuming(): Promise<void> {
    await this.consumer?.disconnect();
  }

  private readonly fatalListeners: ((err: Error) => void)[] = [];
  onFatal(fn: (err: Error) => void): void {
    this.fatalListeners.push(fn);
  }
}
