/**
 * The policy service's own stored state (versions, proposals) treated as untrusted: every record it writes is
 * sealed — signed with the service's key over the topic, the key, the value and the ledger entry the record
 * comes from — and every record read back must unseal and agree with the (signature-verified) ledger, else it
 * is refused: counted, logged, never used. A record written into the topics by anyone else, a genuine record
 * moved to another key or topic, and a genuine older record written again all fail.
 */
import type { Kafka } from "kafkajs";
import { canonicalJson, PxError, type Config, type LedgerRef, type Signer, type Verifier } from "@parcel-exchange/shared";
import type { LedgerEntry, LedgerStore } from "@parcel-exchange/ledger";
import { KafkaKv } from "./kv.js";

/** A stored record as it is on the topic. */
export interface Sealed<T> {
  readonly value: T;
  readonly ledger: LedgerRef;
  readonly keyId: string;
  readonly sig: string;
}

const sealedText = (topic: string, key: string, value: unknown, ledger: LedgerRef): string => `px-policy-state-v1\n${canonicalJson({ topic, key, value, ledger })}`;

export function seal<T>(signer: Signer, topic: string, key: string, value: T, ledger: LedgerRef): Sealed<T> {
  const ref = { seq: ledger.seq, hash: ledger.hash };
  return { value, ledger: ref, keyId: signer.keyId, sig: signer.sign(sealedText(topic, key, value, ref)) };
}

/** Codes of the state's errors. */
export const STATE_ERROR_CODES = ["STATE_REFUSED", "STATE_INTEGRITY"] as const;
export type StateErrorCode = (typeof STATE_ERROR_CODES)[number];

/** Why a stored record was refused. */
export class StateRefusedError extends PxError<StateErrorCode> {
  constructor(
    readonly store: string,
    readonly key: string,
    readonly reason: string,
  ) {
    super("STATE_REFUSED", `stored record '${key}' of ${store} refused: ${reason}; it is ignored (never published). Find who wrote it — only the policy service may write this topic`);
  }
}

/** The state cannot be trusted as a whole (e.g. the version in force is missing): the service does not start. */
export class StateIntegrityError extends PxError<StateErrorCode> {
  constructor(message: string) {
    super("STATE_INTEGRITY", `${message}. The policy service does not start on state it cannot verify: restore the topic from a backup, or investigate who wrote it`);
  }
}

/** Returns the record's value and ledger reference, or throws the reason it is refused. */
export function unseal<T>(verifier: Verifier, topic: string, key: string, raw: unknown): { value: T; ledger: LedgerRef } {
  const s = raw as Partial<Sealed<T>> | null;
  if (typeof s !== "object" || s === null || !("value" in s) || typeof s.ledger !== "object" || s.ledger === null || typeof s.sig !== "string") throw new Error("it is not a sealed record (no value, ledger reference or signature)");
  const ledger = { seq: Number(s.ledger.seq), hash: String(s.ledger.hash) };
  if (s.keyId !== verifier.keyId) throw new Error(`it is signed by key ${String(s.keyId)}, not the policy service's key ${verifier.keyId}`);
  if (!verifier.verify(sealedText(topic, key, s.value, ledger), s.sig)) throw new Error("its signature does not match its topic, key, value and ledger reference");
  return { value: s.value as T, ledger };
}

/** The ledger, indexed for checking stored state against it. */
export class LedgerIndex {
  private readonly bySeq = new Map<number, LedgerEntry>();

  constructor(readonly entries: readonly LedgerEntry[]) {
    for (const e of entries) this.bySeq.set(e.seq, e);
  }

  /** The entry a reference names, when it exists with that hash. */
  at(ref: LedgerRef): LedgerEntry | undefined {
    const e = this.bySeq.get(ref.seq);
    return e && e.hash === ref.hash ? e : undefined;
  }

  /** The newest entry that changed a proposal's state (proposed, approved, scheduled, published). */
  latestAbout(proposal: string): LedgerEntry | undefined {
    return this.latestWhere(PROPOSAL_STATE_TYPES, "proposal", proposal);
  }

