/** kafkajs client construction and topic provisioning, both from configuration. */
import { createRequire } from "node:module";
import { Kafka, logLevel, type Admin, type Consumer, type ConsumerSubscribeTopic, type ConsumerSubscribeTopics, type ITopicConfig, type KafkaConfig, type logCreator, type Producer, type ProducerConfig, type SASLOptions } from "kafkajs";
import type { SASLOptions as PlatformaticSasl } from "@platformatic/kafka";
import type { Config } from "./config.js";
import { ConfigError, DependencyError, errorChain } from "./errors.js";
import type { Logger } from "./logger.js";
import { keyPartitioner } from "./partitioner.js";

/** The messages of the Kafka protocol errors kafkajs retries by itself (its own table of error codes). */
const RETRIABLE_MESSAGES: ReadonlySet<string> = new Set(
  (createRequire(import.meta.url)("kafkajs/src/protocol/error.js") as { errorCodes: readonly { message: string; retriable: boolean }[] }).errorCodes.filter((e) => e.retriable).map((e) => e.message),
);

/**
 * The level a kafkajs log entry is logged at. kafkajs logs at ERROR every broker answer with an error code and
 * every send it is about to retry, also those it retries by itself (a coordinator still loading, a topic not yet
 * on every broker, CONCURRENT_TRANSACTIONS right after a commit): those are expected and go to debug. What is
 * not retriable, and a retriable error kafkajs gives up on (it reaches the caller, who reports it), stays an
 * error.
 */
export function kafkajsLogLevel(level: logLevel, entry: { readonly message?: unknown; readonly error?: unknown }): "error" | "warn" | "debug" | "trace" {
  if (level === logLevel.ERROR) {
    const sendRetry = typeof entry.message === "string" && entry.message.startsWith("Failed to send messages: ") ? entry.message.slice("Failed to send messages: ".length) : undefined;
    const retried = (typeof entry.error === "string" && RETRIABLE_MESSAGES.has(entry.error)) || (sendRetry !== undefined && RETRIABLE_MESSAGES.has(sendRetry));
    return retried ? "debug" : "error";
  }
  if (level === logLevel.WARN) return "warn";
  return level === logLevel.INFO ? "debug" : "trace";
}

function pinoLogCreator(log: Logger): logCreator {
  return () => ({ level, log: entry }) => {
    const { message, timestamp: _ts, logger: _l, ...rest } = entry;
    const fields = { ...rest, component: "kafkajs" };
    log[kafkajsLogLevel(level, entry)](fields, message);
  };
}

/** Brokers, TLS (with the configured CA) and SASL as kafkajs takes them. */
function connectionOf(config: Config): Pick<KafkaConfig, "brokers" | "ssl" | "sasl"> {
  return {
    brokers: [...config.kafka.brokers],
    ssl: config.kafka.ssl ? (config.kafka.ca !== undefined ? { ca: [config.kafka.ca] } : true) : false,
    ...(config.kafka.sasl ? { sasl: { ...config.kafka.sasl } as SASLOptions } : {}),
  };
}

export function createKafka(config: Config, log: Logger, clientId = config.kafka.clientId): Kafka {
  return new Kafka({
    clientId,
    ...connectionOf(config),
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(log),
    retry: { initialRetryTime: 100, retries: 8 },
  });
}

export interface TopicSpec {
  readonly topic: string;
  readonly compacted?: boolean;
  readonly retentionMs?: number;
  /** Further topic configs (e.g. retention.bytes). */
  readonly configs?: Readonly<Record<string, string>>;
  readonly partitions?: number;
}

/** The topic configs a spec sets explicitly: its cleanup policy, retention and further configs. */
export function topicSpecConfigs(s: TopicSpec): Record<string, string> {
  return { ...(s.compacted ? { "cleanup.policy": "compact" } : {}), ...(s.retentionMs !== undefined ? { "retention.ms": String(s.retentionMs) } : {}), ...s.configs };
}

/**
 * The policy topic, which routers follow: one partition, never compacted and kept forever, so no record of a
 * newer bundle can be compacted away by a record written later under the same key.
 */
export const policyTopicSpec = (topic: string): TopicSpec => ({ topic, partitions: 1, retentionMs: -1, configs: { "retention.bytes": "-1", "cleanup.policy": "delete" } });

/**
 * Error types a broker answers while it is still loading partitions or a new topic's metadata is propagating:
 * waiting is the cure. Anything else (authorization, invalid configuration) is not retried here.
 */
const NOT_READY = new Set([
  "UNKNOWN_TOPIC_OR_PARTITION",
  "LEADER_NOT_AVAILABLE",
  "NOT_LEADER_OR_FOLLOWER",
  "NOT_LEADER_FOR_PARTITION",
  "BROKER_NOT_AVAILABLE",
  "REPLICA_NOT_AVAILABLE",
  "NOT_CONTROLLER",
  "REQUEST_TIMED_OUT",
  "COORDINATOR_LOAD_IN_PROGRESS",
  "COORDINATOR_NOT_AVAILABLE",
  "NOT_COORDINATOR",
]);

