/**
 * Isolation enforced by the broker and the registry, tried as an attacker holding one party's credentials would:
 * on a deployment provisioned from the parties file, every party principal may write only its own ingress
 * topics and read only its own delivery topic; it sees no other party's topic or subject name; it cannot write the
 * policy, ledger or dead-letter topics, use the router's group or transactional ids, or change the registry.
 * A party that publishes an event claiming another party as its source is dead-lettered as spoofed_source; a
 * policy bundle written with a stolen policy-service credential but not signed by the service is refused.
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kafka } from "kafkajs";
import { Admin as PlatformaticAdmin, Consumer as PlatformaticConsumer, Producer as PlatformaticProducer } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConfigError,
  createKafka,
  createLogger,
  createRegistryClient,
  errorTypes,
  HEADERS,
  keyIdOf,
  loadConfig,
  lookupEventSchemaIds,
  platformaticConnection,
  signBundle,
  topics,
  verifyKafkaAccess,
  type Config,
  type Signer,
} from "@parcel-exchange/shared";
import { loadPolicyData, makeBundle, publishBundle } from "@parcel-exchange/policy-build";
import { PartyPublisher, prepareEvent } from "@parcel-exchange/sdk";
import { credentialEnv, deprovisionDeployment, provisionDeployment, readParties, type Credential } from "@parcel-exchange/provision";
import { produceOnce } from "@parcel-exchange/demo";
import { T2 } from "./fixtures.js";
import { policyWasm, publishPolicy, readAll, startRouter, testRelease, type RunningRouter } from "./harness.js";
import { ROOT, run, testConfig, until } from "./helpers.js";

const log = createLogger("test", "silent");
const admin = testConfig("iso");
const prefix = admin.topicPrefix;
const t = topics(prefix);
const routerGroup = `${prefix}.router.routers`;
const parties = readParties(join(ROOT, "policies/data/parties.json"));
/** A courier that joins after the router has started. */
const NEWCOMER = { sto: { kind: "courier", name: "STO Express" } };
const PARTIES = Object.keys(parties);
let credDir: string;
const creds = new Map<string, Credential>();
let router: RunningRouter | undefined;

/** The configuration of one principal of the deployment (party or service). */
function as(id: string, extra: Record<string, string> = {}): Config {
  const c = creds.get(`${prefix}.${id}`);
  if (!c) throw new Error(`no credential for ${id}`);
  return loadConfig({ ...process.env, NODE_ENV: "test", PX_LOG_LEVEL: "silent", PX_TOPIC_PREFIX: prefix, PX_ROUTER_GROUP: routerGroup, PX_TOPIC_PARTITIONS: "3", PX_METRICS_PORT: "0", ...credentialEnv(c), ...extra });
}

const kafkaOf = (config: Config): Kafka => createKafka(config, log);

/** The broker's refusal of a call (an *_AUTHORIZATION_FAILED type), "allowed", or what else went wrong. */
async function refusal(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    const types = errorTypes(err);
    return types.find((x) => x.endsWith("AUTHORIZATION_FAILED")) ?? `unexpected: ${types.join(",")} ${(err as Error).message}`;
  }
  return "allowed";
}

async function registry(config: Config, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${config.registry.url}${path}`, {
    method,
    headers: { "content-type": "application/vnd.schemaregistry.v1+json", authorization: `Basic ${Buffer.from(`${config.registry.username}:${config.registry.password}`).toString("base64")}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, text: await res.text() };
}

async function endOffsetsTotal(topicNames: readonly string[]): Promise<number> {
  const a = kafkaOf(admin).admin();
  await a.connect();
  try {
    let total = 0;
    for (const topic of topicNames) for (const p of await a.fetchTopicOffsets(topic)) total += Number(p.high);
    return total;
  } finally {
    await a.disconnect();
  }
}

beforeAll(async () => {
  credDir = await mkdtemp(join(tmpdir(), "px-iso-"));
  const r = await provisionDeployment({ config: admin, parties, credentialsDir: credDir, log });
  for (const c of r.credentials) creds.set(c.principal, c);
});

afterAll(async () => {
  await router?.stop();
  await deprovisionDeployment({ config: admin, parties: { ...parties, ...NEWCOMER }, credentialsDir: credDir, log }).catch(() => undefined);
  await rm(credDir, { recursive: true, force: true });
});

