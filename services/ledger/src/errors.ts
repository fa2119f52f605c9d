/** Typed ledger errors. Each says what went wrong and what to do about it. */
import { PxError } from "@parcel-exchange/shared";
import type { LedgerProblem } from "./chain.js";

/** Every code a ledger error carries. */
export const LEDGER_ERROR_CODES = [
  "LEDGER_DRAFT_INVALID",
  "LEDGER_TOPIC_MISCONFIGURED",
  "LEDGER_READ_ONLY",
  "LEDGER_WRITER_FENCED",
  "LEDGER_CLOSED",
  "LEDGER_INTEGRITY",
  "LEDGER_FORMAT",
] as const;

export type LedgerErrorCode = (typeof LEDGER_ERROR_CODES)[number];

/** A draft cannot be recorded (unknown type, empty actor, body that is not JSON). Fix the caller. */
export class LedgerDraftError extends PxError<LedgerErrorCode> {
  constructor(problem: string) {
    super("LEDGER_DRAFT_INVALID", `ledger entry not recorded: ${problem}. Fix the entry and append it again.`);
  }
}

/** The ledger topic exists but is configured so that entries could be lost or reordered. */
export class LedgerTopicError extends PxError<LedgerErrorCode> {
  readonly topic: string;
  constructor(topic: string, problem: string, fix: string) {
    super("LEDGER_TOPIC_MISCONFIGURED", `ledger topic ${topic}: ${problem}. Fix: ${fix}`);
    this.topic = topic;
  }
}

/** This store was opened without a signer; only the policy service (holder of the private key) can append. */
export class LedgerReadOnlyError extends PxError<LedgerErrorCode> {
  constructor() {
    super("LEDGER_READ_ONLY", "this ledger store was opened without a signer and cannot append. Append through the policy service, which holds the signing key (open the store with { signer: loadSigner(config) }).");
  }
}

/**
 * Another writer opened the ledger with the same transactional id, so Kafka fenced this one: its append was
 * not recorded and no later append from this instance can be. Not retriable.
 */
export class LedgerFencedError extends PxError<LedgerErrorCode> {
  readonly transactionalId: string;
  constructor(transactionalId: string, cause: unknown) {
    super(
      "LEDGER_WRITER_FENCED",
      `ledger append refused: another ledger writer took over transactional id ${transactionalId}, so this instance was fenced and the entry was NOT recorded. Only one policy service instance may write the ledger: stop this one (or close it and open a new store, which takes over and continues from the head).`,
      { retriable: false, cause },
    );
    this.transactionalId = transactionalId;
  }
}

/** The store was closed; open a new one. */
export class LedgerClosedError extends PxError<LedgerErrorCode> {
  constructor() {
    super("LEDGER_CLOSED", "the ledger store is closed. Open a new one with LedgerStore.open().");
  }
}

/** The ledger read from Kafka does not verify; appending to it would extend a damaged chain. */
export class LedgerIntegrityError extends PxError<LedgerErrorCode> {
  readonly problems: readonly LedgerProblem[];
  constructor(topic: string, problems: readonly LedgerProblem[]) {
    const shown = problems.slice(0, 5).map((p) => p.message);
    const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : "";
    super(
      "LEDGER_INTEGRITY",
      `ledger topic ${topic} fails verification: ${shown.join("; ")}${more}. Nothing was appended. Investigate who wrote to the topic, and compare it with the last exported copy before appending again.`,
    );
    this.problems = problems;
  }
}

/** A JSONL export cannot be parsed. Names the file and line. */
export class LedgerFormatError extends PxError<LedgerErrorCode> {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, problem: string) {
    super("LEDGER_FORMAT", `${file} line ${line}: ${problem}. The file is not a ledger export (one JSON entry per line); use verifyJsonl() to get a full report.`);
    this.file = file;
    this.line = line;
  }
}
