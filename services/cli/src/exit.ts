/**
 * Exit codes of `px`. Scripts may rely on them; keep them in step with the help text and the README.
 */
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

/** An error that ends the command with a given exit code; `details` are printed under the message. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly details: readonly string[];
  constructor(exitCode: ExitCode, message: string, details: readonly string[] = []) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
    this.details = details;
  }
}

/** A mistake on the command line; `help` names the command whose usage to show. */
export class UsageError extends CliError {
  readonly helpFor: string | undefined;
  constructor(message: string, helpFor?: string) {
    super(EXIT.usage, message);
    this.name = "UsageError";
    this.helpFor = helpFor;
  }
}
