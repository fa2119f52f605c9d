/**
 * The packages as a party gets them: `npm pack` of the SDK (with the shared package it depends on) and of the px
 * CLI, installed into a scratch project outside the repository, which then runs — unchanged — the quick starts
 * of services/sdk/README.md on the local stack: a courier publishes, a marketplace receives exactly what the
 * expectation table says (test/fixtures.ts, written by hand). `px` runs from its installed bin.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "@parcel-exchange/shared";
import { credentialEnv, deprovisionDeployment, provisionDeployment, readParties, type Credential } from "@parcel-exchange/provision";
import { EXPECTED, L1, T1 } from "./fixtures.js";
import { startPolicyService, startRouter, type RunningPolicyService, type RunningRouter } from "./harness.js";
import { ROOT, testConfig } from "./helpers.js";

const run = promisify(execFile);
const admin = testConfig("pkgs");
const log = createLogger("test", "silent");
/** The packages a party installs, and what they need; the rest of the exchange stays unpublished. */
const PACKED = ["shared", "sdk", "ledger", "provision", "policy-api", "cli"];

let scratch: string;
let credDir: string;
const creds = new Map<string, Credential>();
let router: RunningRouter | undefined;
let policy: RunningPolicyService | undefined;

/** The quick starts of the SDK's README: `<!-- quickstart: name -->` followed by one fenced block. */
function quickStarts(readme: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of readme.matchAll(/<!-- quickstart: ([\w.-]+) -->\n```js\n([\s\S]*?)```/g)) out.set(m[1]!, m[2]!);
  return out;
}

/** The environment a party's process gets: the cluster, the registry, its own credential — nothing of the repo. */
function partyEnv(party: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const c = creds.get(`${admin.topicPrefix}.${party}`);
  if (!c) throw new Error(`no credential for ${party}`);
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    KAFKA_BROKERS: admin.kafka.brokers.join(","),
    KAFKA_SSL_CA_FILE: admin.kafka.caFile!,
    SCHEMA_REGISTRY_URL: admin.registry.url,
    PX_TOPIC_PREFIX: admin.topicPrefix,
    PX_LOG_LEVEL: "warn",
    ...credentialEnv(c),
    ...extra,
  };
}

beforeAll(async () => {
  credDir = await mkdtemp(join(tmpdir(), "px-pkgs-cred-"));
  const r = await provisionDeployment({ config: admin, parties: readParties(join(ROOT, "policies/data/parties.json")), credentialsDir: credDir, log });
  for (const c of r.credentials) creds.set(c.principal, c);
  scratch = await mkdtemp(join(tmpdir(), "px-party-"));
  const packs = join(scratch, "packs");
  await mkdir(packs);
  await run("npm", ["pack", "--silent", "--pack-destination", packs, ...PACKED.flatMap((p) => ["--workspace", `services/${p}`])], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: "" }, maxBuffer: 16 * 1024 * 1024 });
  const tarballs = (await readdir(packs)).filter((f) => f.endsWith(".tgz")).map((f) => join(packs, f));
  expect(tarballs).toHaveLength(PACKED.length);
  await writeFile(join(scratch, "package.json"), JSON.stringify({ name: "a-courier", private: true, type: "module" }));
  await run("npm", ["install", "--no-audit", "--no-fund", "--silent", ...tarballs], { cwd: scratch, env: { ...process.env, NODE_OPTIONS: "" }, maxBuffer: 16 * 1024 * 1024 });
  const starts = quickStarts(await readFile(join(ROOT, "services/sdk/README.md"), "utf8"));
  expect([...starts.keys()].sort()).toEqual(["courier.mjs", "locker.mjs", "marketplace.mjs"]);
  // The main README shows some of the same quick starts: they must be these, not copies that drift.
  for (const [name, code] of quickStarts(await readFile(join(ROOT, "README.md"), "utf8"))) expect(code, `README.md's ${name}`).toBe(starts.get(name));
  for (const [name, code] of starts) await writeFile(join(scratch, name), code);
  policy = await startPolicyService(admin);
  router = await startRouter(admin);
}, 600_000);

