/**
 * The hash chain itself, as pure functions: making the next entry, and verifying a list of entries.
 *
 * Verification works in two passes. First every entry is checked on its own: is it well-formed, does its
 * content still hash to its `hash`, and is `hash` signed by a trusted key? Then the entries are checked as a
 * chain: each sequence number is taken once (extra claimants are "inserted"), the entries appear in increasing
 * order (those outside the longest increasing run are "reordered"), no sequence number is missing ("removed"),
 * and each entry's `prev` is the hash of the entry before it. A signed `hash` is trusted even when the content
 * beside it was altered, so one altered entry is reported once and does not break the links around it.
 */
import { createHash } from "node:crypto";
import { canonicalJson, type Signer, type Verifier } from "@parcel-exchange/shared";
import { GENESIS, isLedgerEntryType, LEDGER_ENTRY_TYPES, type LedgerDraft, type LedgerEntry } from "./entry.js";
import { LedgerDraftError } from "./errors.js";

export type LedgerProblemKind = "altered" | "removed" | "inserted" | "reordered" | "bad_signature" | "malformed";

export interface LedgerProblem {
  /** Position in the list given to verifyChain (0-based); entries.length for something missing at the end. */
  readonly index: number;
  /** The sequence number concerned (for "removed", the first missing one); undefined when unreadable. */
  readonly seq: number | undefined;
  readonly kind: LedgerProblemKind;
  /** What happened, naming the entry, e.g. "entry seq 7 (policy.approved by regulator:spb) was altered: …". */
  readonly message: string;
}

export interface VerifyOptions {
  /**
   * A head hash the verifier already trusts (printed or exported earlier). If no validly signed entry has
   * this hash, entries at the end were removed (or replaced). Without it, truncation at the end cannot be
   * detected: a shorter ledger is still a valid chain.
   */
  readonly expectedHead?: string;
  /** How to name a position in messages; default "position N" (1-based). verifyJsonl uses "line N". */
  readonly where?: (index: number) => string;
}

export interface VerifyResult {
  readonly ok: boolean;
  /** How many entries were examined. */
  readonly entries: number;
  /** Hash of the entry with the highest sequence number (the head to remember for next time). */
  readonly head?: string;
  readonly headSeq?: number;
  /** Sorted by position. Empty when ok. */
  readonly problems: LedgerProblem[];
}

type Content = Pick<LedgerEntry, "seq" | "at" | "type" | "actor" | "body" | "prev">;

/** Hex SHA-256 of the canonical JSON of the hashed fields. */
export function entryHash(c: Content): string {
  const content = { seq: c.seq, at: c.at, type: c.type, actor: c.actor, body: c.body, prev: c.prev };
  return createHash("sha256").update(canonicalJson(content)).digest("hex");
}

function normaliseBody(body: unknown): unknown {
  if (body === undefined) throw new LedgerDraftError("body is missing (use null for an entry without a body)");
  let text: string | undefined;
  try {
    text = JSON.stringify(body);
  } catch (err) {
    throw new LedgerDraftError(`body cannot be written as JSON (${(err as Error).message})`);
  }
  if (text === undefined) throw new LedgerDraftError("body cannot be written as JSON (it is a function or symbol)");
  return JSON.parse(text) as unknown;
}

/**
 * The entry that follows `prev` (or the first entry when prev is undefined), signed with `signer`. The body
 * goes through JSON first, so the stored entry hashes the same after any JSON round trip.
 */
