/**
 * The ledger as a JSONL file: one entry per line, in sequence order. Anyone with the public key can check an
 * export with verifyJsonl (or readJsonl + verifyChain); line numbers in its messages are the file's lines.
 */
import { randomUUID } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import type { Verifier } from "@parcel-exchange/shared";
import { verifyChain, type LedgerProblem, type VerifyOptions, type VerifyResult } from "./chain.js";
import type { LedgerEntry } from "./entry.js";
import { LedgerFormatError } from "./errors.js";

function line(e: LedgerEntry): string {
  // Fixed field order so exports are easy to diff; verification does not depend on it.
  return JSON.stringify({ seq: e.seq, at: e.at, type: e.type, actor: e.actor, body: e.body, prev: e.prev, hash: e.hash, keyId: e.keyId, sig: e.sig });
}

/** Writes the entries to `file` (replacing it atomically: a reader never sees half a file). */
export async function exportJsonl(entries: readonly LedgerEntry[], file: string): Promise<{ entries: number; head?: string }> {
  const tmp = `${file}.${randomUUID()}.tmp`;
  try {
    await writeFile(tmp, entries.map((e) => `${line(e)}\n`).join(""), { encoding: "utf8", mode: 0o644 });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const last = entries[entries.length - 1];
  return { entries: entries.length, ...(last !== undefined ? { head: last.hash } : {}) };
}

function splitLines(text: string): string[] {
  const lines = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * Reads an export. Throws LedgerFormatError naming the line if a line is not JSON. The entries are not checked
 * here: pass them to verifyChain (or use verifyJsonl, which also reports unreadable lines instead of throwing).
 */
export async function readJsonl(file: string): Promise<LedgerEntry[]> {
  const lines = splitLines(await readFile(file, "utf8"));
  return lines.map((l, i) => {
    if (l.trim() === "") throw new LedgerFormatError(file, i + 1, "the line is empty");
    try {
      return JSON.parse(l) as LedgerEntry;
    } catch (err) {
      throw new LedgerFormatError(file, i + 1, `the line is not JSON (${(err as Error).message})`);
    }
  });
}

/** Reads and verifies an export; every problem names its line ("line N"), and problem.index is N - 1. */
export async function verifyJsonl(file: string, verifier: Verifier | readonly Verifier[], opts: Omit<VerifyOptions, "where"> = {}): Promise<VerifyResult> {
  const lines = splitLines(await readFile(file, "utf8"));
  const unreadable = new Map<number, string>();
  const parsed = lines.map((l, i): unknown => {
    if (l.trim() === "") {
      unreadable.set(i, "the line is empty");
      return null;
    }
    try {
      return JSON.parse(l) as unknown;
    } catch (err) {
      unreadable.set(i, `the line is not JSON (${(err as Error).message})`);
      return null;
    }
  });
  const result = verifyChain(parsed as LedgerEntry[], verifier, { ...opts, where: (i) => `line ${i + 1}` });
  const problems: LedgerProblem[] = result.problems.map((p) => {
    const why = unreadable.get(p.index);
    return why === undefined || p.kind !== "malformed" ? p : { ...p, message: `line ${p.index + 1} of ${file} is malformed: ${why}` };
  });
  return { ...result, problems };
}
