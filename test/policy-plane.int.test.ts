/**
 * The policy plane under attack, on the secured stack. Records are written with the admin's rights, standing in
 * for anyone who gets write access to the policy topics (the isolation test shows parties cannot): the policy
 * service must not trust its own stored state, and routers must not trust a bundle they have seen before.
 *
 *  - forged versions and proposals written into the service's topics are refused at its next start, and never
 *    published; a genuine older state written again is refused too;
 *  - a forged ledger entry stops the service from starting;
 *  - a genuine older bundle written again to the policy topic (a replay) and a bundle released for another
 *    deployment are refused by routers, also by a router that starts after them.
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaMessage } from "kafkajs";
import { createKafka, createLogger, idempotentProducer, keyIdOf, loadSigner, serializeBundle, signBundle, topics, type Config, type Signer } from "@parcel-exchange/shared";
import { LedgerIntegrityError, ledgerTopic, nextEntry, type LedgerEntry } from "@parcel-exchange/ledger";
import { loadPolicyData, makeBundle } from "@parcel-exchange/policy-build";
import { policyWasm, readAll, startPolicyService, startRouter, type RunningPolicyService, type RunningRouter } from "./harness.js";
import { testConfig, until } from "./helpers.js";

const REGULATOR = "px-dev-key-regulator-spb";
const log = createLogger("test", "warn");

async function produce(config: Config, topic: string, messages: { key: string; value: Buffer | string | null; headers?: Record<string, string> }[]): Promise<void> {
  const producer = idempotentProducer(createKafka(config, log));
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${REGULATOR}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : text };
}

const foreignSigner = (): Signer => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { keyId: keyIdOf(publicKey), sign: (d) => sign(null, Buffer.from(d), privateKey).toString("base64") };
};

/** A contract change that takes effect at once (it only widens what JD receives from ZTO). */
async function immediateChange(s: RunningPolicyService, label: string): Promise<string> {
  const c = structuredClone((s.service.bundle(s.service.currentVersion()).data.contracts as Record<string, any>)["jd--zto"]);
  c.notice_days = (c.notice_days ?? 0) + 1;
  const r = await call(s.url, "POST", "/v1/proposals", { change: { contracts: { "jd--zto": c } }, description: label });
  expect(r.status).toBe(201);
  if (r.body.status !== "published") expect((await call(s.url, "POST", `/v1/proposals/${r.body.id}/apply`, {})).status).toBe(200);
  return s.service.currentVersion();
}

/** A policy service and a router on a deployment of their own, started before a block's tests, stopped after. */
function serviceAndRouter(name: string): { config: Config; up: { running?: RunningPolicyService | undefined; router?: RunningRouter } } {
  const config = testConfig(name);
  const up: { running?: RunningPolicyService | undefined; router?: RunningRouter } = {};
  beforeAll(async () => {
    up.running = await startPolicyService(config);
    up.router = await startRouter(config);
  }, 240_000);
  afterAll(async () => {
    await up.router?.stop();
    await up.running?.stop();
  });
  return { config, up };
}

const refusedCount = async (r: RunningRouter) => (await r.metrics.policyReloads.get()).values.find((v) => v.labels.result === "refused")?.value ?? 0;