export function nextEntry(prev: LedgerEntry | undefined, draft: LedgerDraft, signer: Signer, now: Date = new Date()): LedgerEntry {
  if (!isLedgerEntryType(draft.type)) {
    throw new LedgerDraftError(`type '${String(draft.type)}' is not one of ${LEDGER_ENTRY_TYPES.join(", ")}`);
  }
  if (typeof draft.actor !== "string" || draft.actor.trim() === "") throw new LedgerDraftError("actor is empty (name who did it, e.g. regulator:spb)");
  if (Number.isNaN(now.getTime())) throw new LedgerDraftError("the entry time is not a valid date");
  const content: Content = {
    seq: prev === undefined ? 0 : prev.seq + 1,
    at: now.toISOString(),
    type: draft.type,
    actor: draft.actor,
    body: normaliseBody(draft.body),
    prev: prev === undefined ? GENESIS : prev.hash,
  };
  const hash = entryHash(content);
  return { ...content, hash, keyId: signer.keyId, sig: signer.sign(hash) };
}

// ------------------------------------------------------------------------------------------------ verify

interface Checked {
  readonly index: number;
  readonly e: LedgerEntry;
  /** The content hashes to the stored hash. */
  readonly contentOk: boolean;
  /** The stored hash carries a valid signature by a trusted key. */
  readonly sigOk: boolean;
  readonly keyKnown: boolean;
  /** Sequence number used for chain checks (for an altered entry, inferred from its neighbours if possible). */
  seq: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

function shapeProblem(v: unknown): string | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return "it is not a JSON object";
  const o = v as Record<string, unknown>;
  if (typeof o.seq !== "number" || !Number.isSafeInteger(o.seq) || o.seq < 0) return "its seq is not a whole number ≥ 0";
  if (typeof o.at !== "string" || Number.isNaN(Date.parse(o.at))) return "its time (at) is not an ISO date";
  if (!isLedgerEntryType(o.type)) return `its type '${String(o.type)}' is not a ledger entry type`;
  if (typeof o.actor !== "string" || o.actor === "") return "it has no actor";
  if (!("body" in o) || o.body === undefined) return "it has no body";
  if (typeof o.prev !== "string" || o.prev === "") return "it has no prev hash";
  if (typeof o.hash !== "string" || !HEX64.test(o.hash)) return "its hash is not 64 hex digits";
  if (typeof o.keyId !== "string" || o.keyId === "") return "it has no keyId";
  if (typeof o.sig !== "string" || o.sig === "") return "it has no signature";
  return undefined;
}

const short = (h: string): string => (h.length > 12 ? `${h.slice(0, 12)}…` : h);

function seqRange(a: number, b: number): string {
  return a === b ? `entry seq ${a} was` : `entries seq ${a}–${b} were`;
}

/** Indices (into `xs`) of one longest strictly increasing subsequence; deterministic. */
function longestIncreasing(xs: readonly number[]): Set<number> {
  const tails: number[] = []; // tails[k] = index in xs of the smallest tail of an increasing run of length k+1
  const back: number[] = new Array<number>(xs.length).fill(-1);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[tails[mid]!]! < x) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) back[i] = tails[lo - 1]!;
    tails[lo] = i;
  }
  const keep = new Set<number>();
  for (let i = tails.length > 0 ? tails[tails.length - 1]! : -1; i !== -1; i = back[i]!) keep.add(i);
  return keep;
}

/**
 * Checks a ledger (or an export of one) from its first entry. Every problem names the entry (sequence number,
 * type, actor, position) and says what is wrong; `ok` is true only when there is none.
 */
