/**
 * The one registry of how errors are answered over HTTP, in the manner of fastify's error registry: each
 * error code maps to its status and a hint that fits it. Domain code throws typed errors (errors.ts); only
 * this module knows their statuses. The OpenAPI document takes its error responses from here too.
 */
import { PxError, type SharedErrorCode } from "@parcel-exchange/shared";
import type { LedgerErrorCode } from "@parcel-exchange/ledger";
import type { ApiErrorCode, ErrorResponse } from "./api.js";
import { PolicyServiceError, type PolicyErrorCode } from "./errors.js";

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 422 | 500 | 503;

export interface ErrorMapping {
  readonly status: ErrorStatus;
  /** What the caller can do about it. */
  readonly hint: string;
}

/**
 * Every policy service code, and the codes of other packages' errors that can surface in a request. Other
 * errors answer 503 when retriable, else 500 (see mappingOf).
 */
export const ERROR_REGISTRY: { readonly [C in PolicyErrorCode]: ErrorMapping } & { readonly [C in SharedErrorCode | LedgerErrorCode]?: ErrorMapping } = {
  UNAUTHENTICATED: { status: 401, hint: "send 'Authorization: Bearer <key>' with a key of a user in PX_USERS_FILE (px: --key or PX_API_KEY)" },
  FORBIDDEN: { status: 403, hint: "ask a user whose role allows it: a regulator, or a party that is a side of every contract the change touches" },
  REQUEST_INVALID: { status: 400, hint: "correct the request body as listed in details (request schemas: GET /openapi.json) and send it again" },
  ROUTE_NOT_FOUND: { status: 404, hint: "GET /openapi.json lists the routes of this API" },
  NOT_FOUND: { status: 404, hint: "check the id: GET /v1/proposals lists the proposals, GET /v1/policy/history the versions" },
  CONFLICT: { status: 409, hint: "read the proposal again (GET /v1/proposals/{id}); a published or superseded proposal no longer changes, so propose a new change" },
  CHANGE_REJECTED: { status: 422, hint: "the policy in force is unchanged; fix what details name (compiler output, failing tests, coverage under the floor, tests in force deleted or changed, a check over its time limit, or floor breaches) and submit the change again" },
  INTERNAL: { status: 500, hint: "the policy service logged the failure; retry, and report it if it persists" },
  DEPENDENCY_FAILED: { status: 503, hint: "Kafka or the schema registry did not answer; retry shortly" },
  LEDGER_WRITER_FENCED: { status: 503, hint: "another policy service instance took over the ledger and this one can no longer record; send requests to that instance, or restart this one" },
  LEDGER_CLOSED: { status: 503, hint: "the policy service is shutting down; retry once it is back" },
  LEDGER_INTEGRITY: { status: 500, hint: "the ledger topic fails verification, so nothing is recorded; an operator must investigate it (px ledger verify --from-topic)" },
};

/** The status and hint for an error: its code's entry, else by whether it is retriable. */
export function mappingOf(err: unknown): { code: ApiErrorCode; mapping: ErrorMapping } {
  if (err instanceof PxError) {
    const code = err.code as ApiErrorCode;
    const known = (ERROR_REGISTRY as Readonly<Partial<Record<string, ErrorMapping>>>)[code];
    if (known) return { code, mapping: known };
    if (err.retriable) return { code, mapping: { status: 503, hint: "a dependency of the policy service failed; retry shortly" } };
    return { code, mapping: ERROR_REGISTRY.INTERNAL };
  }
  return { code: "INTERNAL", mapping: ERROR_REGISTRY.INTERNAL };
}

/** The response for an error. Unexpected errors (not PxError) do not show their message. */
export function errorResponse(err: unknown): { status: ErrorStatus; body: ErrorResponse } {
  const { code, mapping } = mappingOf(err);
  const message = err instanceof PxError ? err.message : "the policy service failed to handle the request";
  const details = err instanceof PolicyServiceError ? err.details : undefined;
  const retriable = err instanceof PxError ? err.retriable : false;
  return { status: mapping.status, body: { error: message, code, hint: mapping.hint, retriable, ...(details === undefined ? {} : { details }) } };
}
