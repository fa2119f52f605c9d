import { describe, expect, it } from "vitest";
import { PxError } from "@parcel-exchange/shared";
import { POLICY_ERROR_CODES } from "@parcel-exchange/policy-api";
import { ApiClient, ApiError, EXIT_OF_POLICY_CODE, exitCodeOfAnswer, type FetchLike } from "./client.js";
import { CLI_ERROR_CODE_OF_EXIT, CLI_ERROR_CODES, CliError, EXIT, UsageError } from "./exit.js";
import { describeFailure } from "./main.js";

describe("CliError", () => {
  it("is a PxError whose code names the kind of failure, one per exit code", () => {
    const e = new CliError(EXIT.notFound, "no such proposal");
    expect(e).toBeInstanceOf(PxError);
    expect(e).toMatchObject({ code: "CLI_NOT_FOUND", exitCode: 5, retriable: false, name: "CliError" });
    expect(new CliError(EXIT.unreachable, "down")).toMatchObject({ code: "CLI_UNREACHABLE", retriable: true });
    expect(new Set(Object.values(CLI_ERROR_CODE_OF_EXIT))).toEqual(new Set(CLI_ERROR_CODES));
    const u = new UsageError("missing <proposal-id>", "policy approve");
    expect(u).toBeInstanceOf(PxError);
    expect(u).toMatchObject({ code: "CLI_USAGE", exitCode: EXIT.usage, helpFor: "policy approve", name: "UsageError" });
  });

  it("keeps its exit code when main reports it", () => {
    expect(describeFailure(new CliError(EXIT.conflict, "already published", ["x"]))).toEqual({ code: 6, message: "already published", details: ["x"] });
  });
});

const answering =
  (status: number, body: unknown, seen: { url?: string; method?: string; body?: string | undefined }[] = []): FetchLike =>
  async (url, init) => {
    seen.push({ url, method: init.method, body: init.body });
    return { status, text: async () => (typeof body === "string" ? body : JSON.stringify(body)) };
  };

const failure = async (p: Promise<unknown>): Promise<ApiError> => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
};

describe("ApiClient", () => {
  it("calls each operation with its method, path and body", async () => {
    const seen: { url?: string; method?: string; body?: string | undefined }[] = [];
    const api = new ApiClient("http://svc/", "k", answering(200, { id: "prop-1" }, seen));
    await api.call("approve", { params: { id: "prop 1" }, body: { immediate: true } });
    await api.call("apply", { params: { id: "prop-1" } });
    await api.call("listProposals");
    expect(seen).toEqual([
      { url: "http://svc/v1/proposals/prop%201/approve", method: "POST", body: '{"immediate":true}' },
      { url: "http://svc/v1/proposals/prop-1/apply", method: "POST", body: undefined },
      { url: "http://svc/v1/proposals", method: "GET", body: undefined },
    ]);
    expect(await new ApiClient("http://svc", "k", answering(200, "a\nb\n")).call("ledgerExport")).toBe("a\nb\n");
  });

  it("turns an error answer into an ApiError with the service's code, details and hint", async () => {
    const body = { error: "the request body is malformed: 'version' is required", code: "REQUEST_INVALID", hint: "correct the request body", retriable: false, details: ["'version' is required"] };
    const err = await failure(new ApiClient("http://svc", "k", answering(400, body)).call("rollback", { body: { version: "" } }));
    expect(err).toBeInstanceOf(CliError);
    expect(err).toMatchObject({ exitCode: EXIT.usage, code: "CLI_USAGE", status: 400, serviceCode: "REQUEST_INVALID", hint: "correct the request body" });
    expect(err.message).toBe("POST /v1/policy/rollback → 400 REQUEST_INVALID: the request body is malformed: 'version' is required");
    expect(err.details).toEqual(["'version' is required", "hint: correct the request body"]);
  });

  it("chooses the exit code by the service's code, else by the status", async () => {
    for (const code of POLICY_ERROR_CODES) expect(EXIT_OF_POLICY_CODE[code]).toBeGreaterThan(0);
    expect(exitCodeOfAnswer(404, "NOT_FOUND")).toBe(EXIT.notFound);
    expect(exitCodeOfAnswer(404, "ROUTE_NOT_FOUND")).toBe(EXIT.failed);
    expect(exitCodeOfAnswer(503, "DEPENDENCY_FAILED")).toBe(EXIT.unreachable);
    expect(exitCodeOfAnswer(422, undefined)).toBe(EXIT.rejected);
    expect(exitCodeOfAnswer(418, "SOMETHING_NEW")).toBe(EXIT.failed);
    const plain = await failure(new ApiClient("http://svc", "k", answering(502, "Bad Gateway")).call("currentVersion"));
    expect(plain).toMatchObject({ exitCode: EXIT.failed, serviceCode: undefined, message: "GET /v1/policy/current → 502: Bad Gateway", details: [] });
  });
});
