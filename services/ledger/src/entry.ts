/**
 * Ledger entry types. An entry commits to its own content (hash) and to the entry before it (prev), and the
 * policy service signs the hash with its Ed25519 key, so anyone holding the public key can check the whole log.
 */

/** Every kind of fact the ledger records. */
export const LEDGER_ENTRY_TYPES = [
  "policy.proposed",
  "policy.rejected",
  "policy.proposal_rejected",
  "policy.approved",
  "policy.scheduled",
  "policy.published",
  "policy.rolled_back",
  "policy.notice",
  "deliveries.minute",
  "webhook.created",
  "webhook.secret_rotated",
  "webhook.disabled",
  "webhook.enabled",
] as const;

export type LedgerEntryType = (typeof LEDGER_ENTRY_TYPES)[number];

export function isLedgerEntryType(v: unknown): v is LedgerEntryType {
  return typeof v === "string" && (LEDGER_ENTRY_TYPES as readonly string[]).includes(v);
}

/** What a caller asks to record; the ledger adds position, time, chaining and signature. */
export interface LedgerDraft {
  readonly type: LedgerEntryType;
  /** Who did it, e.g. "regulator:spb", "policy-service", "router". */
  readonly actor: string;
  /** Any JSON value. It is normalised through JSON (so what is hashed is exactly what is stored). */
  readonly body: unknown;
}

/** The value recorded at `prev` of the first entry. */
export const GENESIS = "GENESIS";

export interface LedgerEntry {
  /** Position in the ledger: 0 for the first entry, then consecutive. */
  readonly seq: number;
  /** When the entry was made (ISO 8601, UTC). */
  readonly at: string;
  readonly type: LedgerEntryType;
  readonly actor: string;
  readonly body: unknown;
  /** `hash` of the entry with seq - 1, or GENESIS for seq 0. */
  readonly prev: string;
  /** Lower-case hex SHA-256 of canonicalJson({ seq, at, type, actor, body, prev }). */
  readonly hash: string;
  /** Identifies the signing key (shared/signing.ts keyIdOf). */
  readonly keyId: string;
  /** Base64 Ed25519 signature over the UTF-8 bytes of `hash`. */
  readonly sig: string;
}

/** Suggested body of a "deliveries.minute" entry: what was delivered to whom in one minute. */
export interface DeliveriesMinuteBody {
  /** Start of the minute, ISO 8601 (e.g. "2025-03-01T10:15:00.000Z"). */
  readonly minute: string;
  readonly counts: ReadonlyArray<{ readonly party: string; readonly dataClass: string; readonly count: number }>;
}
