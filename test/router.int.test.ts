/**
 * The router against the real stack: every party gets exactly the fields of the expectation table; bad input
 * is dead-lettered with its reason while the router keeps going; a malformed policy fails closed; a new
 * policy is applied live and stamped on what it decided.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import avro from "avsc";
import { SchemaType } from "@kafkajs/confluent-schema-registry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PartyPublisher, DeliverySubscriber, type Delivery } from "@parcel-exchange/sdk";
import { generateKeyPairSync, sign } from "node:crypto";
import { createKafka, createLogger, createRegistryClient, HEADERS, idempotentProducer, keyIdOf, loadSigner, schemaJson, signBundle, topics, type PolicyBundle, type Signer } from "@parcel-exchange/shared";
import { loadPolicyData, makeBundle, publishBundle } from "@parcel-exchange/policy-build";
import { EXPECTED, L1, L2, O1, T1, T2, T3 } from "./fixtures.js";
import { deliverTopics, publishPolicy, readAll, startRouter, testRelease, type RunningRouter } from "./harness.js";
import { run, testConfig, until } from "./helpers.js";

const PARTIES = ["taobao", "jd", "sf-express", "zto", "hive-box"];
const config = testConfig("router", { PX_MAX_RECORD_BYTES: "4096" });
const t = topics(config.topicPrefix);
const log = createLogger("test", "warn");
let router: RunningRouter;
let policy: PolicyBundle;
const published = new Map<string, Record<string, unknown>>();

async function collect(party: string, min: number): Promise<Delivery[]> {
  const sub = await DeliverySubscriber.connect({ party, config, fromBeginning: true, groupId: `${config.router.groupId}-${party}-${Math.random()}` });
  try {
    return await sub.collect({ count: min, idleMs: 2000, timeoutMs: 30_000 });
  } finally {
    await sub.disconnect();
  }
}

beforeAll(async () => {
  policy = await publishPolicy(config);
  router = await startRouter(config);
  const pubs = Object.fromEntries(await Promise.all(["taobao", "sf-express", "hive-box", "zto"].map(async (p) => [p, await PartyPublisher.connect({ party: p, config })] as const)));
  published.set("O1", (await pubs.taobao!.order(O1)) as unknown as Record<string, unknown>);
  published.set("T1", (await pubs["sf-express"]!.tracking(T1)) as unknown as Record<string, unknown>);
  published.set("L1", (await pubs["hive-box"]!.locker(L1)) as unknown as Record<string, unknown>);
  published.set("L2", (await pubs["hive-box"]!.locker(L2)) as unknown as Record<string, unknown>);
  published.set("T2", (await pubs.zto!.tracking(T2)) as unknown as Record<string, unknown>);
  published.set("T3", (await pubs["sf-express"]!.tracking(T3)) as unknown as Record<string, unknown>);
  await Promise.all(Object.values(pubs).map((p) => p.disconnect()));
});

afterAll(async () => {
  await router?.stop();
});

describe("expectation table: party × event → exact fields and actions", () => {
  for (const party of PARTIES) {
    it(`${party} receives exactly its entitled events and fields`, async () => {
      const expected = EXPECTED[party] ?? {};
      const got = await collect(party, Object.keys(expected).length);
      const ids = got.map((d) => d.sourceEventId).sort();
      expect(ids).toEqual(Object.keys(expected).sort());
      for (const d of got) {
        const exp = expected[d.sourceEventId]!;
        const original = published.get(d.sourceEventId)!;
        expect(d.policyVersion).toBe(policy.version);
        expect(Object.fromEntries(d.transformed.map((x) => [x.field, x.action]))).toEqual(Object.fromEntries(Object.entries(exp).map(([f, e]) => [f, e.action])));
        const event = d.event as unknown as Record<string, unknown>;
        for (const field of Object.keys(original)) {
          const want = field in exp ? exp[field]!.value : original[field];
          expect({ field, value: event[field] }).toEqual({ field, value: want });
        }
      }
    });
  }
});

describe("bad input", () => {
  it("dead-letters each kind with its reason, counts it, and keeps routing", async () => {
    const registry = createRegistryClient(config);
    const kafka = createKafka(config, log);
    const producer = idempotentProducer(kafka);
    await producer.connect();
    const trackingId = await registry.getLatestSchemaId(t.subject("TrackingEvent"));
    const sfTracking = t.ingress("sf-express", "TrackingEvent");
    const tracking = avro.Type.forSchema(schemaJson("TrackingEvent") as avro.Schema);
    const wire = (id: number, body: Buffer) => Buffer.concat([Buffer.from([0, (id >>> 24) & 255, (id >>> 16) & 255, (id >>> 8) & 255, id & 255]), body]);
    const good = (over: Record<string, unknown>) => tracking.toBuffer({ ...T1, staffId: null, staffName: null, staffPhone: null, recipientPhone: null, exceptionReason: null, ...over });
    const { id: probeId } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify({ type: "record", name: "NotAnEvent", namespace: "exchange.parcel.v1", fields: [{ name: "x", type: "int" }] }) },
      { subject: `${config.topicPrefix}.other-value` },
    );
    const cases: [string, Buffer][] = [
      ["undecodable", Buffer.from("this is not avro")],
      ["unknown_schema", wire(987_654, good({ eventId: "bad-unknown" }))],
      ["undecodable", wire(trackingId, good({ eventId: "bad-truncated" }).subarray(0, 20))],
      ["unknown_event_type", wire(probeId, Buffer.from([4]))],
      ["missing_routing_attribute", wire(trackingId, good({ eventId: "bad-routing", platform: null }))],
      ["oversized", wire(trackingId, good({ eventId: "bad-big", exceptionReason: "x".repeat(5000) }))],
      // On SF Express's ingress topic, a scan claiming to be ZTO's: the topic proves who wrote it.
      ["spoofed_source", wire(trackingId, good({ eventId: "bad-spoofed", courier: "zto" }))],
    ];
    await producer.send({ topic: sfTracking, acks: -1, messages: cases.map(([, value], i) => ({ key: `bad-${i}`, value })) });
    await producer.send({ topic: sfTracking, acks: -1, messages: [{ key: "SF1001", value: wire(trackingId, good({ eventId: "after-bad", parcelId: "SF1001" })) }] });
    await producer.disconnect();

    const dead = await readAll(config, [t.deadLetter], { min: cases.length });
    expect(dead.map((d) => String(d.message.headers?.[HEADERS.rejectReason])).sort()).toEqual(cases.map(([r]) => r).sort());
    for (const d of dead) {
      const i = Number(String(d.message.key).slice(4));
      expect(Buffer.compare(d.message.value!, cases[i]![1])).toBe(0); // kept byte for byte
      expect(String(d.message.headers?.[HEADERS.origin])).toMatch(new RegExp(`^${sfTracking.replace(/\./g, "\\.")}/\\d+/\\d+$`));
      expect(String(d.message.headers?.[HEADERS.rejectDetail]).length).toBeGreaterThan(10);
    }
    const after = await collect("taobao", 4);
    expect(after.map((d) => d.sourceEventId)).toContain("after-bad");
    const metrics = await router.registry.metrics();
    for (const reason of ["undecodable", "unknown_schema", "unknown_event_type", "missing_routing_attribute", "oversized", "spoofed_source"]) {
      const n = cases.filter(([r]) => r === reason).length;
      expect(metrics).toMatch(new RegExp(`^px_rejected_total\\{reason="${reason}",service="router"\\} ${n}$`, "m"));
    }
  });
});

describe("policy errors fail closed; new policies apply live", () => {
  it("dead-letters under a malformed policy, then routes under a repaired one with its version stamped", async () => {
    const dir = await mkdtemp(join(tmpdir(), "px-bad-policy-"));
    let badWasm: Buffer;
    try {
      await writeFile(join(dir, "bad.rego"), 'package px.router\n\ndecision := {"deliver": "perhaps", "fields": {}}\n');
      await run(config.opaBin, ["build", "-t", "wasm", "-e", "px/router/decision", "-o", join(dir, "b.tar.gz"), join(dir, "bad.rego")]);
      await run("tar", ["-xzf", join(dir, "b.tar.gz"), "-C", dir, "/policy.wasm"]);
      badWasm = await readFile(join(dir, "policy.wasm"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const data = await loadPolicyData();
    const bad = signBundle(makeBundle(badWasm, data, "broken"), loadSigner(config), testRelease(config));
    const applied: string[] = [];
    router.router.onPolicyApplied((v) => applied.push(v));
    await publishBundle(createKafka(config, log), config, bad);
    await until("broken policy to apply", () => applied.includes(bad.version) || undefined);

    const pub = await PartyPublisher.connect({ party: "sf-express", config });
    await pub.tracking({ ...T1, eventId: "under-broken" });
    const dead = await readAll(config, [t.deadLetter], { min: 8 });
    const rec = dead.find((d) => String(d.message.headers?.[HEADERS.rejectReason]) === "policy_error");
    expect(rec).toBeDefined();
    expect(String(rec!.message.headers?.[HEADERS.policyVersion])).toBe(bad.version);
    expect(String(rec!.message.headers?.[HEADERS.rejectDetail])).toContain("deliver");

    const repaired = await publishPolicy(config, data, "repaired");
    await until("repaired policy to apply", () => applied.includes(repaired.version) || undefined);
    await pub.tracking({ ...T1, eventId: "under-repaired" });
    await pub.disconnect();
    const all = (await readAll(config, deliverTopics(config, PARTIES), { idleMs: 3000 })).map((d) => ({
      id: String(d.message.headers?.[HEADERS.sourceEventId]),
      version: String(d.message.headers?.[HEADERS.policyVersion]),
    }));
    expect(all.some((d) => d.id === "under-broken")).toBe(false);
    const fixed = all.filter((d) => d.id === "under-repaired");
    // T1's entitled parties (taobao, hive-box), each under the repaired version.
    expect(fixed).toEqual([{ id: "under-repaired", version: repaired.version }, { id: "under-repaired", version: repaired.version }]);
  });
});

describe("only bundles signed by the policy service take effect", () => {
  it("refuses unsigned and foreign-signed bundles and keeps the policy in force", async () => {
    const before = router.router.policyVersion;
    const data = await loadPolicyData();
    const contracts = structuredClone(data.contracts) as Record<string, unknown>;
    delete contracts["sf-express--taobao"];
    const forged = makeBundle(policy.wasm, { ...data, contracts }, "forged");
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const foreign: Signer = { keyId: keyIdOf(publicKey), sign: (d) => sign(null, Buffer.from(d), privateKey).toString("base64") };
    const refusedBefore = (await router.metrics.policyReloads.get()).values.find((v) => v.labels.result === "refused")?.value ?? 0;
    await publishBundle(createKafka(config, log), config, forged);
    await publishBundle(createKafka(config, log), config, signBundle(forged, foreign, testRelease(config)));
    await until("both bundles to be refused", async () => ((await router.metrics.policyReloads.get()).values.find((v) => v.labels.result === "refused")?.value ?? 0) >= refusedBefore + 2 || undefined);
    expect(router.router.policyVersion).toBe(before);
  });
});
