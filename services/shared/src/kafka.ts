/** kafkajs client construction and topic provisioning, both from configuration. */
import { Kafka, logLevel, type Admin, type ITopicConfig, type logCreator, type Producer, type ProducerConfig, type SASLOptions } from "kafkajs";
import type { Config } from "./config.js";
import type { Logger } from "./logger.js";
import { keyPartitioner } from "./partitioner.js";

function pinoLogCreator(log: Logger): logCreator {
  return () => ({ level, log: entry }) => {
    const { message, timestamp: _ts, logger: _l, ...rest } = entry;
    const fields = { ...rest, component: "kafkajs" };
    if (level === logLevel.ERROR) log.error(fields, message);
    else if (level === logLevel.WARN) log.warn(fields, message);
    else if (level === logLevel.INFO) log.debug(fields, message);
    else log.trace(fields, message);
  };
}

export function createKafka(config: Config, log: Logger, clientId = config.kafka.clientId): Kafka {
  return new Kafka({
    clientId,
    brokers: [...config.kafka.brokers],
    ssl: config.kafka.ssl,
    ...(config.kafka.sasl ? { sasl: { ...config.kafka.sasl } as SASLOptions } : {}),
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(log),
    retry: { initialRetryTime: 100, retries: 8 },
  });
}

export interface TopicSpec {
  readonly topic: string;
  readonly compacted?: boolean;
  readonly retentionMs?: number;
  readonly partitions?: number;
}

/** Creates the topics that do not exist yet; existing ones are left as they are. */
export async function ensureTopics(admin: Admin, config: Config, specs: readonly TopicSpec[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = specs
    .filter((s) => !existing.has(s.topic))
    .map((s) => {
      const configEntries = [];
      if (s.compacted) configEntries.push({ name: "cleanup.policy", value: "compact" });
      if (s.retentionMs !== undefined) configEntries.push({ name: "retention.ms", value: String(s.retentionMs) });
      return {
        topic: s.topic,
        numPartitions: s.partitions ?? config.kafka.topicPartitions,
        replicationFactor: config.kafka.replicationFactor,
        configEntries,
      };
    });
  if (missing.length === 0) return;
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (err) {
    // Another process may have created them between list and create; anything else is real.
    const after = new Set(await admin.listTopics());
    if (missing.some((t) => !after.has(t.topic))) throw err;
  }
}

/**
 * An idempotent producer (acks=-1 on every send is the caller's part). Keyed records go to the partition the
 * Java client would pick (murmur2), so a parcel's events stay in one partition whoever publishes them.
 * Retries are unbounded in count, as idempotence requires; non-retriable errors still fail at once.
 */
export function idempotentProducer(kafka: Kafka, opts: Omit<ProducerConfig, "idempotent" | "createPartitioner"> = {}): Producer {
  return kafka.producer({
    maxInFlightRequests: 1,
    ...opts,
    idempotent: true,
    createPartitioner: keyPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5_000 },
  });
}
