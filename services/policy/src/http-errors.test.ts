import { describe, expect, it } from "vitest";
import { ConfigError, DependencyError, PolicyBuildError, PxError, ValidationError } from "@parcel-exchange/shared";
import { LedgerClosedError, LedgerFencedError, LedgerIntegrityError } from "@parcel-exchange/ledger";
import { ChangeRejectedError, ConflictError, ForbiddenError, NotFoundError, POLICY_ERROR_CODES, RequestInvalidError, RouteNotFoundError, UnauthenticatedError } from "./errors.js";
import { ERROR_REGISTRY, errorResponse } from "./http-errors.js";

describe("the error registry", () => {
  it("has a status and a hint for every policy service code", () => {
    for (const code of POLICY_ERROR_CODES) {
      const m = ERROR_REGISTRY[code];
      expect(m.status, code).toBeGreaterThanOrEqual(400);
      expect(m.hint.length, code).toBeGreaterThan(20);
    }
  });

  it.each([
    ["no key", new UnauthenticatedError("missing API key"), 401, "UNAUTHENTICATED", /Authorization: Bearer/],
    ["a role that may not", new ForbiddenError("viewer:x is a viewer and may not approve"), 403, "FORBIDDEN", /regulator|side/],
    ["a malformed body", new RequestInvalidError("the request body", ["'version' is required"]), 400, "REQUEST_INVALID", /request body/],
    ["an unknown route", new RouteNotFoundError("GET", "/v2/x"), 404, "ROUTE_NOT_FOUND", /openapi\.json/],
    ["an unknown proposal", new NotFoundError("proposal prop-x"), 404, "NOT_FOUND", /GET \/v1\/proposals/],
    ["an approval of a published proposal", new ConflictError("proposal prop-x is already published"), 409, "CONFLICT", /propose a new change/],
    ["a change that does not compile", new ChangeRejectedError("the proposed policy does not compile", { compiler: "x" }), 422, "CHANGE_REJECTED", /policy in force is unchanged/],
    ["Kafka down", new DependencyError("kafka", "no broker"), 503, "DEPENDENCY_FAILED", /retry/],
    ["a fenced ledger writer", new LedgerFencedError("px.ledger", new Error("fenced")), 503, "LEDGER_WRITER_FENCED", /another policy service instance/],
    ["a closed ledger", new LedgerClosedError(), 503, "LEDGER_CLOSED", /shutting down/],
    ["a damaged ledger", new LedgerIntegrityError("px.ledger", []), 500, "LEDGER_INTEGRITY", /verif/],
  ])("answers %s with its status, code and hint", (_what, err, status, code, hint) => {
    const r = errorResponse(err);
    expect(r.status).toBe(status);
    expect(r.body.code).toBe(code);
    expect(r.body.error).toBe(err.message);
    expect(r.body.hint).toMatch(hint);
    expect(r.body.hint).toBe(ERROR_REGISTRY[code as keyof typeof ERROR_REGISTRY]!.hint);
    expect(r.body.retriable).toBe(err.retriable);
  });

  it("tells a caller with a malformed body to fix the request, not to publish an event again", () => {
    const r = errorResponse(new RequestInvalidError("the request body", ["change.contracts.a.id must be 'a'", "'description' is required"]));
    expect(r.body.error).toBe("the request body is malformed: change.contracts.a.id must be 'a'; 'description' is required");
    expect(r.body.details).toEqual(["change.contracts.a.id must be 'a'", "'description' is required"]);
    expect(`${r.body.error} ${r.body.hint}`).not.toMatch(/publish again|fix the listed fields/i);
    // What the SDK says about events stays the SDK's.
    expect(new ValidationError("LockerEvent", ["x"]).message).toMatch(/publish again/);
  });

  it("shows the details of a rejected change", () => {
    const details = { floorViolations: ["taobao would stop receiving TrackingEvent"] };
    expect(errorResponse(new ChangeRejectedError("the change would withhold what the floor guarantees", details)).body.details).toEqual(details);
    expect(errorResponse(new ConflictError("x")).body).not.toHaveProperty("details");
  });

  it("answers errors it has no entry for by whether they are retriable", () => {
    expect(errorResponse(new PolicyBuildError("opa not found"))).toMatchObject({ status: 500, body: { code: "POLICY_BUILD_FAILED", error: "opa not found", retriable: false, hint: ERROR_REGISTRY.INTERNAL.hint } });
    expect(errorResponse(new ConfigError("X", "bad", "fix")).status).toBe(500);
    expect(errorResponse(new PxError("SOMETHING_ELSE", "flaky", { retriable: true }))).toMatchObject({ status: 503, body: { code: "SOMETHING_ELSE", retriable: true } });
  });

  it("does not show the message of an unexpected error", () => {
    const r = errorResponse(new TypeError("Cannot read properties of undefined (reading 'secret')"));
    expect(r.status).toBe(500);
    expect(r.body.code).toBe("INTERNAL");
    expect(r.body.error).not.toMatch(/secret/);
    expect(r.body.hint).toBe(ERROR_REGISTRY.INTERNAL.hint);
  });
});
