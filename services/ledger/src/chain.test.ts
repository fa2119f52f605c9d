import { generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { keyIdOf, verifierOf, type Signer, type Verifier } from "@parcel-exchange/shared";
import { entryHash, nextEntry, verifyChain, type LedgerProblem } from "./chain.js";
import { GENESIS, type LedgerDraft, type LedgerEntry } from "./entry.js";
import { LedgerDraftError } from "./errors.js";

function keyPair(): { signer: Signer; verifier: Verifier } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { signer: { keyId: keyIdOf(publicKey), sign: (d) => sign(null, Buffer.from(d), privateKey).toString("base64") }, verifier: verifierOf(publicKey) };
}

const ledgerKey = keyPair();
const otherKey = keyPair();

const DRAFTS: LedgerDraft[] = [
  { type: "policy.proposed", actor: "policy-author:li", body: { version: "v1", note: "initial" } },
  { type: "policy.approved", actor: "regulator:msk", body: { version: "v1" } },
  { type: "policy.published", actor: "policy-service", body: { version: "v1+abc123" } },
  { type: "deliveries.minute", actor: "router", body: { minute: "2025-01-01T00:03:00.000Z", counts: [{ party: "jd", dataClass: "phone", count: 12 }] } },
  { type: "policy.proposed", actor: "policy-author:li", body: { version: "v2" } },
  { type: "policy.notice", actor: "policy-service", body: { to: ["jd", "zto"], text: "v2 takes effect tomorrow" } },
  { type: "policy.scheduled", actor: "policy-service", body: { version: "v2", at: "2025-01-02T00:00:00.000Z" } },
  { type: "policy.approved", actor: "regulator:spb", body: { version: "v2", ticket: 4711 } },
  { type: "policy.published", actor: "policy-service", body: { version: "v2+def456" } },
  { type: "policy.rolled_back", actor: "operator:wang", body: { from: "v2+def456", to: "v1+abc123", reason: "courier outage" } },
];

function buildChain(signer = ledgerKey.signer, drafts = DRAFTS): LedgerEntry[] {
  const out: LedgerEntry[] = [];
  drafts.forEach((d, i) => out.push(nextEntry(out[out.length - 1], d, signer, new Date(Date.UTC(2025, 0, 1, 0, i)))));
  return out;
}

/** Recomputes the hash after a change, as an attacker without the private key could. */
function rehash(e: LedgerEntry): LedgerEntry {
  return { ...e, hash: entryHash(e) };
}

function only(problems: readonly LedgerProblem[]): LedgerProblem {
  expect(problems, JSON.stringify(problems, null, 2)).toHaveLength(1);
  return problems[0]!;
}

const chain = buildChain();
const head = chain[chain.length - 1]!.hash;

describe("nextEntry", () => {
  it("numbers from 0, links to the previous hash and signs the hash", () => {
    expect(chain.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(chain[0]!.prev).toBe(GENESIS);
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.prev).toBe(chain[i - 1]!.hash);
    for (const e of chain) {
      expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(e.hash).toBe(entryHash(e));
      expect(e.keyId).toBe(ledgerKey.signer.keyId);
      expect(ledgerKey.verifier.verify(e.hash, e.sig)).toBe(true);
    }
    expect(chain[0]!.at).toBe("2025-01-01T00:00:00.000Z");
  });

  it("stores the body as JSON would, so the entry verifies after a JSON round trip", () => {
    const e = nextEntry(undefined, { type: "policy.notice", actor: "policy-service", body: { when: new Date(0), skip: undefined, n: [1, undefined] } }, ledgerKey.signer);
    expect(e.body).toEqual({ when: "1970-01-01T00:00:00.000Z", n: [1, null] });
    const back = JSON.parse(JSON.stringify([e])) as LedgerEntry[];
    expect(verifyChain(back, ledgerKey.verifier).ok).toBe(true);
  });

  it("rejects drafts it cannot record faithfully", () => {
    const s = ledgerKey.signer;
    expect(() => nextEntry(undefined, { type: "policy.deleted" as never, actor: "x", body: null }, s)).toThrow(LedgerDraftError);
    expect(() => nextEntry(undefined, { type: "policy.notice", actor: " ", body: null }, s)).toThrow(/actor is empty/);
    expect(() => nextEntry(undefined, { type: "policy.notice", actor: "x", body: undefined }, s)).toThrow(/body is missing/);
    expect(() => nextEntry(undefined, { type: "policy.notice", actor: "x", body: { n: 1n } }, s)).toThrow(/cannot be written as JSON/);
  });
});

