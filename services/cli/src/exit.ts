/**
 * Exit codes of `px`, and its errors. Scripts may rely on the codes; keep them in step with the help text
 * and the README.
 */
import { PxError } from "@parcel-exchange/shared";

export const EXIT = {
  ok: 0,
  /** The operation failed, or a verification found problems. */
  failed: 1,
  /** The command line is wrong (unknown command or option, missing argument, unreadable input file). */
  usage: 2,
  /** The policy service refused the change (422: does not compile, tests fail, breaches the floor). */
  rejected: 3,
  /** No or unknown API key (401), or the role may not do this (403). */
  forbidden: 4,
  /** No such proposal or version (404). */
  notFound: 5,
  /** The request conflicts with the current state, e.g. the proposal is already published (409). */
  conflict: 6,
  /** The policy service (or Kafka) could not be reached. */
  unreachable: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  operation failed, or verification found problems
  2  usage error (bad command line, unreadable or malformed input file, request the service calls malformed)
  3  rejected by the policy service (422: does not compile, tests fail, or breaches the floor)
  4  not allowed (401 no or unknown API key, 403 role may not do this)
  5  not found (404)
  6  conflict (409, e.g. the proposal is already published)
  7  service unreachable`;

/** Exit codes of failures (everything but ok). */
export type FailureExitCode = Exclude<ExitCode, typeof EXIT.ok>;

/** Every code a CliError carries: one per kind of failure, i.e. per exit code. */
export const CLI_ERROR_CODES = ["CLI_FAILED", "CLI_USAGE", "CLI_REJECTED", "CLI_FORBIDDEN", "CLI_NOT_FOUND", "CLI_CONFLICT", "CLI_UNREACHABLE"] as const;

export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/** The code of a CliError with a given exit code. */
export const CLI_ERROR_CODE_OF_EXIT: { readonly [E in FailureExitCode]: CliErrorCode } = {
  [EXIT.failed]: "CLI_FAILED",
  [EXIT.usage]: "CLI_USAGE",
  [EXIT.rejected]: "CLI_REJECTED",
  [EXIT.forbidden]: "CLI_FORBIDDEN",
  [EXIT.notFound]: "CLI_NOT_FOUND",
  [EXIT.conflict]: "CLI_CONFLICT",
  [EXIT.unreachable]: "CLI_UNREACHABLE",
};

/**
 * An error that ends the command with a given exit code; `details` are printed under the message. Part of
 * the PxError hierarchy: its code names the kind of failure, and it is retriable when the service (or
 * Kafka) could not be reached.
 */
export class CliError extends PxError<CliErrorCode> {
  readonly exitCode: FailureExitCode;
  readonly details: readonly string[];
  constructor(exitCode: FailureExitCode, message: string, details: readonly string[] = [], opts: { cause?: unknown } = {}) {
    super(CLI_ERROR_CODE_OF_EXIT[exitCode], message, { retriable: exitCode === EXIT.unreachable, cause: opts.cause });
    this.exitCode = exitCode;
    this.details = details;
  }
}

/** A mistake on the command line; `help` names the command whose usage to show. */
export class UsageError extends CliError {
  readonly helpFor: string | undefined;
  constructor(message: string, helpFor?: string) {
    super(EXIT.usage, message);
    this.helpFor = helpFor;
  }
}
