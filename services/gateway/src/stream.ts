/**
 * The live stream: a party's deliveries as Server-Sent Events. Every event's id is the stream's position in
 * every partition of the party's delivery topic (`0:12,1:7,2:30`, next offsets), so a client that reconnects
 * with `Last-Event-ID` continues exactly after the last event it saw, nothing skipped, nothing repeated. Each
 * stream has its own consumer, which commits nothing: the position lives with the client.
 */
import type { ServerResponse } from "node:http";
import type { Kafka } from "kafkajs";
import type { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import type { EventType } from "@parcel-exchange/sdk";
import { subscribeWhenReady, topics, whenReady, type Config, type Logger } from "@parcel-exchange/shared";
import { noticePayload, payloadOf, readDelivery } from "./deliveries.js";
import { toEpcisDocument } from "./epcis/epcis.js";
import { GatewayError } from "./errors.js";
import { deleteScratchGroup, scratchGroup } from "./scratch-group.js";
import type { GatewayMetrics } from "./metrics.js";

export type Positions = Map<number, bigint>;

/** `0:12,1:7` → positions; GatewayError REQUEST_INVALID when it is not one. */
export function parsePositions(raw: string): Positions {
  const out: Positions = new Map();
  for (const part of raw.split(",")) {
    const m = /^(\d{1,6}):(\d{1,19})$/.exec(part.trim());
    if (!m) throw new GatewayError("REQUEST_INVALID", `Last-Event-ID '${raw.slice(0, 80)}' is not a stream position (partition:offset,…)`);
    out.set(Number(m[1]), BigInt(m[2]!));
  }
  return out;
}

export const formatPositions = (p: Positions): string =>
  [...p]
    .sort(([a], [b]) => a - b)
    .map(([k, v]) => `${k}:${v}`)
    .join(",");

export interface StreamOptions {
  readonly party: string;
  readonly types: readonly EventType[];
  readonly format: "json" | "epcis";
  readonly from: "latest" | "earliest";
  readonly lastEventId: string | undefined;
}

const KEEPALIVE_MS = 15_000;

export async function openStream(
  deps: { kafka: Kafka; config: Config; registry: SchemaRegistry; log: Logger; metrics: GatewayMetrics },
  res: ServerResponse,
  o: StreamOptions,
  closed: Promise<void>,
): Promise<void> {
  const { kafka, config, registry, log, metrics } = deps;
  const topic = topics(config.topicPrefix).deliver(o.party);
  const positions: Positions = o.lastEventId !== undefined ? parsePositions(o.lastEventId) : new Map();
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const p of await whenReady(`offsets of ${topic}`, () => admin.fetchTopicOffsets(topic))) {
      if (!positions.has(p.partition)) positions.set(p.partition, BigInt(o.from === "earliest" ? p.low : p.high));
    }
  } finally {
    await admin.disconnect();
  }
  const groupId = scratchGroup(config, "stream");
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 50, allowAutoTopicCreation: false });
  await consumer.connect();
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" });
  res.write(`: stream of ${topic} from ${formatPositions(positions)}\n\n`);
  metrics.streams.inc();
  const write = async (chunk: string): Promise<void> => {
    if (!res.write(chunk)) await new Promise<void>((r) => res.once("drain", () => r()));
  };
  const keepalive = setInterval(() => res.write(": keep-alive\n\n"), KEEPALIVE_MS);
  try {
    await subscribeWhenReady(consumer, { topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const at = positions.get(partition);
        if (at !== undefined && BigInt(message.offset) < at) return; // before the client's position
        positions.set(partition, BigInt(message.offset) + 1n);
        const read = await readDelivery(registry, topic, partition, message);
        const id = formatPositions(positions);
        if (read.kind === "undecodable") {
          metrics.undecodable.inc();
          log.error({ topic, partition, offset: message.offset, err: read.error }, "a delivery record cannot be decoded; not streamed");
          return;
        }
        if (read.kind === "notice") {
          await write(`id: ${id}\nevent: PolicyNotice\ndata: ${JSON.stringify(noticePayload(read.notice, read.timestamp))}\n\n`);
          return;
        }
        const d = read.delivery;
        if (!o.types.includes(d.type)) {
          await write(`id: ${id}\n: skipped ${d.type}\n\n`); // keeps the client's position moving
          return;
        }
        const data =
          o.format === "epcis"
            ? { type: "EPCISDocument", timestamp: read.timestamp, data: toEpcisDocument([{ type: d.type, event: d.event as unknown as Record<string, unknown>, policyVersion: d.policyVersion, eventId: d.sourceEventId }], {}), policyVersion: d.policyVersion, sourceEventId: d.sourceEventId }
            : payloadOf(d, read.timestamp);
        await write(`id: ${id}\nevent: ${d.type}\ndata: ${JSON.stringify(data)}\n\n`);
      },
    });
    for (const [partition, offset] of positions) consumer.seek({ topic, partition, offset: offset.toString() });
    await closed;
  } finally {
    clearInterval(keepalive);
    metrics.streams.dec();
    await consumer.disconnect().catch(() => undefined);
    await deleteScratchGroup(kafka, groupId);
  }
}