export function verifyChain(entries: readonly LedgerEntry[], verifier: Verifier | readonly Verifier[], opts: VerifyOptions = {}): VerifyResult {
  const verifiers: readonly Verifier[] = Array.isArray(verifier) ? verifier : [verifier as Verifier];
  const trustedKeys = verifiers.map((v) => v.keyId).join(", ");
  const where = opts.where ?? ((i: number) => `position ${i + 1}`);
  const problems: LedgerProblem[] = [];
  const add = (index: number, seq: number | undefined, kind: LedgerProblemKind, message: string): void => {
    problems.push({ index, seq, kind, message });
  };

  // Pass 1: each entry on its own.
  const checked: Checked[] = [];
  entries.forEach((raw: unknown, index) => {
    const bad = shapeProblem(raw);
    if (bad !== undefined) {
      const s = (raw as { seq?: unknown } | null)?.seq;
      const seq = typeof s === "number" && Number.isSafeInteger(s) && s >= 0 ? s : undefined;
      add(index, seq, "malformed", `the entry at ${where(index)}${seq === undefined ? "" : ` (seq ${seq})`} is malformed: ${bad}`);
      return;
    }
    const e = raw as LedgerEntry;
    const v = verifiers.find((x) => x.keyId === e.keyId);
    checked.push({ index, e, contentOk: entryHash(e) === e.hash, keyKnown: v !== undefined, sigOk: v !== undefined && v.verify(e.hash, e.sig), seq: e.seq });
  });

  // An altered entry may carry an altered seq; its signed hash still says where it belongs, if a later
  // intact entry points back to it.
  const nextOf = new Map<string, Checked>();
  for (const c of checked) if (c.contentOk && !nextOf.has(c.e.prev)) nextOf.set(c.e.prev, c);
  for (const c of checked) {
    if (c.contentOk || !c.sigOk) continue;
    const n = nextOf.get(c.e.hash);
    if (n !== undefined && n.e.seq > 0) c.seq = n.e.seq - 1;
  }

  const name = (c: Checked): string => `entry seq ${c.seq} (${c.e.type} by ${c.e.actor})`;
  const integrity = (c: Checked): string | undefined => {
    if (!c.contentOk) return "its content does not match its hash";
    if (!c.keyKnown) return `it is signed with key ${c.e.keyId}, which is not a ledger key (trusted: ${trustedKeys})`;
    if (!c.sigOk) return `its content matches its hash but the signature is not valid for key ${c.e.keyId}: it was forged or re-hashed without the signing key`;
    return undefined;
  };

  // Pass 2a: one entry per sequence number; the others were inserted.
  const bySeq = new Map<number, Checked[]>();
  for (const c of checked) {
    const list = bySeq.get(c.seq) ?? [];
    list.push(c);
    bySeq.set(c.seq, list);
  }
  const linksForward = (c: Checked): boolean => (bySeq.get(c.seq + 1) ?? []).some((n) => n.contentOk && n.e.prev === c.e.hash);
  const linksBack = (c: Checked): boolean =>
    c.seq === 0 ? c.e.prev === GENESIS : (bySeq.get(c.seq - 1) ?? []).some((p) => p.sigOk && p.e.hash === c.e.prev);
  const rank = (c: Checked): number => (c.contentOk && c.sigOk ? 8 : c.sigOk ? 4 : 0) + (linksForward(c) ? 2 : 0) + (linksBack(c) ? 1 : 0);

  const primary = new Map<number, Checked>();
  const inserted = new Set<Checked>();
  for (const [seq, list] of bySeq) {
    // Highest rank wins; on a tie, the earliest position.
    const chosen = list.reduce((best, c) => (rank(c) > rank(best) ? c : best));
    primary.set(seq, chosen);
    for (const c of list) {
      if (c === chosen) continue;
      inserted.add(c);
      const at = `${where(c.index)}`;
      if (c.e.hash === chosen.e.hash && c.contentOk && chosen.contentOk) {
        add(c.index, seq, "inserted", `${name(c)} at ${at} was inserted: it is a copy of the entry at ${where(chosen.index)}`);
        continue;
      }
      const why = integrity(c);
      add(
        c.index,
        seq,
        "inserted",
        `an entry claiming seq ${seq} (${c.e.type} by ${c.e.actor}) was inserted at ${at}: seq ${seq} is already the entry at ${where(chosen.index)}` +
          (why === undefined ? ", and this one is validly signed, so it comes from another chain or a second writer" : `, and ${why}`),
      );
    }
  }

  // Integrity problems of the entries that hold a sequence number.
  for (const c of checked) {
    if (inserted.has(c)) continue;
    const why = integrity(c);
    if (why === undefined) continue;
    const claimed = c.seq !== c.e.seq ? ` (it now claims seq ${c.e.seq})` : "";
    if (!c.contentOk) {
      const sig = c.sigOk ? "" : c.keyKnown ? "; its signature is not valid either" : `; it also names an unknown key ${c.e.keyId}`;
      add(c.index, c.seq, "altered", `${name(c)} was altered: ${why}${claimed}${sig} (${where(c.index)})`);
    } else {
      add(c.index, c.seq, "bad_signature", `${name(c)} has a bad signature: ${why} (${where(c.index)})`);
    }
  }

  // Pass 2b: order. Entries outside the longest increasing run of sequence numbers were moved.
  const placed = [...primary.values()].sort((a, b) => a.index - b.index);
  const inOrder = longestIncreasing(placed.map((c) => c.seq));
  placed.forEach((c, i) => {
    if (inOrder.has(i)) return;
    const before = primary.get(c.seq - 1);
    const after = primary.get(c.seq + 1);
    const belongs =
      before !== undefined ? `right after seq ${before.seq} (${where(before.index)})` : after !== undefined ? `right before seq ${after.seq} (${where(after.index)})` : "elsewhere";
    add(c.index, c.seq, "reordered", `${name(c)} is out of order: it is at ${where(c.index)} but belongs ${belongs}`);
  });

  // Pass 2c: gaps and links, in sequence order.
  const seqs = [...primary.keys()].sort((a, b) => a - b);
  let expected = 0;
  for (const s of seqs) {
    const c = primary.get(s)!;
    if (s > expected) {
      const points = c.contentOk ? `; its prev hash ${short(c.e.prev)} is the hash of no entry present` : "";
      add(c.index, expected, "removed", `${seqRange(expected, s - 1)} removed: ${name(c)} at ${where(c.index)} comes next after ${expected === 0 ? "the start" : `seq ${expected - 1}`}${points}`);
    } else if (c.contentOk && c.sigOk) {
      // Both sides genuine, yet not linked: only possible if entries of another chain were spliced in.
      if (s === 0 && c.e.prev !== GENESIS) {
        add(c.index, s, "inserted", `${name(c)} at ${where(c.index)} does not start a chain (its prev is ${short(c.e.prev)}, not ${GENESIS}): it comes from another chain`);
      } else if (s > 0) {
        const p = primary.get(s - 1)!;
        if (p.sigOk && c.e.prev !== p.e.hash) {
          add(c.index, s, "inserted", `${name(c)} at ${where(c.index)} does not follow seq ${s - 1}: its prev hash ${short(c.e.prev)} is not the hash of seq ${s - 1} (${short(p.e.hash)}), so it was spliced in from another chain or written by a second writer`);
        }
      }
    }
    expected = s + 1;
  }

  // Truncation at the end, against a head the caller trusts.
  const last = seqs.length > 0 ? primary.get(seqs[seqs.length - 1]!) : undefined;
  if (opts.expectedHead !== undefined && !checked.some((c) => c.sigOk && c.e.hash === opts.expectedHead)) {
    const genuine = [...primary.values()].filter((c) => c.contentOk && c.sigOk).sort((a, b) => b.seq - a.seq)[0];
    const laterDamaged = genuine !== undefined && [...primary.values()].some((c) => c.seq > genuine.seq);
    const tail = genuine === undefined ? "every entry" : `the entries after seq ${genuine.seq} (${genuine.e.type} by ${genuine.e.actor})`;
    add(
      entries.length,
      genuine === undefined ? 0 : genuine.seq + 1,
      "removed",
      `the trusted head ${short(opts.expectedHead)} is not in the ledger: ${tail} ${laterDamaged ? "were removed or replaced (see the other problems)" : "were removed — the ledger was truncated"}`,
    );
  }

  problems.sort((a, b) => a.index - b.index);
  return {
    ok: problems.length === 0,
    entries: entries.length,
    ...(last !== undefined ? { head: last.e.hash, headSeq: last.seq } : {}),
    problems,
  };
}