describe("cross-party probing, for every party principal", () => {
  for (const party of PARTIES) {
    it(`${party}: sees only its own topics and is refused everything else`, async () => {
      const me = as(party);
      const kafka = kafkaOf(me);
      const others = PARTIES.filter((p) => p !== party);
      const a = kafka.admin();
      await a.connect();
      try {
        // (Topics just provisioned reach every broker's metadata a moment later: list until the party's own is there.)
        const listed = (await until("the party's own topics to be listed", async () => {
          const l = await a.listTopics();
          return l.includes(t.deliver(party)) ? l : undefined;
        }, 15_000)).sort();
        // Only its own ingress topic(s) and its delivery topic; no other party's name anywhere.
        expect(listed.every((x) => x === t.deliver(party) || t.parseIngress(x)?.party === party)).toBe(true);
        expect(listed).toContain(t.deliver(party));
        for (const o of others) expect(listed.filter((x) => x.split(".").includes(o))).toEqual([]);
        const other = others[0]!;
        const otherIngress = (await kafkaOfAdminTopics()).filter((x) => t.parseIngress(x)?.party === other);
        expect(otherIngress.length).toBeGreaterThan(0);
        expect(await refusal(() => a.fetchTopicMetadata({ topics: [t.deliver(other)] }))).toBe("TOPIC_AUTHORIZATION_FAILED");
        expect(await refusal(() => a.fetchTopicMetadata({ topics: [otherIngress[0]!] }))).toBe("TOPIC_AUTHORIZATION_FAILED");
      } finally {
        await a.disconnect();
      }
      // The routers' committed offsets (kafkajs loses the broker's answer to FindCoordinator; @platformatic/kafka keeps it).
      const pa = new PlatformaticAdmin({ ...platformaticConnection(me), retries: 0 });
      try {
        expect(await refusal(() => pa.listConsumerGroupOffsets({ groups: [routerGroup] }))).toBe("GROUP_AUTHORIZATION_FAILED");
      } finally {
        await pa.close();
      }
      const other = others[0]!;
      const otherIngress = (await kafkaOfAdminTopics()).find((x) => t.parseIngress(x)?.party === other)!;
      for (const topic of [otherIngress, t.deliver(other), t.deliver(party), t.policy, t.ledger, t.deadLetter, t.deliveryCounts]) {
        expect({ topic, result: await refusal(() => produceOnce(kafka, topic)) }).toEqual({ topic, result: "TOPIC_AUTHORIZATION_FAILED" });
      }
      // Reading another party's deliveries: the consumer cannot even subscribe.
      const consumer = kafka.consumer({ groupId: `${prefix}.${party}.probe` });
      await consumer.connect();
      try {
        expect(await refusal(() => consumer.subscribe({ topics: [t.deliver(other)], fromBeginning: true }))).toBe("TOPIC_AUTHORIZATION_FAILED");
      } finally {
        await consumer.disconnect();
      }
      // The router's transactional ids and another party's are not this party's to use.
      // (kafkajs loses the broker's answer to FindCoordinator, so this uses @platformatic/kafka, which keeps it.)
      for (const transactionalId of [`${routerGroup}.${otherIngress}.0`, `${prefix}.${other}.tx`]) {
        const p = new PlatformaticProducer({ ...platformaticConnection(me), idempotent: true, transactionalId, retries: 0 });
        try {
          expect({ transactionalId, result: await refusal(() => p.beginTransaction()) }).toEqual({ transactionalId, result: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED" });
        } finally {
          await p.close();
        }
      }
      // Joining the routers' consumer group.
      const joiner = new PlatformaticConsumer({ ...platformaticConnection(me), groupId: routerGroup, retries: 0 });
      try {
        expect(await refusal(() => joiner.consume({ topics: [t.deliver(party)] }))).toBe("GROUP_AUTHORIZATION_FAILED");
      } finally {
        await Promise.resolve(joiner.close(true)).catch(() => undefined);
      }
      // The registry: reading is allowed, changing anything is not, and no subject names a party.
      const list = await registry(me, "GET", "/subjects");
      expect(list.status).toBe(200);
      // (By name segments: run ids are random base36 and may contain a party id as a substring.)
      const subjects = (JSON.parse(list.text) as string[] | null) ?? [];
      expect(subjects.filter((x) => x.replace(/-value$/, "").split(".").some((seg) => PARTIES.includes(seg)))).toEqual([]);
      const subject = t.subject("TrackingEvent");
      expect((await registry(me, "POST", `/subjects/${encodeURIComponent(subject)}/versions`, { schema: '"string"' })).status).toBe(403);
      expect((await registry(me, "POST", `/subjects/${encodeURIComponent(`${prefix}.raw.${other}.tracking-value`)}/versions`, { schema: '"string"' })).status).toBe(403);
      expect((await registry(me, "PUT", `/config/${encodeURIComponent(subject)}`, { compatibility: "NONE" })).status).toBe(403);
      expect((await registry(me, "DELETE", `/subjects/${encodeURIComponent(subject)}`)).status).toBe(403);
    });
  }

  it("nothing was written by any of the attempts", async () => {
    const all = await kafkaOfAdminTopics();
    expect(all.length).toBeGreaterThan(PARTIES.length);
    expect(await endOffsetsTotal(all)).toBe(0);
  });
});

async function kafkaOfAdminTopics(): Promise<string[]> {
  const a = kafkaOf(admin).admin();
  await a.connect();
  try {
    return (await a.listTopics()).filter((x) => x.startsWith(`${prefix}.`));
  } finally {
    await a.disconnect();
  }
}

describe("quotas", () => {
  it("gives every party principal its produce and fetch byte-rate quota (10 MiB/s in, 20 MiB/s out by default)", async () => {
    const pa = new PlatformaticAdmin({ ...platformaticConnection(admin), retries: 0 });
    try {
      for (const party of PARTIES) {
        const entries = await pa.describeClientQuotas({ components: [{ entityType: "user", matchType: 0, match: `${prefix}.${party}` }] });
        const values = Object.fromEntries(entries.flatMap((e) => e.values.map((v) => [v.key, v.value])));
        expect({ party, values }).toEqual({ party, values: { producer_byte_rate: 10_485_760, consumer_byte_rate: 20_971_520 } });
      }
    } finally {
      await pa.close();
    }
  });
});

describe("authentication", () => {
  it("refuses an anonymous client and a wrong password at start, naming the setting", async () => {
    const anonymous = loadConfig({ ...process.env, KAFKA_SASL_MECHANISM: "", KAFKA_SASL_USERNAME: "", KAFKA_SASL_PASSWORD: "" });
    const wrong = as("zto", { KAFKA_SASL_PASSWORD: "not-the-password" });
    const e1 = await verifyKafkaAccess(anonymous, log, 10_000).catch((e: unknown) => e);
    const e2 = await verifyKafkaAccess(wrong, log, 10_000).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ConfigError);
    expect((e1 as ConfigError).setting).toBe("KAFKA_SASL_MECHANISM");
    expect(e2).toBeInstanceOf(ConfigError);
    expect((e2 as ConfigError).setting).toBe("KAFKA_SASL_PASSWORD");
    // A CA that did not sign the brokers' certificates: refused at once, naming the CA setting.
    const untrusted = as("zto", { KAFKA_SSL_CA_FILE: "/etc/ssl/certs/ca-certificates.crt" });
    const e3 = await verifyKafkaAccess(untrusted, log, 10_000).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(ConfigError);
    expect((e3 as ConfigError).setting).toBe("KAFKA_SSL_CA_FILE");
    // And the broker really refuses them: an anonymous client cannot even list topics.
    const a = createKafka(anonymous, log).admin();
    await expect(a.connect().then(() => a.listTopics())).rejects.toThrow();
    await a.disconnect();
  });
});

describe("authenticity and the policy plane", () => {
  it("dead-letters an event whose claimed source is not the publishing party; genuine events still flow", async () => {
    await publishPolicy(as("policy"));
    router = await startRouter(as("router", { PX_ROUTER_TOPIC_REFRESH_MS: "1000" }));
    const zto = as("zto");
    const pub = await PartyPublisher.connect({ config: zto });
    expect(pub.party).toBe("zto");
    const genuine = await pub.tracking({ ...T2, platform: "taobao", eventId: "iso-genuine" });
    await pub.disconnect();
    // ZTO's own ingress topic, an event claiming SF Express: the SDK would refuse it, an attacker uses a raw producer.
    const spoof = prepareEvent("TrackingEvent", { ...T2, platform: "taobao", eventId: "iso-spoofed", courier: "sf-express" }, "sf-express");
    const ids = await lookupEventSchemaIds(zto, t);
    const value = await createRegistryClient(zto).encode(ids.TrackingEvent, spoof);
    const producer = kafkaOf(zto).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: t.ingress("zto", "TrackingEvent"), acks: -1, messages: [{ key: spoof.parcelId, value }] });
    await producer.disconnect();

    const dead = await readAll(as("regulator", { PX_ROUTER_GROUP: `${prefix}.regulator.reader` }), [t.deadLetter], { min: 1, idleMs: 1500, timeoutMs: 60_000 });
    const reasons = dead.map((d) => d.message.headers?.[HEADERS.rejectReason]?.toString());
    expect(reasons).toEqual(["spoofed_source"]);
    for (const party of ["sf-express", "taobao"]) {
      const got = await readAll(as(party, { PX_ROUTER_GROUP: `${prefix}.${party}.reader` }), [t.deliver(party)], { idleMs: 1500, timeoutMs: 30_000, min: party === "taobao" ? 1 : 0 });
      const sources = got.map((d) => d.message.headers?.[HEADERS.sourceEventId]?.toString());
      expect(sources).not.toContain("iso-spoofed");
      if (party === "taobao") expect(sources).toContain(genuine.eventId);
    }
  });

  it("routes a party provisioned after the router started, without a restart", async () => {
    expect(router).toBeDefined();
    const r = await provisionDeployment({ config: admin, parties: { ...parties, ...NEWCOMER }, credentialsDir: credDir, log });
    for (const c of r.credentials) creds.set(c.principal, c);
    const pub = await PartyPublisher.connect({ config: as("sto") });
    await pub.tracking({ ...T2, courier: "sto", platform: "taobao", eventId: "iso-newcomer" });
    await pub.disconnect();
    const topic = t.ingress("sto", "TrackingEvent");
    await until("the router to consume the newcomer's ingress topic", async () => ((await router!.metrics.consumed.get()).values.find((v) => v.labels.topic === topic)?.value ?? 0) >= 1 || undefined, 60_000);
  });

  it("holds for a party on Confluent's own client too (confluent-kafka over SASL_SSL): its feed reads, another's is refused", async () => {
    const me = as("taobao");
    const { stdout } = await run("python3", [join(ROOT, "test/interop/confluent_party.py"), t.deliver("taobao"), t.deliver("zto"), `${prefix}.taobao.confluent`], {
      env: { ...process.env, KAFKA_BROKERS: me.kafka.brokers.join(","), KAFKA_SASL_USERNAME: me.kafka.sasl!.username, KAFKA_SASL_PASSWORD: me.kafka.sasl!.password, KAFKA_SSL_CA_FILE: me.kafka.caFile! },
      timeout: 90_000,
    });
    const out = JSON.parse(stdout.trim().split("\n").pop()!) as { own: string[]; other: string };
    expect(out.own).toContain("iso-genuine");
    expect(out.own).not.toContain("iso-spoofed");
    expect(out.other).toBe("TOPIC_AUTHORIZATION_FAILED");
  });

  it("refuses a bundle written with a stolen policy-service credential but not signed by the service", async () => {
    expect(router).toBeDefined();
    const before = router!.router.policyVersion;
    const stolen = as("policy");
    const data = await loadPolicyData();
    const forged = makeBundle(await policyWasm(stolen), data, "forged");
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const foreign: Signer = { keyId: keyIdOf(publicKey), sign: (d) => sign(null, Buffer.from(d), privateKey).toString("base64") };
    const refused = async () => (await router!.metrics.policyReloads.get()).values.find((v) => v.labels.result === "refused")?.value ?? 0;
    const refusedBefore = await refused();
    await publishBundle(kafkaOf(stolen), stolen, signBundle(forged, foreign, testRelease(stolen)));
    await until("the forged bundle to be refused", async () => (await refused()) >= refusedBefore + 1 || undefined, 30_000);
    expect(router!.router.policyVersion).toBe(before);
    // And a party cannot write the policy topic at all (refused by the broker).
    expect(await refusal(() => publishBundle(kafkaOf(as("zto")), as("zto"), signBundle(forged, foreign, testRelease(stolen))))).toBe("TOPIC_AUTHORIZATION_FAILED");
  });
});
