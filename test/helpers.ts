/** Shared helpers for integration tests: a per-run config with its own topic prefix, and stack paths. */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Kafka, Message } from "kafkajs";
import { ensureTopics, idempotentProducer, loadConfig, type Config } from "@parcel-exchange/shared";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const STACK = join(ROOT, "infra/local/stack.sh");
export const run = promisify(execFile);

/** Every test topic starts with this; the run's own topics with testTopicPrefix(). */
export const TEST_TOPIC_ROOT = "pxt.";
/** The topic prefix of this test run (set by the global setup), under which it deletes its topics at the end. */
export const testTopicPrefix = (): string => `${TEST_TOPIC_ROOT}${process.env.PX_TEST_RUN ?? "adhoc"}.`;

/** Configuration pointing at the stack, with topics and consumer groups unique to this test run. */
export function testConfig(name: string, extra: Record<string, string> = {}): Config {
  const id = `${name}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  return registered(loadConfig({ ...process.env, NODE_ENV: "test", PX_LOG_LEVEL: process.env.PX_LOG_LEVEL ?? "warn", PX_TOPIC_PREFIX: `${testTopicPrefix()}${id}`, PX_ROUTER_GROUP: `pxt-router-${id}`, PX_TOPIC_PARTITIONS: "3", PX_METRICS_PORT: "0", ...extra }));
}

/**
 * Every deployment a test file configures: test/provision-setup.ts gives each one, before the file's tests, what
 * the exchange's provisioning gives a deployment's parties (registered schemas, ingress topics), as the admin.
 */
export const testDeployments: Config[] = [];
function registered(c: Config): Config {
  testDeployments.push(c);
  return c;
}

export async function stack(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run("bash", [STACK, ...args], { cwd: ROOT });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

export async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Creates `topic` (as the deployment's topics are made) and writes `messages` to it with acks=all. */
export async function produceToNewTopic(kafka: Kafka, config: Config, topic: string, messages: Message[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, config, [{ topic }]);
  } finally {
    await admin.disconnect();
  }
  const producer = idempotentProducer(kafka);
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}
