/**
 * `GET /v1/parcels/{id}/events`: one parcel's deliveries to the calling party, oldest first, read back from
 * the party's own delivery topic. A parcel's records are keyed by its id, so they sit in one partition (the
 * exchange's key partitioner), and only that partition is scanned, from its oldest retained record to its
 * end at the time of the request. Bounded: at most PX_GATEWAY_HISTORY_SCAN records or 20 s.
 */
import type { Kafka } from "kafkajs";
import type { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import { partitionOfKey, subscribeWhenReady, topics, whenReady, type Config, type Logger } from "@parcel-exchange/shared";
import { readDelivery, payloadOf, type DeliveryPayload } from "./deliveries.js";
import { GatewayError } from "./errors.js";
import { deleteScratchGroup, scratchGroup } from "./scratch-group.js";

const SCAN_LIMIT_MS = 20_000;

export async function parcelHistory(deps: { kafka: Kafka; config: Config; registry: SchemaRegistry; log: Logger }, party: string, parcelId: string, maxScan: number): Promise<DeliveryPayload[]> {
  const { kafka, config, registry } = deps;
  const topic = topics(config.topicPrefix).deliver(party);
  const admin = kafka.admin();
  await admin.connect();
  let low: bigint;
  let high: bigint;
  let partition: number;
  try {
    const offsets = await whenReady(`offsets of ${topic}`, () => admin.fetchTopicOffsets(topic));
    partition = partitionOfKey(parcelId, offsets.length);
    const p = offsets.find((o) => o.partition === partition)!;
    low = BigInt(p.low);
    high = BigInt(p.high);
  } finally {
    await admin.disconnect();
  }
  if (high <= low) return [];
  const from = high - low > BigInt(maxScan) ? high - BigInt(maxScan) : low;
  const groupId = scratchGroup(config, "history");
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 50, allowAutoTopicCreation: false });
  const out: DeliveryPayload[] = [];
  await consumer.connect();
  try {
    await subscribeWhenReady(consumer, { topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new GatewayError("UNAVAILABLE", `reading the parcel's history took over ${SCAN_LIMIT_MS / 1000} s`, undefined, 5)), SCAN_LIMIT_MS);
      void consumer
        .run({
          eachBatch: async ({ batch, resolveOffset }) => {
            if (batch.partition !== partition) {
              consumer.pause([{ topic, partitions: [batch.partition] }]);
              return;
            }
            for (const m of batch.messages) {
              resolveOffset(m.offset);
              if (BigInt(m.offset) < from) continue;
              if (BigInt(m.offset) >= high) break;
              if (m.key?.toString() === parcelId) {
                const r = await readDelivery(registry, topic, partition, m);
                if (r.kind === "event") out.push(payloadOf(r.delivery, r.timestamp));
              }
            }
            // A batch ends at the last stable offset: markers after the last record count as read.
            if (BigInt(batch.lastOffset()) + 1n >= high || BigInt(batch.highWatermark) <= BigInt(batch.lastOffset()) + 1n) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
      consumer.seek({ topic, partition, offset: from.toString() });
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await deleteScratchGroup(kafka, groupId);
  }
  return out;
}
