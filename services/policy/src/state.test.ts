import { generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { keyIdOf, verifierOf, type Signer } from "@parcel-exchange/shared";
import type { LedgerEntry } from "@parcel-exchange/ledger";
import { LedgerIndex, seal, StateIntegrityError, unseal } from "./state.js";

function keys() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const signer: Signer = { keyId: keyIdOf(publicKey), sign: (d) => sign(null, Buffer.from(d), privateKey).toString("base64") };
  return { signer, verifier: verifierOf(publicKey) };
}

const entry = (seq: number, type: LedgerEntry["type"], body: unknown): LedgerEntry => ({ seq, at: "", type, actor: "a", body, prev: "", hash: `h${seq}`, keyId: "k", sig: "" });

describe("sealed state records", () => {
  const { signer, verifier } = keys();
  const ref = { seq: 3, hash: "h3" };
  const rec = seal(signer, "t.proposals", "prop-1", { id: "prop-1", status: "published" }, ref);

  it("unseal under the topic and key they were sealed for", () => {
    expect(unseal(verifier, "t.proposals", "prop-1", JSON.parse(JSON.stringify(rec)))).toEqual({ value: { id: "prop-1", status: "published" }, ledger: ref });
  });

  it("are refused when moved, altered, re-pointed, unsigned or signed by another key", () => {
    expect(() => unseal(verifier, "t.proposals", "prop-2", rec)).toThrow(/signature does not match/);
    expect(() => unseal(verifier, "other.proposals", "prop-1", rec)).toThrow(/signature does not match/);
    expect(() => unseal(verifier, "t.proposals", "prop-1", { ...rec, value: { id: "prop-1", status: "scheduled" } })).toThrow(/signature does not match/);
    expect(() => unseal(verifier, "t.proposals", "prop-1", { ...rec, ledger: { seq: 4, hash: "h4" } })).toThrow(/signature does not match/);
    expect(() => unseal(verifier, "t.proposals", "prop-1", { id: "prop-1", status: "published" })).toThrow(/not a sealed record/);
    expect(() => unseal(verifier, "t.proposals", "prop-1", seal(keys().signer, "t.proposals", "prop-1", rec.value, ref))).toThrow(/signed by key/);
  });
});

describe("the ledger index", () => {
  const entries = [
    entry(0, "policy.published", { version: "v1", initial: true }),
    entry(1, "policy.proposed", { proposal: "p1", proposedVersion: "v2" }),
    entry(2, "policy.notice", { proposal: "p1" }),
    entry(3, "policy.published", { version: "v2", proposal: "p1", sequence: 2 }),
    entry(4, "policy.rolled_back", { from: "v2", to: "v1", sequence: 3 }),
    entry(5, "policy.notice", { proposal: "p1" }),
  ];
  const index = new LedgerIndex(entries);

  it("numbers releases 1, 2, … and names the version each puts in force", () => {
    expect(index.releases().map((r) => [r.version, r.sequence, r.entry.seq])).toEqual([["v1", 1, 0], ["v2", 2, 3], ["v1", 3, 4]]);
  });

  it("finds the newest entry that changed a proposal (notices do not count)", () => {
    expect(index.latestAbout("p1")?.seq).toBe(3);
    expect(index.latestAbout("p9")).toBeUndefined();
  });

  it("finds an entry only by its sequence and hash", () => {
    expect(index.at({ seq: 3, hash: "h3" })?.seq).toBe(3);
    expect(index.at({ seq: 3, hash: "h4" })).toBeUndefined();
  });

  it("refuses a ledger whose recorded release sequence is not the one due", () => {
    expect(() => new LedgerIndex([entry(0, "policy.published", { version: "v1", sequence: 2 })]).releases()).toThrow(StateIntegrityError);
  });
});