afterAll(async () => {
  await router?.stop();
  await policy?.stop();
  await deprovisionDeployment({ config: admin, parties: readParties(join(ROOT, "policies/data/parties.json")), credentialsDir: credDir, log }).catch(() => undefined);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe("the installed packages", () => {
  it("hold built code and types only, and no OPA, router or policy-service code", async () => {
    const sdk = JSON.parse(await readFile(join(scratch, "node_modules/@parcel-exchange/sdk/package.json"), "utf8")) as { dependencies: Record<string, string>; exports: unknown };
    expect(Object.keys(sdk.dependencies).sort()).toEqual(["@kafkajs/confluent-schema-registry", "@parcel-exchange/shared", "avsc", "kafkajs"]);
    const installed = await readdir(join(scratch, "node_modules"));
    expect(installed).not.toContain("@open-policy-agent");
    expect(await readdir(join(scratch, "node_modules/@parcel-exchange"))).toEqual([...PACKED].sort());
    const files = await readdir(join(scratch, "node_modules/@parcel-exchange/sdk/dist"));
    expect(files).toContain("index.js");
    expect(files).toContain("index.d.ts");
    expect(files.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toBe(false);
    expect(await readdir(join(scratch, "node_modules/@parcel-exchange/shared/schemas/avro"))).toContain("TrackingEvent.avsc");
  });

  it("run the README's quick starts: SF Express and Hive Box publish, Taobao receives exactly its entitled fields", async () => {
    const courier = await run(process.execPath, ["courier.mjs"], { cwd: scratch, env: partyEnv("sf-express") });
    expect(courier.stdout).toMatch(/^published TrackingEvent [0-9a-f-]{36}\n$/);
    const locker = await run(process.execPath, ["locker.mjs"], { cwd: scratch, env: partyEnv("hive-box") });
    expect(locker.stdout).toMatch(/^published LockerEvent [0-9a-f-]{36}\n$/);
    const ids = { TrackingEvent: courier.stdout.trim().split(" ").pop()!, LockerEvent: locker.stdout.trim().split(" ").pop()! };
    const market = await run(process.execPath, ["marketplace.mjs"], { cwd: scratch, env: partyEnv("taobao", { EXPECT: "2" }) });
    const got = market.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: "TrackingEvent" | "LockerEvent"; policyVersion: string; changed: string; event: Record<string, unknown> });
    expect(got.map((d) => d.type).sort()).toEqual(["LockerEvent", "TrackingEvent"]);
    // The quick starts publish the content of the fixtures T1 and L1; the expectation table (written by hand)
    // says what Taobao sees of each.
    for (const d of got) {
      const [fixture, table] = d.type === "TrackingEvent" ? [T1, EXPECTED.taobao!.T1!] : [L1, EXPECTED.taobao!.L1!];
      expect(d.event.eventId).toBe(ids[d.type]);
      expect(d.policyVersion).toBe(policy!.service.currentVersion());
      const expected: Record<string, unknown> = { ...fixture, eventId: ids[d.type], eventTime: d.event.eventTime };
      for (const [field, e] of Object.entries(table)) expected[field] = e.value;
      expect(d.event).toEqual(expected);
      expect(d.changed.split(", ").filter((x) => x !== "none").sort()).toEqual(Object.entries(table).map(([f, e]) => `${f}:${e.action}`).sort());
    }
  }, 180_000);

  it("refuse, with the SDK's own error, an event that names another courier", async () => {
    const err = await run(process.execPath, ["courier.mjs"], { cwd: scratch, env: partyEnv("zto") }).then(
      () => undefined,
      (e: { stderr: string }) => e.stderr,
    );
    expect(err).toMatch(/courier: a party may only publish as itself; expected 'zto', got 'sf-express'/);
  }, 60_000);

  it("have an API reference generated from the doc comments (npm run docs), warnings counted as errors", async () => {
    const out = join(scratch, "api");
    await run("npm", ["run", "-s", "docs", "--", "--out", out], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    const classes = await readdir(join(out, "classes"));
    expect(classes).toEqual(expect.arrayContaining(["PartyPublisher.html", "DeliverySubscriber.html", "ValidationError.html"]));
    expect(await readFile(join(out, "classes", "PartyPublisher.html"), "utf8")).toContain("publishMany");
  }, 120_000);

  it("give a working px from the CLI package's bin", async () => {
    const help = await run(join(scratch, "node_modules/.bin/px"), ["--help"], { cwd: scratch, env: { PATH: process.env.PATH } });
    expect(help.stdout).toMatch(/^px — command-line client/);
    const current = await run(join(scratch, "node_modules/.bin/px"), ["policy", "history", "--api", policy!.url], { cwd: scratch, env: { PATH: process.env.PATH, PX_API_KEY: "px-dev-key-viewer" } });
    expect(current.stdout).toContain(policy!.service.currentVersion());
  }, 60_000);
});

