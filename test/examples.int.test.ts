/**
 * "Not only TypeScript": the Java courier (examples/java: Apache Kafka's Java client + Apache Avro) and the Python
 * marketplace (examples/python: confluent-kafka with its AvroDeserializer) on a provisioned deployment, each with
 * nothing but its party's credential file and the cluster's addresses. The courier publishes the fixtures' T1 as
 * SF Express; Taobao's Python subscriber must receive exactly that event with exactly the fields the expectation
 * table grants Taobao (test/fixtures.ts), the same as the TypeScript SDK's subscriber receives. The courier cannot
 * publish as another courier: a spoofed `courier` is dead-lettered by the router, another party's topic is refused
 * by the broker. A policy notice on the same topic is skipped by the Python subscriber.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliverySubscriber, type Delivery, type PolicyNotice } from "@parcel-exchange/sdk";
import { createKafka, createLogger, describeSchema, HEADERS, loadConfig, lookupEventSchemaIds, schemaJson, topics, type Config } from "@parcel-exchange/shared";
import { credentialFile, deprovisionDeployment, provisionDeployment, readParties } from "@parcel-exchange/provision";
import { EXPECTED, T1 } from "./fixtures.js";
import { readAll, startPolicyService, startRouter, type RunningPolicyService, type RunningRouter } from "./harness.js";
import { ROOT, testConfig, until } from "./helpers.js";

const log = createLogger("test", "silent");
const admin = testConfig("examples");
const prefix = admin.topicPrefix;
const t = topics(prefix);
const parties = readParties(join(ROOT, "policies/data/parties.json"));
const JAVA_DIR = join(ROOT, "examples/java");
const JAR = join(JAVA_DIR, "target/px-courier.jar");
const PY_SUBSCRIBER = join(ROOT, "examples/python/marketplace_subscriber.py");
const run = Date.now().toString(36);
/** The fixtures' T1 (SF Express scans Taobao's parcel SF1001), under an event id of this run. */
const EVENT = { ...T1, eventId: `ex-${run}-T1` };
const SPOOF_ID = `ex-${run}-spoof`;
let credDir: string;
let policy: RunningPolicyService | undefined;
let router: RunningRouter | undefined;

/** The pins of infra/local/versions.env (KEY=value lines). */
function pins(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(ROOT, "infra/local/versions.env"), "utf8").split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** `export K='v'` lines of a credential file that provisioning wrote. */
function credentialFileEnv(principal: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(credentialFile(credDir, principal), "utf8").split("\n")) {
    const m = /^export ([A-Z_]+)='([^']*)'$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/**
 * The environment of an example run as `party`: this process's environment without any Kafka, registry or PX
 * setting (the admin's are there), plus the cluster's addresses and the party's own credential file.
 */
function partyEnv(party: string): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KAFKA_|SCHEMA_REGISTRY_|PX_)/.test(k)));
  return {
    ...base,
    KAFKA_BROKERS: admin.kafka.brokers.join(","),
    KAFKA_SSL: "true",
    KAFKA_SSL_CA_FILE: admin.kafka.caFile ?? "",
    SCHEMA_REGISTRY_URL: admin.registry.url,
    PX_TOPIC_PREFIX: prefix,
    ...credentialFileEnv(`${prefix}.${party}`),
  };
}

