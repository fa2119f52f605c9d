/**
 * A small key → JSON store on a compacted Kafka topic: read whole at start, written through. `admit` decides
 * for every record read whether it counts (a refused record leaves the key as it was before it).
 */
import { randomUUID } from "node:crypto";
import type { Kafka, Producer } from "kafkajs";
import { ensureTopics, idempotentProducer, ownGroup, subscribeWhenReady, whenReady, type Config } from "@parcel-exchange/shared";

export class KafkaKv<T> {
  private readonly map = new Map<string, T>();
  private producer: Producer | undefined;

  private constructor(readonly topic: string) {}

  static async open<T>(kafka: Kafka, config: Config, topic: string, admit: (key: string, value: unknown) => boolean = () => true): Promise<KafkaKv<T>> {
    const kv = new KafkaKv<T>(topic);
    const admin = kafka.admin();
    await admin.connect();
    let high: bigint;
    try {
      await ensureTopics(admin, config, [{ topic, compacted: true, partitions: 1 }]);
      // A topic just created may not have a leader on every broker yet (NOT_LEADER_FOR_PARTITION): wait for it.
      high = BigInt((await whenReady(`offsets of ${topic}`, () => admin.fetchTopicOffsets(topic)))[0]?.high ?? "0");
    } finally {
      await admin.disconnect();
    }
    if (high > 0n) {
      const consumer = kafka.consumer({ groupId: ownGroup(config, `kv-${randomUUID()}`), maxWaitTimeInMs: 100 });
      await consumer.connect();
      try {
        await subscribeWhenReady(consumer, { topic, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`reading ${topic} took over 30 s`)), 30_000);
          void consumer.run({
            eachMessage: async ({ message }) => {
              const k = message.key?.toString();
              if (k !== undefined) {
                let value: unknown = null;
                if (message.value !== null) {
                  try {
                    value = JSON.parse(message.value.toString());
                  } catch {
                    value = undefined; // not JSON: admit() sees undefined and refuses it
                  }
                }
                if (admit(k, value)) {
                  if (value === null) kv.map.delete(k);
                  else kv.map.set(k, value as T);
                }
              }
              if (BigInt(message.offset) + 1n >= high) {
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
    kv.producer = idempotentProducer(kafka);
    await kv.producer.connect();
    return kv;
  }

  get(key: string): T | undefined {
    return this.map.get(key);
  }

  values(): T[] {
    return [...this.map.values()];
  }

  async put(key: string, value: T): Promise<void> {
    await this.producer!.send({ topic: this.topic, acks: -1, messages: [{ key, value: JSON.stringify(value) }] });
    this.map.set(key, value);
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
  }
}