  /** The newest entry of one of `types` whose body has `field` equal to `value`. */
  latestWhere(types: ReadonlySet<string>, field: string, value: string): LedgerEntry | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (types.has(e.type) && bodyOf(e)[field] === value) return e;
    }
    return undefined;
  }

  /** Every entry that put a version in force, in order, with its release sequence (1, 2, …). */
  releases(): { entry: LedgerEntry; version: string; sequence: number }[] {
    const out: { entry: LedgerEntry; version: string; sequence: number }[] = [];
    for (const e of this.entries) {
      if (e.type !== "policy.published" && e.type !== "policy.rolled_back") continue;
      const b = bodyOf(e);
      const version = e.type === "policy.published" ? b.version : b.to;
      if (typeof version !== "string") throw new StateIntegrityError(`ledger entry ${e.seq} (${e.type}) names no version`);
      const sequence = out.length + 1;
      if (b.sequence !== undefined && b.sequence !== sequence) throw new StateIntegrityError(`ledger entry ${e.seq} records release sequence ${String(b.sequence)} where ${sequence} was due`);
      out.push({ entry: e, version, sequence });
    }
    return out;
  }
}

const PROPOSAL_STATE_TYPES = new Set<string>(["policy.proposed", "policy.approved", "policy.scheduled", "policy.published"]);

export const bodyOf = (e: LedgerEntry): Readonly<Record<string, unknown>> => (typeof e.body === "object" && e.body !== null ? (e.body as Record<string, unknown>) : {});

/** What every store of the service's sealed state is opened with (versions, proposals, webhooks). */
export interface SealedStateDeps {
  readonly config: Config;
  readonly kafka: Kafka;
  readonly signer: Signer;
  readonly verifier: Verifier;
  readonly ledger: LedgerStore;
  /** The ledger as read at start-up. */
  readonly index: LedgerIndex;
  readonly onRefused: (err: StateRefusedError) => void;
}

/** The answer of a check for a genuine record of an older state. */
export const STALE = Symbol("stale");

export interface SealedStoreOptions<T> {
  readonly kafka: Kafka;
  readonly config: Config;
  readonly topic: string;
  /** A short name for logs and metrics: "versions", "proposals". */
  readonly name: string;
  readonly signer: Signer;
  readonly verifier: Verifier;
  /**
   * Whether a record that unsealed agrees with the ledger: undefined accepts it; STALE says it is a genuine
   * older state (history when a newer record follows it in the log, a replay when it follows the accepted one);
   * any other text is the reason it is refused.
   */
  readonly check: (key: string, value: T, ledger: LedgerRef) => string | typeof STALE | undefined;
  readonly onRefused: (err: StateRefusedError) => void;
}

/** A compacted key → value store of sealed records; only records that verify are ever seen. */
export class SealedStore<T> {
  private constructor(
    private readonly o: SealedStoreOptions<T>,
    private readonly kv: KafkaKv<Sealed<T>>,
  ) {}

  static async open<T>(o: SealedStoreOptions<T>): Promise<SealedStore<T>> {
    const accepted = new Set<string>();
    const onlyStale = new Set<string>();
    const kv = await KafkaKv.open<Sealed<T>>(o.kafka, o.config, o.topic, (key, raw) => {
      try {
        if (raw === null) throw new Error("it deletes the key, and the policy service never deletes");
        if (raw === undefined) throw new Error("it is not JSON");
        const { value, ledger } = unseal<T>(o.verifier, o.topic, key, raw);
        const why = o.check(key, value, ledger);
        if (why === STALE) {
          if (accepted.has(key)) throw new Error("it is a genuine older state written again after the current one (a replay)");
          onlyStale.add(key);
          return false;
        }
        if (why !== undefined) throw new Error(why);
        accepted.add(key);
        onlyStale.delete(key);
        return true;
      } catch (err) {
        o.onRefused(new StateRefusedError(o.name, key, (err as Error).message));
        return false;
      }
    });
    for (const key of onlyStale) o.onRefused(new StateRefusedError(o.name, key, "no record of it agrees with the newest ledger entry about it (only older states are stored)"));
    return new SealedStore(o, kv);
  }

  get(key: string): T | undefined {
    return this.kv.get(key)?.value;
  }

  values(): T[] {
    return this.kv.values().map((s) => s.value);
  }

  get size(): number {
    return this.kv.values().length;
  }

  /** Writes a record sealed with a reference to the ledger entry that recorded what it says. */
  put(key: string, value: T, ledger: LedgerRef): Promise<void> {
    return this.kv.put(key, seal(this.o.signer, this.o.topic, key, value, ledger));
  }

  close(): Promise<void> {
    return this.kv.close();
  }
}
