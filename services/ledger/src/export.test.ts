import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyIdOf, verifierOf, type Signer } from "@parcel-exchange/shared";
import { nextEntry } from "./chain.js";
import type { LedgerEntry, LedgerEntryType } from "./entry.js";
import { LedgerFormatError } from "./errors.js";
import { exportJsonl, readJsonl, verifyJsonl } from "./export.js";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const signer: Signer = { keyId: keyIdOf(publicKey), sign: (d) => sign(null, Buffer.from(d), privateKey).toString("base64") };
const verifier = verifierOf(publicKey);

const TYPES: LedgerEntryType[] = ["policy.proposed", "policy.approved", "policy.published", "deliveries.minute", "policy.notice"];
const entries: LedgerEntry[] = [];
for (let i = 0; i < 6; i++) entries.push(nextEntry(entries[entries.length - 1], { type: TYPES[i % TYPES.length]!, actor: i === 1 ? "regulator:spb" : "policy-service", body: { i } }, signer));
const head = entries[entries.length - 1]!.hash;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "px-ledger-export-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rewrite(file: string, edit: (lines: string[]) => string[]): Promise<void> {
  const lines = (await readFile(file, "utf8")).split("\n").filter((l) => l !== "");
  await writeFile(file, edit(lines).map((l) => `${l}\n`).join(""));
}

describe("JSONL export", () => {
  it("round-trips and verifies", async () => {
    const file = join(dir, "ok.jsonl");
    expect(await exportJsonl(entries, file)).toEqual({ entries: 6, head });
    expect(await readJsonl(file)).toEqual(entries);
    const r = await verifyJsonl(file, verifier, { expectedHead: head });
    expect(r).toMatchObject({ ok: true, entries: 6, head, headSeq: 5 });
  });

  it("names the line of an edited entry", async () => {
    const file = join(dir, "edited.jsonl");
    await exportJsonl(entries, file);
    await rewrite(file, (ls) => ls.map((l, i) => (i === 1 ? l.replace('"body":{"i":1}', '"body":{"i":100}') : l)));
    const r = await verifyJsonl(file, verifier);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([{ index: 1, seq: 1, kind: "altered", message: "entry seq 1 (policy.approved by regulator:spb) was altered: its content does not match its hash (line 2)" }]);
  });

  it("names a line that is not JSON, and readJsonl refuses it", async () => {
    const file = join(dir, "broken.jsonl");
    await exportJsonl(entries, file);
    await rewrite(file, (ls) => ls.map((l, i) => (i === 2 ? l.slice(0, 40) : l)));
    const r = await verifyJsonl(file, verifier);
    expect(r.problems[0]).toMatchObject({ index: 2, kind: "malformed" });
    expect(r.problems[0]!.message).toMatch(/^line 3 of .*broken\.jsonl is malformed: the line is not JSON/);
    await expect(readJsonl(file)).rejects.toThrow(LedgerFormatError);
    await expect(readJsonl(file)).rejects.toThrow(/broken\.jsonl line 3: the line is not JSON/);
  });
});
