/** The roles of every route: named in the route table, checked centrally by http.ts, shown in the OpenAPI document. */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { createLogger } from "@parcel-exchange/shared";
import { API_ROUTES, apiPath, ROLES, type Operation, type PathParams, type Role, type RouteSpec } from "./api.js";
import { ERROR_REGISTRY } from "./http-errors.js";
import { policyApi } from "./http.js";
import { OPENAPI } from "./openapi.js";
import type { PolicyService } from "./service.js";
import { hashKey, Users } from "./users.js";

// @ts-expect-error a route without roles does not compile
const noRoles: RouteSpec = { method: "GET", path: "/v1/x", status: 200, summary: "x", errors: [] };
// @ts-expect-error nor does one with an empty list of roles
const emptyRoles: RouteSpec = { method: "GET", path: "/v1/x", status: 200, summary: "x", errors: [], roles: [] };
void [noRoles, emptyRoles];

const KEYS: Readonly<Record<Role, string>> = { viewer: "k-viewer", party: "k-party-jd", regulator: "k-regulator", gateway: "k-gateway" };
const contract = { id: "jd--zto", parties: ["jd", "zto"], grants: [] };
/** A well-formed body for each operation that takes one, so that only the role decides. */
const BODIES: Partial<Record<Operation, unknown>> = {
  evaluate: { change: { contracts: { "jd--zto": contract } } },
  propose: { change: { contracts: { "jd--zto": contract } }, description: "d" },
  approve: {},
  apply: {},
  rollback: { version: "v1+abc" },
  createWebhook: { url: "https://hooks.example.com/px", eventTypes: ["TrackingEvent"], party: "jd" },
  rotateWebhookSecret: {},
  disableWebhook: { reason: "410 Gone" },
  enableWebhook: {},
  reject: { reason: "not now" },
};
const PARAMS = { id: "prop-1", version: "v2+3f9c0a1b" }; // a version as the service names them: sent percent-encoded
const endpoint = { id: "ep_000000000000000000000001", party: "jd", url: "https://hooks.example.com/px", eventTypes: ["TrackingEvent"], format: "json", status: "enabled", createdAt: "", createdBy: "party:jd", secretIds: [] };

/** Which service methods each request reached. */
const reached: string[] = [];
const record =
  <T,>(name: string, value: T) =>
  async (..._args: unknown[]): Promise<T> => {
    reached.push(name);
    return value;
  };
const stub = {
  currentVersion: () => "v1+abc",
  bundle: () => ({ version: "v1+abc", data: { parties: {}, contracts: { "jd--zto": contract } } }),
  history: record("history", []),
  evaluate: record("evaluate", { bundle: { version: "v2" }, tests: { passed: 1, failed: 0, coverage: 100 }, impact: {}, dryRun: {} }),
  visibleProposals: () => {
    reached.push("visibleProposals");
    return [];
  },
  proposalFor: (_user: unknown, id: string) => {
    reached.push("proposalFor");
    return { id };
  },
  proposal: (id: string) => {
    reached.push("proposal");
    return { id };
  },
  propose: record("propose", { id: "prop-1" }),
  approve: record("approve", { id: "prop-1" }),
  apply: record("apply", { id: "prop-1" }),
  rollback: record("rollback", "v1+abc"),
  ledgerEntries: record("ledgerEntries", []),
  matrix: record("matrix", { version: "v1", inForce: true, parties: [], eventTypes: [], scope: "all", rows: [], cases: 0 }),
  reject: record("reject", { id: "prop-1", status: "rejected" }),
  ledgerCheck: record("ledgerCheck", { result: { ok: true, entries: 0, problems: [] }, entries: [] }),
  listWebhooks: () => {
    reached.push("listWebhooks");
    return [];
  },
  webhookTargets: () => {
    reached.push("webhookTargets");
    return [];
  },
  createWebhook: record("createWebhook", { endpoint, secret: "whsec_x" }),
  rotateWebhookSecret: record("rotateWebhookSecret", { endpoint, secret: "whsec_x" }),
  disableWebhook: record("disableWebhook", endpoint),
  enableWebhook: record("enableWebhook", endpoint),
} as unknown as PolicyService;

