/**
 * Each real component of the local stack, exercised through the same clients the services use. Every test
 * here fails when its component is missing or misconfigured.
 */
import { mkdtemp, readFile, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SchemaType } from "@kafkajs/confluent-schema-registry";
import { loadPolicy } from "@open-policy-agent/opa-wasm";
import { Redis } from "ioredis";
import { Counter } from "prom-client";
import { describe, expect, it } from "vitest";
import { createKafka, createLogger, createMetricsRegistry, createRegistryClient, idempotentProducer, serveMetrics, subscribeWhenReady } from "@parcel-exchange/shared";
import { produceToNewTopic, run, stack, testConfig, until } from "./helpers.js";

const config = testConfig("stack");
const log = createLogger("test", "warn");
const kafka = createKafka(config, log);

describe("kafka (KRaft broker)", () => {
  const topic = `${config.topicPrefix}.smoke`;

  it("produces and consumes in a consumer group", async () => {
    await produceToNewTopic(kafka, config, topic, [{ key: "k1", value: "hello" }, { key: "k2", value: "world" }]);
    const consumer = kafka.consumer({ groupId: `${config.router.groupId}-smoke` });
    await consumer.connect();
    await subscribeWhenReady(consumer, { topic, fromBeginning: true });
    const got: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void got.push(String(message.value)) });
    await until("both records", () => (got.includes("hello") && got.includes("world")) || undefined);
    await consumer.disconnect();
    // A consumer group delivers at least once: a rebalance before the first offset commit (the group settling
    // while three brokers learn of the new topic) hands the same record out again, as one CI run saw. What this
    // test proves is that both records reach the group, and nothing else does.
    expect([...new Set(got)].sort()).toEqual(["hello", "world"]);
  });

  it("commits and aborts transactions: read_committed consumers see only committed records", async () => {
    const producer = idempotentProducer(kafka, { transactionalId: `${config.topicPrefix}-tx` });
    await producer.connect();
    const aborted = await producer.transaction();
    await aborted.send({ topic, acks: -1, messages: [{ key: "x", value: "aborted" }] });
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic, acks: -1, messages: [{ key: "y", value: "committed" }] });
    await committed.commit();
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `${config.router.groupId}-tx`, readUncommitted: false });
    await consumer.connect();
    await subscribeWhenReady(consumer, { topic, fromBeginning: true });
    const got: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void got.push(String(message.value)) });
    await until("committed record", () => got.includes("committed") || undefined);
    await new Promise((r) => setTimeout(r, 500));
    await consumer.disconnect();
    expect(got).toContain("committed");
    expect(got).not.toContain("aborted");
  });
});

describe("schema registry (Confluent API)", () => {
  it("registers an Avro schema and round-trips a record in the wire format", async () => {
    const registry = createRegistryClient(config);
    const schema = { type: "record", name: "Probe", namespace: "exchange.parcel.test", fields: [{ name: "n", type: "int" }] };
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject: `${config.topicPrefix}.probe-value` });
    const buf = await registry.encode(id, { n: 42 });
    expect(buf[0]).toBe(0);
    expect(buf.readInt32BE(1)).toBe(id);
    expect(await registry.decode(buf)).toEqual({ n: 42 });
  });
});

describe("opa (Rego → Wasm → opa-wasm)", () => {
  it("compiles a policy with the opa CLI and evaluates it in-process", async () => {
    const dir = await mkdtemp(join(tmpdir(), "px-opa-"));
    try {
      await writeFile(join(dir, "p.rego"), "package probe\n\nallow if input.n > 1\n");
      await run(config.opaBin, ["build", "-t", "wasm", "-e", "probe/allow", "-o", join(dir, "b.tar.gz"), join(dir, "p.rego")]);
      await run("tar", ["-xzf", join(dir, "b.tar.gz"), "-C", dir, "/policy.wasm"]);
      const policy = await loadPolicy(await readFile(join(dir, "policy.wasm")));
      expect(policy.evaluate({ n: 2 })).toEqual([{ result: true }]);
      expect(policy.evaluate({ n: 0 })).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("redis", () => {
  it("stores and counts through ioredis", async () => {
    const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const key = `${config.topicPrefix}:probe`;
    expect(await redis.incrby(key, 3)).toBe(3);
    expect(await redis.incrby(key, 4)).toBe(7);
    await redis.del(key);
    redis.disconnect();
  });
});

describe("metrics", () => {
  it("serves a px_ counter on /metrics", async () => {
    const registry = createMetricsRegistry("test");
    const c = new Counter({ name: "px_test_probe_total", help: "probe", registers: [registry] });
    c.inc(5);
    const server = await serveMetrics(registry, 0);
    const port = (server.address() as { port: number }).port;
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    server.close();
    expect(body).toMatch(/^px_test_probe_total\{service="test"\} 5$/m);
  });
});

describe("stack script", () => {
  it("names a killed component as down and brings it back with up", async () => {
    const pid = Number((await stack("pid", "redis")).out.trim());
    expect(pid).toBeGreaterThan(1);
    process.kill(pid, "SIGKILL");
    await until("redis to exit", () => {
      try {
        process.kill(pid, 0);
        return undefined;
      } catch {
        return true;
      }
    });
    const down = await stack("status");
    expect(down.code).not.toBe(0);
    expect(down.out).toMatch(/^redis\s+down/m);
    for (const node of ["kafka-1", "kafka-2", "kafka-3"]) expect(down.out).toMatch(new RegExp(`^${node}\\s+up`, "m"));
    const up = await stack("up");
    expect(up.code).toBe(0);
    expect(up.out).toContain("started: redis");
    const again = await stack("up");
    expect(again.out).toContain("nothing to do");
  });
});
