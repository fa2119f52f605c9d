/**
 * The ledger on the real local Kafka: entries survive a restart and the chain continues from the head, an
 * export verifies and a tampered export is named, and a second writer fences the first.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigResourceTypes } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { createKafka, createLogger, ensureTopics, idempotentProducer, loadSigner, loadVerifier, type Config } from "@parcel-exchange/shared";
import { testConfig } from "../../../test/helpers.js";
import { nextEntry, verifyChain } from "./chain.js";
import type { LedgerDraft } from "./entry.js";
import { LedgerFencedError, LedgerIntegrityError, LedgerReadOnlyError, LedgerTopicError } from "./errors.js";
import { exportJsonl, verifyJsonl } from "./export.js";
import { ledgerTopic, LedgerStore } from "./store.js";

// Keys of their own, so the test never touches the developer's key pair.
const stateDir = mkdtempSync(join(tmpdir(), "px-ledger-int-"));
const cfg = (name: string): Config => testConfig(name, { PX_STATE_DIR: stateDir });
const keysFrom = cfg("keys");
const signer = loadSigner(keysFrom);
const verifier = loadVerifier(keysFrom);
const log = createLogger("ledger-test", "warn");
const open: LedgerStore[] = [];

async function openStore(config: Config, withSigner = true): Promise<LedgerStore> {
  const store = await LedgerStore.open({ config, kafka: createKafka(config, log), log, verifier, ...(withSigner ? { signer } : {}) });
  open.push(store);
  return store;
}

const draft = (i: number): LedgerDraft => ({ type: i % 2 === 0 ? "policy.proposed" : "policy.approved", actor: i % 2 === 0 ? "policy-author:li" : "regulator:spb", body: { version: `v${i}` } });

afterAll(async () => {
  for (const s of open) await s.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe("LedgerStore on Kafka", () => {
  const config = cfg("ledger");

  it("creates the topic kept forever, appends in order, and a new instance continues from the head", async () => {
    const first = await openStore(config);
    expect(first.head).toBeUndefined();
    // Concurrent calls are serialised in call order.
    const appended = await Promise.all([0, 1, 2, 3].map((i) => first.append(draft(i))));
    expect(appended.map((e) => e.seq)).toEqual([0, 1, 2, 3]);
    expect(appended.map((e) => (e.body as { version: string }).version)).toEqual(["v0", "v1", "v2", "v3"]);
    await first.close();

    const admin = createKafka(config, log).admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [ledgerTopic(config.topicPrefix)] });
      expect(meta.topics[0]!.partitions).toHaveLength(1);
      const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: ledgerTopic(config.topicPrefix), configNames: ["retention.ms", "cleanup.policy"] }] });
      const values = Object.fromEntries(described.resources[0]!.configEntries.map((c) => [c.configName, c.configValue]));
      expect(values).toEqual({ "retention.ms": "-1", "cleanup.policy": "delete" });
    } finally {
      await admin.disconnect();
    }

    const second = await openStore(config);
    expect(second.head).toEqual(appended[3]);
    const next = await second.append(draft(4));
    expect(next.seq).toBe(4);
    expect(next.prev).toBe(appended[3]!.hash);

    const all = await second.readAll();
    expect(all.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(verifyChain(all, verifier, { expectedHead: next.hash })).toMatchObject({ ok: true, entries: 5, head: next.hash, headSeq: 4 });
  });

  it("exports a ledger that verifies, and names a tampered entry in the export", async () => {
    const store = await openStore(config, false); // readers need no key
    const all = await store.readAll();
    expect(all.length).toBeGreaterThanOrEqual(5);
    const head = all[all.length - 1]!.hash;
    const file = join(stateDir, "ledger.jsonl");
    await exportJsonl(all, file);
    expect(await verifyJsonl(file, verifier, { expectedHead: head })).toMatchObject({ ok: true, head });

    const lines = (await readFile(file, "utf8")).trimEnd().split("\n");
    const edited = lines.map((l, i) => (i === 3 ? l.replace('"version":"v3"', '"version":"v3-quietly-changed"') : l));
    await writeFile(file, `${edited.join("\n")}\n`);
    const altered = await verifyJsonl(file, verifier, { expectedHead: head });
    expect(altered.ok).toBe(false);
    expect(altered.problems).toEqual([{ index: 3, seq: 3, kind: "altered", message: "entry seq 3 (policy.approved by regulator:spb) was altered: its content does not match its hash (line 4)" }]);

    await writeFile(file, `${lines.slice(0, -1).join("\n")}\n`);
    const truncated = await verifyJsonl(file, verifier, { expectedHead: head });
    expect(truncated.problems.map((p) => [p.kind, p.seq])).toEqual([["removed", all.length - 1]]);
  });

  it("refuses to append without the signing key", async () => {
    const reader = await openStore(config, false);
    await expect(reader.append(draft(9))).rejects.toThrow(LedgerReadOnlyError);
  });

  it("lets a second writer fence the first, which then fails with a clear error", async () => {
    const c = cfg("ledgerfence");
    const a = await openStore(c);
    await a.append(draft(0));
    await a.append(draft(1));

    const b = await openStore(c); // takes over the transactional id
    expect(b.head?.seq).toBe(1);

    const refused = await a.append(draft(2)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LedgerFencedError);
    expect((refused as LedgerFencedError).retriable).toBe(false);
    expect((refused as Error).message).toMatch(/another ledger writer took over transactional id .*ledger-writer.*was NOT recorded/);
    await expect(a.append(draft(3))).rejects.toBe(refused); // fails fast from now on

    const e2 = await b.append({ type: "policy.notice", actor: "policy-service", body: { text: "writer changed" } });
    expect(e2.seq).toBe(2);
    const all = await b.readAll();
    expect(all.map((e) => e.seq)).toEqual([0, 1, 2]);
    expect(all[2]!.type).toBe("policy.notice");
    expect(verifyChain(all, verifier).ok).toBe(true);
  });

  it("a new writer aborts the open transaction of a writer that died mid-append, and continues from the committed head", async () => {
    const c = cfg("ledgercrash");
    const w = await openStore(c);
    const committed = await w.append(draft(0));
    await w.close();

    // A writer that sent its next entry but died before committing (same transactional id, never committed).
    const dying = idempotentProducer(createKafka(c, log), { transactionalId: `${c.topicPrefix}.ledger-writer`, transactionTimeout: 60_000 });
    await dying.connect();
    const tx = await dying.transaction();
    const halfDone = nextEntry(committed, draft(1), signer);
    await tx.send({ topic: ledgerTopic(c.topicPrefix), acks: -1, messages: [{ key: "1", value: JSON.stringify(halfDone) }] });

    const next = await openStore(c); // must not wait for the 60 s transaction timeout
    expect(next.head).toEqual(committed);
    const e = await next.append(draft(2));
    expect(e.seq).toBe(1);
    const all = await next.readAll();
    expect(all.map((x) => x.hash)).toEqual([committed.hash, e.hash]);
    await dying.disconnect();
  });

  it("a writer refuses to open a ledger topic someone wrote a forged entry to", async () => {
    const c = cfg("ledgerforged");
    const w = await openStore(c);
    const genuine = await w.append(draft(0));
    await w.close();

    const otherKeys = loadSigner(testConfig("other", { PX_STATE_DIR: mkdtempSync(join(stateDir, "other-")) }));
    const forged = nextEntry(genuine, { type: "policy.approved", actor: "regulator:spb", body: { version: "evil" } }, otherKeys);
    const producer = idempotentProducer(createKafka(c, log));
    await producer.connect();
    await producer.send({ topic: ledgerTopic(c.topicPrefix), acks: -1, messages: [{ key: "1", value: JSON.stringify(forged) }] });
    await producer.disconnect();

    const err = await openStore(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerIntegrityError);
    expect((err as Error).message).toContain("entry seq 1 (policy.approved by regulator:spb) has a bad signature");
  });

  it("refuses a ledger topic with more than one partition", async () => {
    const c = cfg("ledgerparts");
    const admin = createKafka(c, log).admin();
    await admin.connect();
    await ensureTopics(admin, c, [{ topic: ledgerTopic(c.topicPrefix), partitions: 3 }]);
    await admin.disconnect();
    await expect(openStore(c)).rejects.toThrow(LedgerTopicError);
    await expect(openStore(c)).rejects.toThrow(/has 3 partitions/);
  });
});
