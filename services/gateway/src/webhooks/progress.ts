/**
 * Webhook delivery progress kept in Kafka. What has been delivered is the endpoint's consumer-group offset;
 * what is being retried is a record in the compacted `<prefix>.gateway.webhook-state` topic, one per endpoint
 * and partition: the offset being retried, how many attempts failed, since when, and when the next is due. A
 * gateway restarted at any moment reads it back and goes on with the same attempt count and schedule.
 */
import type { Kafka, Producer } from "kafkajs";
import { ensureTopics, idempotentProducer, ownGroup, subscribeWhenReady, whenReady, type Config, type Logger } from "@parcel-exchange/shared";

export interface RetryState {
  readonly offset: string;
  readonly attempts: number;
  readonly firstFailureAt: number;
  readonly nextAt: number;
  readonly lastError: string;
}

const keyOf = (endpointId: string, partition: number): string => `${endpointId}/${partition}`;

export class WebhookProgress {
  private readonly states = new Map<string, RetryState>();

  private constructor(
    private readonly topic: string,
    private readonly producer: Producer,
  ) {}

  /** Reads the whole state topic, then writes through it. */
  static async open(kafka: Kafka, config: Config, topic: string, log: Logger): Promise<WebhookProgress> {
    const admin = kafka.admin();
    await admin.connect();
    let high = 0n;
    try {
      await ensureTopics(admin, config, [{ topic, compacted: true }]);
      for (const p of await whenReady(`offsets of ${topic}`, () => admin.fetchTopicOffsets(topic))) high += BigInt(p.high) - BigInt(p.low);
    } finally {
      await admin.disconnect();
    }
    const producer = idempotentProducer(kafka);
    await producer.connect();
    const progress = new WebhookProgress(topic, producer);
    if (high > 0n) {
      const ends = await (async () => {
        const a = kafka.admin();
        await a.connect();
        try {
          return new Map((await whenReady(`offsets of ${topic}`, () => a.fetchTopicOffsets(topic))).map((p) => [p.partition, BigInt(p.high)]));
        } finally {
          await a.disconnect();
        }
      })();
      const consumer = kafka.consumer({ groupId: ownGroup(config, `webhook-state-${Date.now()}`), maxWaitTimeInMs: 100 });
      await consumer.connect();
      try {
        await subscribeWhenReady(consumer, { topic, fromBeginning: true });
        const pending = new Set([...ends].filter(([, h]) => h > 0n).map(([p]) => p));
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`reading ${topic} took over 60 s`)), 60_000);
          void consumer.run({
            eachMessage: async ({ partition, message }) => {
              const k = message.key?.toString();
              if (k !== undefined) {
                if (message.value === null) progress.states.delete(k);
                else {
                  try {
                    progress.states.set(k, JSON.parse(message.value.toString()) as RetryState);
                  } catch {
                    log.warn({ key: k }, "a webhook state record is not JSON; ignored");
                  }
                }
              }
              if (BigInt(message.offset) + 1n >= (ends.get(partition) ?? 0n)) pending.delete(partition);
              if (pending.size === 0) {
                clearTimeout(timer);
                resolve();
              }
            },
          });
        });
      } finally {
        await consumer.disconnect();
      }
    }
    return progress;
  }

  get(endpointId: string, partition: number): RetryState | undefined {
    return this.states.get(keyOf(endpointId, partition));
  }

  async save(endpointId: string, partition: number, s: RetryState): Promise<void> {
    const key = keyOf(endpointId, partition);
    await this.producer.send({ topic: this.topic, acks: -1, messages: [{ key, value: JSON.stringify(s) }] });
    this.states.set(key, s);
  }

  async clear(endpointId: string, partition: number): Promise<void> {
    const key = keyOf(endpointId, partition);
    if (!this.states.has(key)) return;
    await this.producer.send({ topic: this.topic, acks: -1, messages: [{ key, value: null }] });
    this.states.delete(key);
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }
}
