/**
 * Errors of the policy service's domain. They say what happened; none knows about HTTP. http-errors.ts maps
 * each code to a status and a hint.
 */
import { PxError } from "@parcel-exchange/shared";

import { POLICY_ERROR_CODES, type PolicyErrorCode } from "@parcel-exchange/policy-api";

/** The codes are part of the API (services/policy-api), which clients depend on. */
export { POLICY_ERROR_CODES, type PolicyErrorCode };

/** The root of the policy service's errors; `details` are shown to the caller. */
export abstract class PolicyServiceError extends PxError<PolicyErrorCode> {
  readonly details: unknown;
  constructor(code: PolicyErrorCode, message: string, details?: unknown) {
    super(code, message);
    this.details = details;
  }
}

/** The caller is not who may act: no or unknown key, or a role that may not do this. */
export abstract class AuthError extends PolicyServiceError {}

/** No API key, or one that belongs to nobody. */
export class UnauthenticatedError extends AuthError {
  constructor(message: string) {
    super("UNAUTHENTICATED", message);
  }
}

/** The caller's role (or party) may not do this. */
export class ForbiddenError extends AuthError {
  constructor(message: string) {
    super("FORBIDDEN", message);
  }
}

/** A request body that is not what the route takes. `problems` lists every problem found. */
export class RequestInvalidError extends PolicyServiceError {
  readonly problems: readonly string[];
  constructor(what: string, problems: readonly string[]) {
    super("REQUEST_INVALID", `${what} is malformed: ${problems.join("; ")}`, problems);
    this.problems = problems;
  }
}

/** No route for this method and path. */
export class RouteNotFoundError extends PolicyServiceError {
  constructor(method: string, path: string) {
    super("ROUTE_NOT_FOUND", `no route ${method} ${path}`);
  }
}

/** No such proposal or policy version. */
export class NotFoundError extends PolicyServiceError {
  constructor(what: string) {
    super("NOT_FOUND", `${what} not found`);
  }
}

/** The request conflicts with the state, e.g. approving a proposal that is already published. */
export class ConflictError extends PolicyServiceError {
  constructor(message: string) {
    super("CONFLICT", message);
  }
}

/** The worker thread that computes a proposal's impact failed (not the proposal); answered as INTERNAL. */
export class ImpactWorkerError extends PolicyServiceError {
  constructor(message: string) {
    super("INTERNAL", message);
  }
}

/**
 * A change that cannot become a proposal: it does not compile, its tests fail or miss the coverage floor, it
 * deletes or changes a test in force, its checks take too long, or it breaches the floor.
 */
export class ChangeRejectedError extends PolicyServiceError {
  constructor(message: string, details: unknown) {
    super("CHANGE_REJECTED", `${message}; the policy in force is unchanged`, details);
  }
}