/** Whether an error (or one it wraps) says the broker is not ready yet, rather than that the request is wrong. */
export function isNotReady(err: unknown): boolean {
  return errorChain(err).some((e) => {
    const o = e as { type?: unknown; name?: unknown; errors?: unknown };
    if (typeof o.type === "string" && NOT_READY.has(o.type)) return true;
    if (o.name === "KafkaJSConnectionError" || o.name === "KafkaJSRequestTimeoutError" || o.name === "KafkaJSTopicMetadataNotLoaded") return true;
    return Array.isArray(o.errors) && o.errors.some((x) => isNotReady(x));
  });
}

export interface ReadyWait {
  /** How long to keep trying before giving up with a DependencyError (default 60 s). */
  readonly timeoutMs?: number;
}

/** Runs `fn` until it succeeds, retrying with back-off while the broker is not ready, for at most timeoutMs. */
export async function whenReady<T>(what: string, fn: () => Promise<T>, opts: ReadyWait = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let delay = 100;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isNotReady(err)) throw err;
      if (Date.now() + delay > deadline) {
        throw new DependencyError("Kafka", `${what}: the broker was still not ready after ${opts.timeoutMs ?? 60_000} ms (${(err as Error).message}); check that every broker is up (npm run stack -- status) and try again`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2_000);
    }
  }
}

/**
 * Waits until the broker serves metadata for every topic, each partition with a leader: only then can a topic
 * just created be produced to and read. A broker that is still loading answers UNKNOWN_TOPIC_OR_PARTITION
 * for a while after CreateTopics succeeded.
 */
export async function waitForTopics(admin: Admin, names: readonly string[], opts: ReadyWait = {}): Promise<void> {
  if (names.length === 0) return;
  await whenReady(`metadata of ${names.length === 1 ? names[0] : `${names.length} topics`}`, async () => {
    const meta = await admin.fetchTopicMetadata({ topics: [...names] });
    for (const name of names) {
      const t = meta.topics.find((x) => x.name === name);
      if (t === undefined || t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0)) {
        throw Object.assign(new Error(`topic ${name} has no leader for every partition yet`), { type: "LEADER_NOT_AVAILABLE" });
      }
    }
  }, opts);
}

/**
 * Deletes every topic whose name starts with `prefix` (test runs, earlier demo runs and benchmarks clean up
 * after themselves); returns the names deleted.
 */
export async function deleteTopicsWithPrefix(kafka: Kafka, prefix: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const doomed = (await whenReady("list topics", () => admin.listTopics())).filter((t) => t.startsWith(prefix));
    for (let i = 0; i < doomed.length; i += 100) await admin.deleteTopics({ topics: doomed.slice(i, i + 100), timeout: 30_000 });
    return doomed;
  } finally {
    await admin.disconnect();
  }
}