/** The configuration of one principal of the deployment, from its credential file. */
function as(id: string, extra: Record<string, string> = {}): Config {
  return loadConfig({ ...partyEnv(id), NODE_ENV: "test", PX_LOG_LEVEL: "silent", PX_ROUTER_GROUP: `${prefix}.router.routers`, PX_TOPIC_PARTITIONS: "3", PX_METRICS_PORT: "0", ...extra });
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, timeout: opts.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the Java courier as `party` with field=value arguments. */
function courier(party: string, args: readonly string[]): Promise<Ran> {
  return exec("java", ["-jar", JAR, ...args], { env: partyEnv(party), timeoutMs: 90_000 });
}

/** The fixture event as the Java example's field=value arguments (null fields left out, as the example reads it). */
const fieldArgs = (e: Record<string, unknown>): string[] => Object.entries(e).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k}=${String(v)}`);

const FIELDS = describeSchema(schemaJson("TrackingEvent")).fields.map((f) => f.name);

let built: { ms: number; result: Ran };

beforeAll(async () => {
  credDir = await mkdtemp(join(tmpdir(), "px-examples-"));
  const p = pins();
  const started = Date.now();
  // The Java build (Maven Central into ~/.m2 on a first run) goes on while the deployment is provisioned.
  const build = exec(
    "mvn",
    ["-q", "-B", "-Dstyle.color=never", "package", `-Dkafka-clients.version=${p.JAVA_KAFKA_CLIENTS_VERSION}`, `-Davro.version=${p.JAVA_AVRO_VERSION}`, `-Djackson.version=${p.JAVA_JACKSON_VERSION}`, `-Dslf4j.version=${p.JAVA_SLF4J_VERSION}`],
    { cwd: JAVA_DIR, timeoutMs: 540_000 },
  ).then((result) => (built = { ms: Date.now() - started, result }));
  await provisionDeployment({ config: admin, parties, credentialsDir: credDir, log });
  // (Generous limits for the checks of the one proposal below: on 2 busy cores they are not what this file tests.)
  policy = await startPolicyService(as("policy", { PX_LOG_LEVEL: "error", PX_POLICY_SANDBOX_TIMEOUT_MS: "60000", PX_POLICY_IMPACT_TIMEOUT_MS: "60000" }));
  // The router's 50 ms evaluation limit fails closed (policy_error) when a JVM starting beside it takes the CPU; what
  // this file checks is what the examples send and receive, so the limit is generous here.
  router = await startRouter(as("router", { PX_ROUTER_TOPIC_REFRESH_MS: "1000", PX_POLICY_EVAL_TIMEOUT_MS: "5000" }));
  const version = policy.service.currentVersion();
  await until("the router to apply the policy service's version", () => router!.router.policyVersion === version || undefined, 60_000);
  await build;
}, 600_000);

afterAll(async () => {
  await router?.stop();
  await policy?.stop();
  await deprovisionDeployment({ config: admin, parties, credentialsDir: credDir, log }).catch(() => undefined);
  await rm(credDir, { recursive: true, force: true });
});

describe("examples/java: a courier on Apache Kafka's Java client and Apache Avro", () => {
  it("builds with Maven", () => {
    expect(built.result.code, `mvn package failed:\n${built.result.stdout.slice(-3000)}\n${built.result.stderr.slice(-3000)}`).toBe(0);
    process.stdout.write(`[examples] mvn package took ${(built.ms / 1000).toFixed(1)} s\n`);
  });

  it("publishes a TrackingEvent as its own party, to its ingress topic, with the subject's registered schema id", async () => {
    const r = await courier("sf-express", fieldArgs(EVENT));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const out = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    // The id the TypeScript SDK looks up for the same subject and schema.
    const ids = await lookupEventSchemaIds(as("sf-express"), t, undefined, ["TrackingEvent"]);
    expect(out).toMatchObject({ party: "sf-express", topic: t.ingress("sf-express", "TrackingEvent"), schemaId: ids.TrackingEvent, eventId: EVENT.eventId, parcelId: EVENT.parcelId });
    // Its output names the record, never a field value beyond the ids.
    expect(r.stdout).not.toContain(EVENT.staffPhone!);
  });

  it("cannot publish as another courier: a spoofed courier is dead-lettered, another party's topic is refused", async () => {
    const spoofed = await courier("sf-express", fieldArgs({ ...EVENT, eventId: SPOOF_ID, courier: "zto" }));
    expect(spoofed.code).toBe(0); // it reached SF Express's own topic...
    expect(spoofed.stderr).toMatch(/spoofed_source/);
    const dead = await readAll(as("regulator", { PX_ROUTER_GROUP: `${prefix}.regulator.reader` }), [t.deadLetter], { min: 1, idleMs: 1500, timeoutMs: 60_000 });
    // ...and the router dead-letters it: the topic proves who wrote it.
    expect(dead.map((d) => ({ reason: String(d.message.headers?.[HEADERS.rejectReason]), origin: String(d.message.headers?.[HEADERS.origin]).split("/")[0] }))).toEqual([
      { reason: "spoofed_source", origin: t.ingress("sf-express", "TrackingEvent") },
    ]);

    const other = await courier("sf-express", ["--party", "zto", ...fieldArgs({ ...EVENT, eventId: `ex-${run}-other`, courier: "zto" })]);
    expect(other.code).toBe(3);
    expect(other.stderr).toMatch(/refused by the broker: TopicAuthorizationException/);
    const a = createKafka(admin, log).admin();
    await a.connect();
    try {
      const written = (await a.fetchTopicOffsets(t.ingress("zto", "TrackingEvent"))).reduce((n, p) => n + Number(p.high), 0);
      expect(written).toBe(0);
    } finally {
      await a.disconnect();
    }
  });
});

describe("examples/python: a marketplace on confluent-kafka's AvroDeserializer", () => {
  it("receives exactly the courier's event, with exactly the fields the policy grants it, as the TypeScript SDK does, and skips policy notices", async () => {
    // A policy notice on Taobao's delivery topic too: SF Express proposes to stop sharing its business fields with
    // Taobao, Taobao agrees, and the change waits for the contract's notice period (the version in force stays).
    const api = async (key: string, path: string, body: unknown): Promise<{ status: number; body: any }> => {
      const res = await fetch(`${policy!.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: res.status, body: await res.json() };
    };
    const version = policy!.service.currentVersion();
    const contract = structuredClone((policy!.service.bundle(version).data.contracts as Record<string, any>)["sf-express--taobao"]);
    for (const g of contract.grants as { from: string; classes: Record<string, string> }[]) if (g.from === "sf-express") g.classes.business = "drop";
    const proposed = await api("px-dev-key-sf-express", "/v1/proposals", { change: { contracts: { "sf-express--taobao": contract } }, description: "SF Express stops sharing business fields with Taobao" });
    expect({ status: proposed.status, body: proposed.status === 201 ? "" : proposed.body }).toEqual({ status: 201, body: "" });
    const approved = await api("px-dev-key-taobao", `/v1/proposals/${proposed.body.id}/approve`, {});
    expect(approved.body.status).toBe("scheduled");
    expect(policy!.service.currentVersion()).toBe(version);

    // The TypeScript SDK's subscriber, as Taobao: what the exchange delivered, and the notice.
    const notices: PolicyNotice[] = [];
    const sub = await DeliverySubscriber.connect({ party: "taobao", config: as("taobao"), groupId: `${prefix}.taobao.ts-sdk`, fromBeginning: true, logger: log, onNotice: (n) => notices.push(n) });
    let sdk: Delivery[];
    try {
      sdk = await sub.collect({ idleMs: 3000, timeoutMs: 60_000 });
    } finally {
      await sub.disconnect();
    }
    expect(sdk.map((d) => d.sourceEventId)).toEqual([EVENT.eventId]);
    expect(notices.map((n) => n.proposalId)).toEqual([proposed.body.id]);

    const r = await exec("python3", [PY_SUBSCRIBER, "--from-beginning", "--idle-s", "5", "--timeout-s", "60"], { env: partyEnv("taobao"), timeoutMs: 90_000 });
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^px-marketplace: skipped a policy notice at \d+\/\d+/)]);
    const lines = r.stdout.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, any>);
    expect(lines.map((l) => l.sourceEventId)).toEqual([EVENT.eventId]); // the spoofed one never reached Taobao
    const got = lines[0]!;

    // The expectation table: T1 reaches Taobao with staff data masked and the recipient's phone dropped, the rest as sent.
    const expected = EXPECTED.taobao!.T1!;
    const original = EVENT as unknown as Record<string, unknown>;
    const want = Object.fromEntries(FIELDS.map((f) => [f, f in expected ? expected[f]!.value : (original[f] ?? null)]));
    expect(got).toMatchObject({ kind: "delivery", type: "TrackingEvent", policyVersion: policy!.service.currentVersion(), key: EVENT.parcelId });
    expect(got.event).toEqual(want);
    expect(Object.fromEntries((got.transformed as { field: string; action: string }[]).map((x) => [x.field, x.action]))).toEqual(Object.fromEntries(Object.entries(expected).map(([f, e]) => [f, e.action])));

    // Another party's deliveries are refused by the broker (in a group of Taobao's own: the topic is what is refused).
    const other = await exec("python3", [PY_SUBSCRIBER, "--party", "jd", "--group", `${prefix}.taobao.probe`, "--from-beginning", "--timeout-s", "30"], { env: partyEnv("taobao"), timeoutMs: 60_000 });
    expect({ code: other.code, stdout: other.stdout }).toEqual({ code: 3, stdout: "" });
    expect(other.stderr).toMatch(/TOPIC_AUTHORIZATION_FAILED/);

    // And the same as the TypeScript SDK's subscriber got for the same record.
    const ts = sdk[0]!;
    expect({ type: got.type, policyVersion: got.policyVersion, sourceEventId: got.sourceEventId, transformed: got.transformed, partition: got.partition, offset: String(got.offset), key: got.key, event: got.event }).toEqual({
      type: ts.type, policyVersion: ts.policyVersion, sourceEventId: ts.sourceEventId, transformed: ts.transformed, partition: ts.partition, offset: ts.offset, key: ts.key, event: ts.event,
    });
  });
});