describe("the policy service treats its own stored state as untrusted", () => {
  const { config, up } = serviceAndRouter("pstate");

  it("refuses forged versions and proposals at start-up and never publishes them; refuses a replayed older state", async () => {
    const genuine = up.running!.service.currentVersion();
    // A genuine proposal, published at once: its stored records are [proposed, published].
    const published = await immediateChange(up.running!, "a genuine change");
    const proposalId = up.running!.service.listProposals().find((p) => p.publishedVersion === published)!.id;
    await until("the router to apply the genuine change", () => up.router!.router.policyVersion === published || undefined);
    await up.running!.stop();
    up.running = undefined;

    const t = topics(config.topicPrefix);
    // The forged bundle gives SF Express what the regulator's ceiling forbids if it is ever applied: here, a
    // contract table with every grant removed except a forged one; whatever it is, it must never be published.
    const data = await loadPolicyData();
    const forged = makeBundle(await policyWasm(config), { ...data, contracts: { ...(data.contracts as object), "sf-express--taobao": { id: "sf-express--taobao", parties: ["sf-express", "taobao"], grants: [] } } }, "v9");
    const proposal = (status: string, id: string) => ({
      id,
      createdAt: new Date(Date.now() - 60_000).toISOString(),
      author: "regulator:spb",
      description: "forged",
      change: {},
      baseVersion: published,
      proposedVersion: forged.version,
      requiredSides: [],
      impact: { reductions: [{ party: "taobao" }], expansions: [], otherChanges: [], casesCompared: 1 },
      dryRun: { sampled: 0, byType: {}, lines: [] },
      status,
      effectiveAt: new Date(Date.now() - 1000).toISOString(),
      approvals: [{ by: "regulator:spb", role: "regulator", at: new Date().toISOString(), immediate: true }],
    });
    // 1. Plain records, as the service itself used to write them.
    await produce(config, t.policyVersions, [{ key: forged.version, value: JSON.stringify(serializeBundle(forged).toString()) }]);
    await produce(config, t.policyProposals, [{ key: "prop-forged1", value: JSON.stringify(proposal("scheduled", "prop-forged1")) }]);
    // 2. Sealed-looking records signed by another key, referring to a real ledger entry.
    const foreign = foreignSigner();
    const sealedLike = (value: unknown) => JSON.stringify({ value, ledger: { seq: 0, hash: "0".repeat(64) }, keyId: foreign.keyId, sig: foreign.sign("px-policy-state-v1\n{}") });
    await produce(config, t.policyProposals, [{ key: "prop-forged2", value: sealedLike(proposal("scheduled", "prop-forged2")) }]);
    // 3. A genuine record of the genuine proposal's older state ("proposed"), written again after "published",
    //    and a genuine record moved to another key.
    const stored = (await readAll(config, [t.policyProposals], { min: 4 })).map((d) => d.message).filter((m): m is KafkaMessage & { value: Buffer } => m.key?.toString() === proposalId && m.value !== null);
    const older = stored.find((m) => (JSON.parse(m.value.toString()) as { value: { status: string } }).value.status !== "published")!;
    expect(older).toBeDefined();
    await produce(config, t.policyProposals, [{ key: proposalId, value: older.value }, { key: "prop-moved", value: older.value }]);
    // 4. A tombstone for the genuine version in force.
    await produce(config, t.policyVersions, [{ key: "nonexistent", value: null }]);

    up.running = await startPolicyService(config);
    const s = up.running.service;
    const refused = s.refusedState.map((e) => `${e.store}/${e.key}`).sort();
    expect(refused).toEqual(["versions/nonexistent", `versions/${forged.version}`, `proposals/${proposalId}`, "proposals/prop-forged1", "proposals/prop-forged2", "proposals/prop-moved"].sort());
    expect(s.refusedState.find((e) => e.key === proposalId)!.reason).toMatch(/older state written again/);
    const metrics = await (await fetch(`${up.running!.url}/metrics`)).text();
    expect(metrics).toMatch(/px_policy_state_refused_total\{store="proposals"[^}]*\} 4/);
    expect(metrics).toMatch(/px_policy_state_refused_total\{store="versions"[^}]*\} 2/);
    // The genuine state is intact: the proposal stays published, the version in force is the genuine one.
    expect(s.proposal(proposalId).status).toBe("published");
    expect(s.listProposals().map((p) => p.id)).toEqual([proposalId]);
    expect(() => s.bundle(forged.version)).toThrow(/not found/);
    // Scheduled publication runs every 250 ms: give it time to publish anything it would.
    await new Promise((r) => setTimeout(r, 2000));
    expect(s.currentVersion()).toBe(published);
    expect(up.router!.router.policyVersion).toBe(published);
    const entries = await up.running!.ledger.readAll();
    expect(entries.filter((e) => e.type === "policy.published").map((e) => (e.body as { version: string }).version)).toEqual([genuine, published]);
  }, 240_000);

  it("does not start on a ledger with a forged entry", async () => {
    const own = testConfig("pledger");
    const first = await startPolicyService(own);
    const entries = await first.ledger.readAll();
    await first.stop();
    const head = entries[entries.length - 1]!;
    // Hashes and links are right; only the signature is not the service's.
    const fake: LedgerEntry = nextEntry(head, { type: "policy.approved", actor: "regulator:spb", body: { proposal: "prop-x", immediate: true } }, foreignSigner());
    await produce(own, ledgerTopic(own.topicPrefix), [{ key: String(fake.seq), value: JSON.stringify(fake) }]);
    const err = await startPolicyService(own).then(
      async (r) => {
        await r.stop();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LedgerIntegrityError);
    expect(String((err as Error).message)).toMatch(/signature/i);
  }, 240_000);
});

describe("routers refuse replayed and foreign-deployment bundles", () => {
  const { config, up } = serviceAndRouter("preplay");

  it("keeps the newest release when an older genuine one is written again, and refuses another deployment's", async () => {
    const v1 = up.running!.service.currentVersion();
    await until("the router to apply v1", () => up.router!.router.policyVersion === v1 || undefined);
    const v2 = await immediateChange(up.running!, "newer");
    await until("the router to apply the newer version", () => up.router!.router.policyVersion === v2 || undefined);
    const policyTopic = topics(config.topicPrefix).policy;
    const releases = (await readAll(config, [policyTopic], { min: 2 })).map((d) => d.message);
    const first = releases[0]!;
    expect(first.headers?.["px-policy-version"]?.toString()).toBe(v1);

    const before = await refusedCount(up.router!);
    // The genuine v1 release, byte for byte, written again.
    await produce(config, policyTopic, [{ key: first.key!.toString(), value: first.value, headers: { "px-policy-version": v1 } }]);
    // A bundle genuinely signed with the policy service's key but released for another deployment.
    const other = signBundle(makeBundle(await policyWasm(config), await loadPolicyData(), "other"), loadSigner(config), { sequence: 1_000_000, deployment: `${config.deploymentId}-other`, ledger: { seq: 0, hash: "x" } });
    await produce(config, policyTopic, [{ key: "router", value: serializeBundle(other) }]);
    await until("both to be refused", async () => (await refusedCount(up.router!)) >= before + 2 || undefined);
    expect(up.router!.router.policyVersion).toBe(v2);

    // A router that starts now reads the whole topic and applies the newest release, not the last record.
    const late = await startRouter(config);
    try {
      expect(late.router.policyVersion).toBe(v2);
      expect(await refusedCount(late)).toBe(2);
    } finally {
      await late.stop();
    }
    // A rollback is a new, higher release carrying the old content, and it is applied.
    expect((await call(up.running!.url, "POST", "/v1/policy/rollback", { version: v1 })).status).toBe(200);
    await until("the router to apply the rollback", () => up.router!.router.policyVersion === v1 || undefined);
  }, 240_000);
});
