import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { createLogger } from "@parcel-exchange/shared";
import { API_ROUTES, apiPath, type ErrorResponse, type Operation } from "./api.js";
import { ConflictError, NotFoundError } from "./errors.js";
import { ERROR_REGISTRY } from "./http-errors.js";
import { policyApi } from "./http.js";
import { OPENAPI } from "./openapi.js";
import type { PolicyService } from "./service.js";
import { hashKey, Users } from "./users.js";

const KEY = "test-key-regulator";
let server: Server;
let base: string;
const calls: unknown[][] = [];

const stub = {
  currentVersion: () => "v1+abc",
  proposalFor: (_user: unknown, id: string) => {
    throw new NotFoundError(`proposal ${id}`);
  },
  approve: async (...args: unknown[]) => {
    calls.push(["approve", ...args]);
    throw new ConflictError("proposal prop-1 is already published");
  },
  history: async () => {
    throw new TypeError("Cannot read properties of undefined (reading 'secret')");
  },
  ledgerEntries: async () => [{ seq: 0 }, { seq: 1 }],
  propose: async (...args: unknown[]) => {
    calls.push(["propose", ...args]);
    return { id: "prop-1" };
  },
} as unknown as PolicyService;

beforeAll(async () => {
  const users = new Users([{ id: "regulator:t", role: "regulator", keySha256: hashKey(KEY) }]);
  server = policyApi(stub, users, createLogger("policy-http-test", "silent"), new Registry());
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.close();
});

async function call(method: string, path: string, body?: string, key: string | null = KEY): Promise<{ status: number; type: string | null; body: any }> {
  const res = await fetch(`${base}${path}`, { method, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), "content-type": "application/json" }, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type"), body: res.headers.get("content-type") === "application/json" ? JSON.parse(text) : text };
}

const expectError = (r: { status: number; body: ErrorResponse }, status: number, code: ErrorResponse["code"]) => {
  expect(r.status).toBe(status);
  expect(r.body).toMatchObject({ code, hint: ERROR_REGISTRY[code]!.hint });
  expect(typeof r.body.error).toBe("string");
};

describe("the policy API over HTTP", () => {
  it("answers a call without a key or with an unknown one with 401", async () => {
    expectError(await call("GET", "/v1/policy/current", undefined, null), 401, "UNAUTHENTICATED");
    expectError(await call("GET", "/v1/policy/current", undefined, "nope"), 401, "UNAUTHENTICATED");
    expect(await call("GET", "/v1/policy/current")).toMatchObject({ status: 200, body: { version: "v1+abc" } });
  });

  it("answers malformed bodies with 400 and a hint about the request, not about publishing events", async () => {
    const notJson = await call("POST", "/v1/proposals", "{ nope");
    expectError(notJson, 400, "REQUEST_INVALID");
    expect(notJson.body.error).toMatch(/^the request body is malformed: it is not JSON/);
    const notObject = await call("POST", "/v1/proposals", "[1]");
    expectError(notObject, 400, "REQUEST_INVALID");
    const badChange = await call("POST", "/v1/proposals", JSON.stringify({ change: { contracts: { a: { id: "b" } } } }));
    expectError(badChange, 400, "REQUEST_INVALID");
    expect(badChange.body.details).toEqual(["'description' is required", "change.contracts.a.id must be 'a'", "change.contracts.a.parties must name the two parties", "change.contracts.a.grants must be an array"]);
    for (const r of [notJson, notObject, badChange]) expect(`${r.body.error} ${r.body.hint}`).not.toMatch(/publish again|fix the listed fields/i);
    expect(calls.some((c) => c[0] === "propose")).toBe(false);
  });

  it("hands well-formed requests to the service and answers with the route's status", async () => {
    const change = { contracts: { "jd--zto": null } };
    const r = await call("POST", "/v1/proposals", JSON.stringify({ change, description: "d" }));
    expect(r).toMatchObject({ status: 201, body: { id: "prop-1" } });
    expect(calls.find((c) => c[0] === "propose")?.slice(2)).toEqual([change, "d"]);
  });

  it("answers what the service throws through the registry", async () => {
    expectError(await call("GET", "/v1/proposals/prop-x"), 404, "NOT_FOUND");
    expectError(await call("POST", "/v1/proposals/prop-1/approve", JSON.stringify({ immediate: true })), 409, "CONFLICT");
    expect(calls.find((c) => c[0] === "approve")?.slice(2)).toEqual(["prop-1", true]);
    expectError(await call("GET", "/v1/nothing-here"), 404, "ROUTE_NOT_FOUND");
    const internal = await call("GET", "/v1/policy/history");
    expectError(internal, 500, "INTERNAL");
    expect(internal.body.error).not.toMatch(/secret/);
  });

  it("serves the ledger export as JSON lines", async () => {
    const r = await call("GET", "/v1/ledger/export");
    expect(r.type).toBe("application/x-ndjson");
    expect(r.body).toBe('{"seq":0}\n{"seq":1}\n');
  });
});

describe("the OpenAPI document", () => {
  const doc = OPENAPI as unknown as { paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>; components: { schemas: Record<string, unknown> } };

  it("has every route, with its success status and the status of each error it may answer", () => {
    for (const op of Object.keys(API_ROUTES) as Operation[]) {
      const r = API_ROUTES[op];
      const o = doc.paths[r.path]?.[r.method.toLowerCase()];
      expect(o, `${r.method} ${r.path}`).toBeDefined();
      expect(Object.keys(o!.responses)).toContain(String(r.status));
      for (const code of ["UNAUTHENTICATED", ...r.errors] as const) {
        const m = ERROR_REGISTRY[code];
        expect(o!.responses[String(m.status)]?.description, `${op} ${code}`).toContain(`${code}: ${m.hint}`);
      }
    }
  });

  it("refers only to schemas it defines", () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(10);
    for (const name of refs) expect(doc.components.schemas, name).toHaveProperty(name);
    expect(doc.components.schemas.Proposal).toMatchObject({ required: expect.arrayContaining(["id", "status", "approvals"]), properties: { effectiveAt: { type: "string" } } });
    expect((doc.components.schemas.Proposal as { required: string[] }).required).not.toContain("effectiveAt");
  });

  it("fills in path parameters, encoded", () => {
    expect(apiPath("getProposal", { id: "prop-1" })).toBe("/v1/proposals/prop-1");
    expect(apiPath("approve", { id: "a/b c" })).toBe("/v1/proposals/a%2Fb%20c/approve");
    expect(apiPath("history", {})).toBe("/v1/policy/history");
  });
});
