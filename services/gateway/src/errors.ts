/**
 * The gateway's errors: one class with a code from a const union, and one registry mapping each code to its
 * HTTP status and what the caller should do (in the manner of fastify's error registry). Every 4xx/5xx body
 * is `{error, code, hint, retriable, details?}`, the same shape the policy service answers with.
 */
import { PxError } from "@parcel-exchange/shared";

export const GATEWAY_ERROR_CODES = [
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "REQUEST_INVALID",
  "EVENTS_INVALID",
  "BODY_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "RATE_LIMITED",
  "IDEMPOTENCY_KEY_REUSED",
  "IDEMPOTENCY_KEY_IN_USE",
  "NOT_FOUND",
  "UNAVAILABLE",
  "INTERNAL",
] as const;
export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number];

export const GATEWAY_ERRORS: Readonly<Record<GatewayErrorCode, { readonly status: number; readonly hint: string; readonly retriable: boolean }>> = {
  UNAUTHENTICATED: { status: 401, hint: "send 'Authorization: Bearer <key>' with your party's API key", retriable: false },
  FORBIDDEN: { status: 403, hint: "this key's role may not do that: publishing and receiving need a party's key", retriable: false },
  REQUEST_INVALID: { status: 400, hint: "fix the request as the details say", retriable: false },
  EVENTS_INVALID: { status: 400, hint: "fix the listed fields; nothing of this request was published", retriable: false },
  BODY_TOO_LARGE: { status: 413, hint: "send fewer events per request (see PX_GATEWAY_MAX_BODY_BYTES and PX_GATEWAY_MAX_BATCH)", retriable: false },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, hint: "send Content-Type: application/json", retriable: false },
  RATE_LIMITED: { status: 429, hint: "wait for the Retry-After seconds and send again", retriable: true },
  IDEMPOTENCY_KEY_REUSED: { status: 422, hint: "an Idempotency-Key names one request: use a new key for a different body", retriable: false },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, hint: "the first request with this Idempotency-Key is still being published: retry in a moment", retriable: true },
  NOT_FOUND: { status: 404, hint: "see /openapi.json for the routes", retriable: false },
  UNAVAILABLE: { status: 503, hint: "a dependency (Kafka, the schema registry) is not reachable; retry with the same Idempotency-Key", retriable: true },
  INTERNAL: { status: 500, hint: "retry with the same Idempotency-Key; if it persists, report it with the time of the request", retriable: true },
};

export class GatewayError extends PxError<GatewayErrorCode> {
  constructor(
    code: GatewayErrorCode,
    message: string,
    readonly details?: unknown,
    /** Seconds, for 429 and 409. */
    readonly retryAfterSec?: number,
  ) {
    super(code, message);
  }

  get status(): number {
    return GATEWAY_ERRORS[this.code].status;
  }

  body(): { error: string; code: GatewayErrorCode; hint: string; retriable: boolean; details?: unknown } {
    const e = GATEWAY_ERRORS[this.code];
    return { error: this.message, code: this.code, hint: e.hint, retriable: e.retriable, ...(this.details !== undefined ? { details: this.details } : {}) };
  }
}
