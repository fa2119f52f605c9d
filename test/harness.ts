/** Starts routers (in-process or as child processes) and publishes policies for integration tests. */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { Redis } from "ioredis";
import type { KafkaMessage } from "kafkajs";
import { createKafka, createLogger, createMetricsRegistry, loadSigner, signBundle, subscribeWhenReady, topics, type BundleRelease, type Config, type PolicyBundle, type PolicyData } from "@parcel-exchange/shared";
import { compileWasm, loadPolicyData, makeBundle, publishBundle } from "@parcel-exchange/policy-build";
import { routerMetrics, Router } from "@parcel-exchange/router";
import { ROOT, until } from "./helpers.js";
import { startPolicyService as startService, type RunningPolicyService } from "@parcel-exchange/policy";
export type { RunningPolicyService };

let wasm: Promise<Buffer> | undefined;
/** The router policy compiled once per test process. */
export function policyWasm(config: Config): Promise<Buffer> {
  wasm ??= compileWasm(config.opaBin);
  return wasm;
}

let lastSequence = 0;
/**
 * A release for a bundle a test publishes straight to the routers (not through the policy service, so it
 * names no ledger entry): the deployment's, with a sequence higher than any this process gave before.
 */
export function testRelease(config: Config): BundleRelease {
  lastSequence = Math.max(lastSequence + 1, Date.now());
  return { sequence: lastSequence, deployment: config.deploymentId, ledger: { seq: -1, hash: "published by a test, not through the ledger" } };
}

export async function publishPolicy(config: Config, data?: PolicyData, label = "test"): Promise<PolicyBundle> {
  const bundle = signBundle(makeBundle(await policyWasm(config), data ?? (await loadPolicyData()), label), loadSigner(config), testRelease(config));
  await publishBundle(createKafka(config, createLogger("test", "warn")), config, bundle);
  return bundle;
}

export interface RunningRouter {
  readonly router: Router;
  readonly metrics: ReturnType<typeof routerMetrics>;
  readonly registry: ReturnType<typeof createMetricsRegistry>;
  stop(): Promise<void>;
}

export async function startRouter(config: Config): Promise<RunningRouter> {
  const log = createLogger("router-test", config.logLevel);
  const registry = createMetricsRegistry("router");
  const metrics = routerMetrics(registry);
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const router = new Router({ config, kafka: createKafka(config, log), redis, log, metrics, instanceId: "test", topicRefreshMs: config.router.topicRefreshMs });
  await router.start();
  return {
    router,
    metrics,
    registry,
    async stop() {
      await router.stop();
      redis.disconnect();
    },
  };
}

/** A router as a separate process (for crash tests); resolves once it has started. */
export async function spawnRouter(env: Record<string, string>): Promise<{ child: ChildProcess; versions: string[] }> {
  const child = spawn(process.execPath, ["--conditions=px-source", "--import", "tsx", join(ROOT, "services/router/src/main.ts")], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  const versions: string[] = [];
  let started = false;
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      const o = JSON.parse(line) as { event?: string; version?: string };
      if (o.event === "policy_applied" && o.version) versions.push(o.version);
      if (o.event === "router_started") started = true;
    } catch {
      /* not ours */
    }
  });
  await until("router process to start", () => (child.exitCode !== null ? Promise.reject(new Error(`router exited ${child.exitCode}`)) : started || undefined), 60_000);
  return { child, versions };
}

/** Environment that makes a child process use the same configuration as `config`. */
export function envOf(config: Config): Record<string, string> {
  return {
    KAFKA_BROKERS: config.kafka.brokers.join(","),
    SCHEMA_REGISTRY_URL: config.registry.url,
    REDIS_URL: config.redisUrl,
    PX_TOPIC_PREFIX: config.topicPrefix,
    PX_ROUTER_GROUP: config.router.groupId,
    PX_TOPIC_PARTITIONS: String(config.kafka.topicPartitions),
    PX_METRICS_PORT: "0",
    PX_LOG_LEVEL: "warn",
    PX_ROUTER_SESSION_TIMEOUT_MS: String(config.router.sessionTimeoutMs),
    PX_REPLICATION_FACTOR: String(config.kafka.replicationFactor),
    KAFKA_SSL: String(config.kafka.ssl),
    ...(config.kafka.caFile ? { KAFKA_SSL_CA_FILE: config.kafka.caFile } : {}),
    ...(config.kafka.sasl
      ? { KAFKA_SASL_MECHANISM: config.kafka.sasl.mechanism, KAFKA_SASL_USERNAME: config.kafka.sasl.username, KAFKA_SASL_PASSWORD: config.kafka.sasl.password }
      : {}),
    ...(config.registry.username ? { SCHEMA_REGISTRY_USERNAME: config.registry.username, SCHEMA_REGISTRY_PASSWORD: config.registry.password ?? "" } : {}),
    NODE_ENV: "test",
  };
}

export interface RawDelivery {
  readonly topic: string;
  readonly message: KafkaMessage;
}

/** Reads every committed record of the given topics until no new one arrives for idleMs. */
export async function readAll(config: Config, topicList: readonly string[], opts: { idleMs?: number; min?: number; timeoutMs?: number } = {}): Promise<RawDelivery[]> {
  const kafka = createKafka(config, createLogger("test", "warn"));
  const consumer = kafka.consumer({ groupId: `${config.router.groupId}-reader-${Math.random().toString(36).slice(2)}`, readUncommitted: false, maxWaitTimeInMs: 100 });
  const out: RawDelivery[] = [];
  let last = Date.now();
  await consumer.connect();
  await subscribeWhenReady(consumer, { topics: [...topicList], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      out.push({ topic, message });
      last = Date.now();
    },
  });
  const idle = opts.idleMs ?? 2500;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  await until("deliveries to settle", () => ((out.length >= (opts.min ?? 0) && Date.now() - last > idle) || Date.now() > deadline ? true : undefined), (opts.timeoutMs ?? 60_000) + idle + 1000, 100);
  await consumer.disconnect();
  return out;
}

export const deliverTopics = (config: Config, parties: readonly string[]): string[] => parties.map((p) => topics(config.topicPrefix).deliver(p));

/** The policy service in-process with its ledger and HTTP API on a free port. */
export function startPolicyService(config: Config, now?: () => number): Promise<RunningPolicyService> {
  return startService(config, createLogger("policy-test", config.logLevel), { port: 0, ...(now ? { now } : {}) });
}
