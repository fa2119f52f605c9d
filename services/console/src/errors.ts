/**
 * The console's errors: one class with a code from a const union, and one registry mapping each code to its
 * HTTP status and what the user should do. Pages show them as a message; JSON callers get the same
 * `{error, code, hint, retriable}` body the policy service and the gateway answer with.
 */
import { PxError } from "@parcel-exchange/shared";

export const CONSOLE_ERROR_CODES = ["SIGNED_OUT", "SIGN_IN_FAILED", "CSRF", "FORBIDDEN", "REQUEST_INVALID", "NOT_FOUND", "REFUSED", "UNAVAILABLE", "INTERNAL"] as const;
export type ConsoleErrorCode = (typeof CONSOLE_ERROR_CODES)[number];

export const CONSOLE_ERRORS: Readonly<Record<ConsoleErrorCode, { readonly status: number; readonly hint: string; readonly retriable: boolean }>> = {
  SIGNED_OUT: { status: 401, hint: "sign in with your API key", retriable: false },
  SIGN_IN_FAILED: { status: 401, hint: "check the key (it is the one px and the API use); ask the exchange's operator if you have none", retriable: false },
  CSRF: { status: 403, hint: "reload the page and submit the form again (the form was not from this console, or the session changed)", retriable: false },
  FORBIDDEN: { status: 403, hint: "your role may not do that; the policy service refused it", retriable: false },
  REQUEST_INVALID: { status: 400, hint: "fix the form as the message says", retriable: false },
  NOT_FOUND: { status: 404, hint: "check the address; the item may not exist", retriable: false },
  REFUSED: { status: 409, hint: "the policy service refused the action as the message says; reload to see the current state", retriable: false },
  UNAVAILABLE: { status: 503, hint: "the policy service (or Prometheus) is not reachable; try again in a moment", retriable: true },
  INTERNAL: { status: 500, hint: "try again; if it persists, report it with the time", retriable: true },
};

export class ConsoleError extends PxError<ConsoleErrorCode> {
  constructor(
    code: ConsoleErrorCode,
    message: string,
    /** The policy service's own status, when it refused (kept so the page answers with it). */
    readonly upstreamStatus?: number,
    readonly details?: unknown,
  ) {
    super(code, message, { retriable: CONSOLE_ERRORS[code].retriable });
  }

  get status(): number {
    return this.upstreamStatus ?? CONSOLE_ERRORS[this.code].status;
  }

  get hint(): string {
    return CONSOLE_ERRORS[this.code].hint;
  }

  body(): { error: string; code: ConsoleErrorCode; hint: string; retriable: boolean } {
    return { error: this.message, code: this.code, hint: this.hint, retriable: CONSOLE_ERRORS[this.code].retriable };
  }
}

/** The console error for an answer of the policy service. */
export function fromPolicyAnswer(what: string, status: number, answer: { error?: unknown; hint?: unknown; details?: unknown }): ConsoleError {
  const message = `${what}: ${typeof answer.error === "string" ? answer.error : `the policy service answered ${status}`}${typeof answer.hint === "string" ? ` (${answer.hint})` : ""}`;
  const code: ConsoleErrorCode = status === 401 ? "SIGNED_OUT" : status === 403 ? "FORBIDDEN" : status === 404 ? "NOT_FOUND" : status === 400 ? "REQUEST_INVALID" : status >= 500 ? "UNAVAILABLE" : "REFUSED";
  return new ConsoleError(code, message, status, answer.details);
}