describe("verifyChain", () => {
  it("accepts an intact chain and reports its head", () => {
    const r = verifyChain(chain, ledgerKey.verifier, { expectedHead: head });
    expect(r).toEqual({ ok: true, entries: 10, head, headSeq: 9, problems: [] });
    expect(verifyChain(JSON.parse(JSON.stringify(chain)) as LedgerEntry[], ledgerKey.verifier).ok).toBe(true);
    expect(verifyChain([], ledgerKey.verifier)).toEqual({ ok: true, entries: 0, problems: [] });
  });

  it("accepts a head the verifier trusts from earlier, after the ledger grew", () => {
    expect(verifyChain(chain, ledgerKey.verifier, { expectedHead: chain[5]!.hash }).ok).toBe(true);
  });

  it("accepts a chain signed across a key rotation when given both keys", () => {
    const first = buildChain(ledgerKey.signer, DRAFTS.slice(0, 5));
    const rotated = [...first];
    for (const d of DRAFTS.slice(5)) rotated.push(nextEntry(rotated[rotated.length - 1], d, otherKey.signer));
    expect(verifyChain(rotated, [ledgerKey.verifier, otherKey.verifier]).ok).toBe(true);
    const p = verifyChain(rotated, ledgerKey.verifier).problems;
    expect(p.map((x) => [x.kind, x.seq])).toEqual([5, 6, 7, 8, 9].map((s) => ["bad_signature", s]));
  });

  it("names an altered entry", () => {
    const tampered = chain.map((e) => (e.seq === 7 ? { ...e, body: { version: "v2", ticket: 4712 } } : e));
    const p = only(verifyChain(tampered, ledgerKey.verifier, { expectedHead: head }).problems);
    expect(p).toMatchObject({ kind: "altered", seq: 7, index: 7 });
    expect(p.message).toBe("entry seq 7 (policy.approved by regulator:spb) was altered: its content does not match its hash (position 8)");
  });

  it("names an altered entry even when its seq was changed too", () => {
    const tampered = chain.map((e) => (e.seq === 5 ? { ...e, seq: 6 } : e));
    const p = only(verifyChain(tampered, ledgerKey.verifier).problems);
    expect(p).toMatchObject({ kind: "altered", seq: 5, index: 5 });
    expect(p.message).toContain("it now claims seq 6");
  });

  it("names a removed middle entry and a removed range", () => {
    const one = only(verifyChain(chain.filter((e) => e.seq !== 4), ledgerKey.verifier).problems);
    expect(one).toMatchObject({ kind: "removed", seq: 4, index: 4 });
    expect(one.message).toMatch(/^entry seq 4 was removed: entry seq 5 \(policy\.notice by policy-service\) at position 5 comes next after seq 3/);

    const range = only(verifyChain(chain.filter((e) => e.seq < 3 || e.seq > 5), ledgerKey.verifier).problems);
    expect(range).toMatchObject({ kind: "removed", seq: 3, index: 3 });
    expect(range.message).toMatch(/^entries seq 3–5 were removed/);

    const first = only(verifyChain(chain.slice(1), ledgerKey.verifier).problems);
    expect(first).toMatchObject({ kind: "removed", seq: 0, index: 0 });
    expect(first.message).toContain("comes next after the start");
  });

  it("detects a removed last entry only against a trusted head", () => {
    const truncated = chain.slice(0, -1);
    expect(verifyChain(truncated, ledgerKey.verifier).ok).toBe(true); // a shorter chain is still a chain
    const p = only(verifyChain(truncated, ledgerKey.verifier, { expectedHead: head }).problems);
    expect(p).toMatchObject({ kind: "removed", seq: 9, index: 9 });
    expect(p.message).toContain("entries after seq 8 (policy.published by policy-service) were removed — the ledger was truncated");
  });

  it("names a forged entry inserted with a recomputed hash but no valid signature", () => {
    const forged = rehash({ ...chain[5]!, type: "policy.approved", actor: "regulator:spb", body: { version: "evil" }, prev: chain[4]!.hash });
    const tampered = [...chain.slice(0, 5), forged, ...chain.slice(5)];
    const p = only(verifyChain(tampered, ledgerKey.verifier, { expectedHead: head }).problems);
    expect(p).toMatchObject({ kind: "inserted", seq: 5, index: 5 });
    expect(p.message).toContain("an entry claiming seq 5 (policy.approved by regulator:spb) was inserted at position 6: seq 5 is already the entry at position 7");
    expect(p.message).toContain("signature is not valid");
  });

  it("names a forged entry inserted and signed with another key", () => {
    const forged = nextEntry(chain[2], { type: "policy.approved", actor: "regulator:spb", body: { version: "evil" } }, otherKey.signer);
    const tampered = [...chain.slice(0, 3), forged, ...chain.slice(3)];
    const p = only(verifyChain(tampered, ledgerKey.verifier).problems);
    expect(p).toMatchObject({ kind: "inserted", seq: 3, index: 3 });
    expect(p.message).toContain(`signed with key ${otherKey.signer.keyId}, which is not a ledger key`);
  });

  it("names a replayed copy of a genuine entry", () => {
    const tampered = [...chain.slice(0, 7), chain[2]!, ...chain.slice(7)];
    const p = only(verifyChain(tampered, ledgerKey.verifier).problems);
    expect(p).toMatchObject({ kind: "inserted", seq: 2, index: 7 });
    expect(p.message).toContain("is a copy of the entry at position 3");
  });

  it("names a forged entry appended at the end", () => {
    const forged = nextEntry(chain[9], { type: "policy.published", actor: "policy-service", body: { version: "evil" } }, otherKey.signer);
    const p = only(verifyChain([...chain, forged], ledgerKey.verifier).problems);
    expect(p).toMatchObject({ kind: "bad_signature", seq: 10, index: 10 });
  });

  it("names swapped and moved entries", () => {
    const swapped = [...chain];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    const p = only(verifyChain(swapped, ledgerKey.verifier, { expectedHead: head }).problems);
    expect(p).toMatchObject({ kind: "reordered", seq: 4, index: 3 });
    expect(p.message).toBe("entry seq 4 (policy.proposed by policy-author:li) is out of order: it is at position 4 but belongs right after seq 3 (position 5)");

    const moved = [...chain.filter((e) => e.seq !== 2), chain[2]!];
    const m = only(verifyChain(moved, ledgerKey.verifier).problems);
    expect(m).toMatchObject({ kind: "reordered", seq: 2, index: 9 });
    expect(m.message).toContain("belongs right after seq 1 (position 2)");
  });

  it("catches a chain re-hashed from the altered entry onward without the private key", () => {
    const tampered = chain.slice(0, 4);
    for (const e of chain.slice(4)) {
      const body = e.seq === 4 ? { version: "v2-evil" } : e.body;
      tampered.push(rehash({ ...e, body, prev: tampered[tampered.length - 1]!.hash }));
    }
    const problems = verifyChain(tampered, ledgerKey.verifier).problems;
    expect(problems.map((p) => [p.kind, p.seq])).toEqual([4, 5, 6, 7, 8, 9].map((s) => ["bad_signature", s]));
    expect(problems[0]!.message).toBe(
      `entry seq 4 (policy.proposed by policy-author:li) has a bad signature: its content matches its hash but the signature is not valid for key ${ledgerKey.signer.keyId}: it was forged or re-hashed without the signing key (position 5)`,
    );
  });

  it("rejects every entry under a key it does not trust", () => {
    const r = verifyChain(chain, otherKey.verifier);
    expect(r.ok).toBe(false);
    expect(new Set(r.problems.map((p) => p.kind))).toEqual(new Set(["bad_signature"]));
    expect(r.problems).toHaveLength(10);
  });

  it("names malformed entries and still checks the rest", () => {
    const { hash: _h, ...noHash } = chain[6]!;
    const tampered = chain.map((e, i) => (i === 6 ? (noHash as LedgerEntry) : e));
    const problems = verifyChain(tampered, ledgerKey.verifier).problems;
    expect(problems.map((p) => [p.kind, p.seq, p.index])).toEqual([
      ["malformed", 6, 6],
      ["removed", 6, 7], // the chain check cannot use it, so seq 6 is missing from the chain
    ]);
    expect(problems[0]!.message).toBe("the entry at position 7 (seq 6) is malformed: its hash is not 64 hex digits");
    expect(only(verifyChain([null as unknown as LedgerEntry], ledgerKey.verifier).problems).message).toContain("not a JSON object");
  });

  it("gives the same report for the same input", () => {
    const tampered = [...chain];
    [tampered[1], tampered[8]] = [tampered[8]!, tampered[1]!];
    tampered[5] = { ...tampered[5]!, actor: "someone-else" };
    const a = verifyChain(tampered, ledgerKey.verifier);
    expect(verifyChain(tampered, ledgerKey.verifier)).toEqual(a);
    expect(a.problems.map((p) => p.kind).sort()).toEqual(["altered", "reordered", "reordered"]);
  });
});