/** Creates the topics that do not exist yet (existing ones are left as they are) and waits until all are usable. */
export async function ensureTopics(admin: Admin, config: Config, specs: readonly TopicSpec[]): Promise<void> {
  const existing = new Set(await whenReady("list topics", () => admin.listTopics()));
  const missing: ITopicConfig[] = specs
    .filter((s) => !existing.has(s.topic))
    .map((s) => {
      const configEntries = Object.entries({ ...topicSpecConfigs(s), "min.insync.replicas": String(config.kafka.minInsyncReplicas) }).map(([name, value]) => ({ name, value }));
      return {
        topic: s.topic,
        numPartitions: s.partitions ?? config.kafka.topicPartitions,
        replicationFactor: config.kafka.replicationFactor,
        configEntries,
      };
    });
  if (missing.length > 0) {
    try {
      // Not kafkajs's waitForLeaders: on several brokers its metadata poll fails on UNKNOWN_TOPIC_OR_PARTITION
      // while the new topic propagates; waitForTopics below waits that out.
      await whenReady("create topics", () => admin.createTopics({ topics: missing, waitForLeaders: false }));
    } catch (err) {
      // Another process may have created them between list and create; anything else is real.
      const after = new Set(await whenReady("list topics", () => admin.listTopics()));
      if (missing.some((t) => !after.has(t.topic))) throw err;
    }
  }
  await waitForTopics(admin, specs.map((s) => s.topic));
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

/** @platformatic/kafka connection options from the same settings: brokers, client id, TLS (with the CA) and SASL. */
export function platformaticConnection(config: Config): { clientId: string; bootstrapBrokers: string[]; tls?: { ca?: string }; sasl?: PlatformaticSasl } {
  const s = config.kafka.sasl;
  const mechanism = s ? ({ plain: "PLAIN", "scram-sha-256": "SCRAM-SHA-256", "scram-sha-512": "SCRAM-SHA-512" } as const)[s.mechanism] : undefined;
  return {
    clientId: config.kafka.clientId,
    bootstrapBrokers: [...config.kafka.brokers],
    ...(config.kafka.ssl ? { tls: config.kafka.ca !== undefined ? { ca: config.kafka.ca } : {} } : {}),
    ...(s && mechanism ? { sasl: { mechanism, username: s.username, password: s.password } } : {}),
  };
}

const TLS_TRUST_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/**
 * What a failed first connection says about the configuration, or undefined when it is something that waiting
 * cures (a broker that is down or starting). Wrong credentials and untrusted certificates are not retried.
 */
export function classifyConnectError(err: unknown, config: Config): ConfigError | undefined {
  const chain = errorChain(err);
  const text = chain.map((e) => `${(e as { name?: string }).name ?? ""} ${(e as { type?: string }).type ?? ""} ${(e as Error).message ?? ""}`).join(" | ");
  const code = chain.map((e) => (e as { code?: unknown }).code).find((c): c is string => typeof c === "string" && TLS_TRUST_CODES.has(c));
  if (code !== undefined || /self[- ]signed certificate|unable to verify the first certificate|certificate has expired|Hostname\/IP does not match/i.test(text)) {
    return new ConfigError(
      "KAFKA_SSL_CA_FILE",
      `the brokers' TLS certificate is not trusted (${code ?? "verification failed"})${config.kafka.caFile ? ` with the CA in ${config.kafka.caFile}` : " by the system's CAs"}`,
      "set KAFKA_SSL_CA_FILE to the PEM file of the CA that signed the brokers' certificates (the local stack's: npm run -s stack -- env)",
    );
  }
  if (/SASLAuthentication|SASL_AUTHENTICATION_FAILED|Authentication failed|invalid credentials/i.test(text)) {
    return new ConfigError(
      "KAFKA_SASL_PASSWORD",
      `the brokers refused the credentials of '${config.kafka.sasl?.username ?? "(none)"}' (${config.kafka.sasl?.mechanism ?? "no SASL"})`,
      "set KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD to a principal of the cluster (local stack: npm run -s stack -- env [principal])",
    );
  }
  if (config.kafka.sasl === undefined && /Connection (closed|error)|Closed connection|ECONNRESET|socket hang up|EPIPE/i.test(text)) {
    return new ConfigError(
      "KAFKA_SASL_MECHANISM",
      "the brokers closed the connection before answering, as a SASL listener does with a client that does not authenticate",
      "set KAFKA_SASL_MECHANISM=scram-sha-512 with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (local stack: npm run -s stack -- env)",
    );
  }
  if (!config.kafka.ssl && /Connection (closed|error)|Closed connection|ECONNRESET/i.test(text)) {
    return new ConfigError("KAFKA_SSL", "the brokers closed a plaintext connection", "set KAFKA_SSL=true (the cluster accepts TLS only)");
  }
  return undefined;
}

/**
 * Connects once to check the brokers accept this client's TLS and credentials: a wrong password or an untrusted
 * certificate fails at once with a ConfigError naming the setting; a cluster that is not up yet is waited for.
 */
export async function verifyKafkaAccess(config: Config, log: Logger, timeoutMs = 60_000): Promise<void> {
  const probe = new Kafka({
    clientId: `${config.kafka.clientId}-probe`,
    ...connectionOf(config),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    retry: { retries: 0 },
  });
  const deadline = Date.now() + timeoutMs;
  let delay = 250;
  for (;;) {
    const admin = probe.admin();
    try {
      await admin.connect();
      // A request that needs an authenticated session (connecting alone may stop at ApiVersions, which a SASL
      // listener answers before authentication).
      await admin.listTopics();
      await admin.disconnect();
      return;
    } catch (err) {
      await admin.disconnect().catch(() => undefined);
      const fatal = classifyConnectError(err, config);
      if (fatal) throw fatal;
      if (Date.now() + delay > deadline) {
        throw new DependencyError("Kafka", `no broker of ${config.kafka.brokers.join(",")} answered within ${timeoutMs} ms (${(err as Error).message}); check KAFKA_BROKERS and that the cluster is up (npm run stack -- status)`, { cause: err });
      }
      log.warn({ brokers: config.kafka.brokers, err: (err as Error).message }, "Kafka not reachable yet; retrying");
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2_000);
    }
  }
}

/**
 * consumer.subscribe, waiting (bounded) while a broker does not know the topic yet: on a multi-broker cluster a
 * topic just created reaches every broker's metadata a moment later, and kafkajs fails subscribe at once then.
 */
export function subscribeWhenReady(consumer: Consumer, subscription: ConsumerSubscribeTopics | ConsumerSubscribeTopic): Promise<void> {
  const names = "topics" in subscription ? subscription.topics.map(String).join(", ") : String(subscription.topic);
  return whenReady(`subscribe to ${names}`, () => consumer.subscribe(subscription));
}