let server: Server;
let base: string;

beforeAll(async () => {
  const users = new Users([
    { id: "viewer:v", role: "viewer", keySha256: hashKey(KEYS.viewer) },
    { id: "party:jd", role: "party", party: "jd", keySha256: hashKey(KEYS.party) },
    { id: "regulator:r", role: "regulator", keySha256: hashKey(KEYS.regulator) },
    { id: "service:gateway", role: "gateway", keySha256: hashKey(KEYS.gateway) },
  ]);
  server = policyApi(stub, users, createLogger("policy-roles-test", "silent"), new Registry());
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.close();
});

async function call(op: Operation, role: Role, body: unknown = BODIES[op]): Promise<{ status: number; body: any }> {
  const r = API_ROUTES[op];
  const res = await fetch(`${base}${apiPath(op, PARAMS as PathParams<typeof op>)}`, {
    method: r.method,
    headers: { authorization: `Bearer ${KEYS[role]}`, "content-type": "application/json" },
    ...(r.method === "POST" ? { body: typeof body === "string" ? body : JSON.stringify(body ?? {}) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : text };
}

describe("roles of the routes", () => {
  it("names at least one role for every route: reading for all but the gateway, changing for parties and regulators, apply and rollback for regulators", () => {
    const roles = Object.fromEntries((Object.keys(API_ROUTES) as Operation[]).map((op) => [op, [...API_ROUTES[op].roles].sort()]));
    const doc = OPENAPI as unknown as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    for (const op of Object.keys(API_ROUTES) as Operation[]) {
      expect(API_ROUTES[op].roles.length, op).toBeGreaterThan(0);
      for (const role of API_ROUTES[op].roles) expect(ROLES, op).toContain(role);
      if (API_ROUTES[op].method === "GET" && op !== "webhookTargets") expect(roles[op], op).toEqual(["party", "regulator", "viewer"]);
      else if (API_ROUTES[op].method === "POST") expect(roles[op], op).not.toContain("viewer");
      if (roles[op]!.length < ROLES.length) expect(Object.keys(doc.paths[API_ROUTES[op].path]![API_ROUTES[op].method.toLowerCase()]!.responses), `${op} documents 403`).toContain("403");
    }
    expect(roles.webhookTargets).toEqual(["gateway"]);
    expect(roles.disableWebhook).toEqual(["gateway", "party", "regulator"]);
    for (const op of ["createWebhook", "rotateWebhookSecret", "enableWebhook"] as const) expect(roles[op], op).toEqual(["party", "regulator"]);
    expect(roles.evaluate).toEqual(["party", "regulator"]);
    expect(roles.propose).toEqual(["party", "regulator"]);
    expect(roles.approve).toEqual(["party", "regulator"]);
    expect(roles.reject).toEqual(["party", "regulator"]);
    expect(roles.apply).toEqual(["regulator"]);
    expect(roles.rollback).toEqual(["regulator"]);
  });

  it("answers every route, for every role, as the table says: 403 FORBIDDEN before the handler runs, or the handler", async () => {
    for (const op of Object.keys(API_ROUTES) as Operation[]) {
      for (const role of ROLES) {
        reached.length = 0;
        const r = await call(op, role);
        const allowed = (API_ROUTES[op].roles as readonly Role[]).includes(role);
        if (allowed) {
          expect(r.status, `${op} as ${role}: ${JSON.stringify(r.body)}`).toBe(API_ROUTES[op].status);
          if (op === "currentVersion") expect(r.body).toEqual({ version: "v1+abc" });
          else if (op === "whoami") expect(r.body).toEqual({ viewer: { id: "viewer:v", role: "viewer" }, party: { id: "party:jd", role: "party", party: "jd" }, regulator: { id: "regulator:r", role: "regulator" } }[role as "viewer"]);
          else expect(reached.length, `${op} as ${role} reaches the service`).toBeGreaterThan(0);
        } else {
          expect(r.status, `${op} as ${role}`).toBe(403);
          expect(r.body).toMatchObject({ code: "FORBIDDEN", hint: ERROR_REGISTRY.FORBIDDEN.hint });
          expect(r.body.error).toContain(`is a ${role}`);
          expect(reached, `${op} as ${role} reaches nothing`).toEqual([]);
        }
      }
    }
  });

  it("lets the gateway call webhookTargets and disableWebhook only, and nobody else read the targets", async () => {
    const gatewayAllowed: Operation[] = [];
    for (const op of Object.keys(API_ROUTES) as Operation[]) {
      reached.length = 0;
      const r = await call(op, "gateway");
      if (r.status === 403) expect(reached, `${op} as gateway reaches nothing`).toEqual([]);
      else gatewayAllowed.push(op);
    }
    expect(gatewayAllowed.sort()).toEqual(["disableWebhook", "webhookTargets"]);
    for (const role of ["party", "regulator", "viewer"] as const) {
      reached.length = 0;
      const r = await call("webhookTargets", role);
      expect(r, `webhookTargets as ${role}`).toMatchObject({ status: 403, body: { code: "FORBIDDEN" } });
      expect(reached).toEqual([]);
    }
    reached.length = 0;
    expect((await call("webhookTargets", "gateway")).status).toBe(200);
    expect((await call("disableWebhook", "gateway")).status).toBe(200);
    expect(reached).toEqual(["webhookTargets", "disableWebhook"]);
  });

  it("checks webhook bodies after the role: a viewer's add is 403 before the body, a party's malformed one 400", async () => {
    reached.length = 0;
    expect((await call("createWebhook", "viewer", "{ not json")).status).toBe(403);
    const bad = await call("createWebhook", "party", { url: "http://127.0.0.1/x", eventTypes: [], extra: 1 });
    expect(bad).toMatchObject({ status: 400, body: { code: "REQUEST_INVALID" } });
    expect(bad.body.details).toEqual(expect.arrayContaining(["unknown key 'extra'", expect.stringMatching(/eventTypes/), expect.stringMatching(/https/), expect.stringMatching(/private/)]));
    expect((await call("disableWebhook", "gateway", {})).status).toBe(400);
    expect((await call("disableWebhook", "gateway", { reason: "x".repeat(501) })).status).toBe(400);
    expect((await call("rotateWebhookSecret", "party", { extra: true })).status).toBe(400);
    expect(reached).toEqual([]);
  });

  it("refuses a viewer's evaluate before reading the body, and a party's evaluate of what it may not propose", async () => {
    reached.length = 0;
    expect((await call("evaluate", "viewer", "{ not json")).status).toBe(403);
    expect((await call("evaluate", "party", "{ not json")).status).toBe(400);
    const notASide = await call("evaluate", "party", { change: { contracts: { "hive-box--taobao": { id: "hive-box--taobao", parties: ["hive-box", "taobao"], grants: [] } } } });
    expect(notASide).toMatchObject({ status: 403, body: { code: "FORBIDDEN" } });
    expect(notASide.body.error).toMatch(/not a side of contract hive-box--taobao/);
    const rules = await call("evaluate", "party", { change: { rego: { "router/x.rego": "package px.x\n" } } });
    expect(rules).toMatchObject({ status: 403, body: { code: "FORBIDDEN" } });
    expect(reached).toEqual([]);
    expect((await call("evaluate", "regulator", { change: { rego: { "router/x.rego": "package px.x\n" } } })).status).toBe(200);
    expect(reached).toEqual(["evaluate"]);
  });

  it("shows the roles of every operation in the OpenAPI document", () => {
    const doc = OPENAPI as unknown as { paths: Record<string, Record<string, { "x-roles": string[]; description: string }>> };
    for (const op of Object.keys(API_ROUTES) as Operation[]) {
      const r = API_ROUTES[op];
      const o = doc.paths[r.path]![r.method.toLowerCase()]!;
      expect(o["x-roles"], op).toEqual([...r.roles]);
      expect(o.description, op).toContain(`Roles: ${r.roles.join(", ")}`);
    }
  });
});
