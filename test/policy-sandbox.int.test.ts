/**
 * Issue 9, item 3: "any API key can run arbitrary Rego". Each attack against the real policy service over
 * HTTP, with the real OPA binary and the real stack: roles on every route, a loopback listener that Rego tries
 * to reach, the service's secret in its environment, a contract id that climbs out of the scratch directory,
 * slow Rego (in `opa test` and in the proposed Wasm) while /healthz is watched, tests in force deleted or
 * changed, and coverage under the floor.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_ROUTES, apiPath, ROLES, type Operation, type PathParams, type PolicyService, type Role } from "@parcel-exchange/policy";
import { startPolicyService } from "./harness.js";
import { testConfig } from "./helpers.js";

/** The service's secret for this file: known to the test, so that a Rego test could "confirm" it if it reached it. */
const SECRET = `px-sandbox-secret-${randomBytes(16).toString("hex")}`;
const savedTokenKey = process.env.PX_TOKEN_KEY;
process.env.PX_TOKEN_KEY = SECRET;
const OPA_LIMIT_MS = 2000;
const IMPACT_LIMIT_MS = 3000;
const config = testConfig("polsbx", { PX_POLICY_SANDBOX_TIMEOUT_MS: String(OPA_LIMIT_MS), PX_POLICY_IMPACT_TIMEOUT_MS: String(IMPACT_LIMIT_MS), PX_DRY_RUN_EVENTS: "100" });
const KEYS = { regulator: "px-dev-key-regulator-spb", jd: "px-dev-key-jd", taobao: "px-dev-key-taobao", viewer: "px-dev-key-viewer", gateway: "px-dev-key-gateway" } as const;
/** One key of each role (policies/users.json). */
const ROLE_KEYS: Readonly<Record<Role, string>> = { viewer: KEYS.viewer, party: KEYS.jd, regulator: KEYS.regulator, gateway: KEYS.gateway };

let service: PolicyService;
let base: string;
let stopService: (() => Promise<void>) | undefined;

async function call(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : text, ms: performance.now() - t0 };
}

const evaluate = (key: string, change: unknown) => call(key, "POST", "/v1/policy/evaluate", { change });
const propose = (key: string, change: unknown, description = "sandbox test") => call(key, "POST", "/v1/proposals", { change, description });
const inForce = () => service.bundle(service.currentVersion());
const regoTest = (name: string, body: string) => ({ [`router/${name}.rego`]: `package px.${name}\n\n${body}\n` });

beforeAll(async () => {
  const running = await startPolicyService(config);
  service = running.service;
  stopService = running.stop;
  base = running.url;
}, 240_000);

afterAll(async () => {
  await stopService?.();
  if (savedTokenKey === undefined) delete process.env.PX_TOKEN_KEY;
  else process.env.PX_TOKEN_KEY = savedTokenKey;
});

describe("roles on every route", () => {
  it("refuses a viewer's key on evaluate with 403, before the change is looked at", async () => {
    const c = structuredClone((inForce().data.contracts as Record<string, unknown>)["jd--zto"]);
    const r = await evaluate(KEYS.viewer, { contracts: { "jd--zto": c } });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: "FORBIDDEN" });
    // Not even Rego a viewer sends reaches OPA: the answer is the same 403, not a compile error.
    const rego = await evaluate(KEYS.viewer, { rego: { "router/x.rego": "package px.router\n\nthis is not rego {" } });
    expect(rego.status).toBe(403);
    // A party evaluates only what it may propose: its own contracts, no rules.
    expect((await evaluate(KEYS.taobao, { contracts: { "jd--zto": c } })).status).toBe(403);
    expect((await evaluate(KEYS.jd, { rego: { "router/x.rego": "package px.x\n" } })).status).toBe(403);
    const own = await evaluate(KEYS.jd, { contracts: { "jd--zto": c } });
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expect(own.body.tests.failed).toBe(0);
  });

  it("answers each route for each role as the route table says", async () => {
    const c = structuredClone((inForce().data.contracts as Record<string, unknown>)["jd--zto"]);
    // Bodies that pass validation; ids that do not exist, so that an allowed call changes nothing (404).
    const bodies: Partial<Record<Operation, unknown>> = {
      evaluate: { change: { contracts: { "jd--zto": c } } },
      propose: { change: { contracts: { "jd--zto": c } } },
      approve: {},
      apply: {},
      rollback: { version: "v999+none" },
      // Refused as malformed (400) by every role that may call it, so that nothing is registered here.
      createWebhook: {},
      disableWebhook: { reason: "role check" },
      reject: { reason: "role check" },
    };
    for (const op of Object.keys(API_ROUTES) as Operation[]) {
      const r = API_ROUTES[op];
      if (op === "propose") continue; // proposing for real is covered below; its roles are the same as evaluate's
      for (const role of ROLES) {
        const path = apiPath(op, { id: "prop-none", version: "v999+none" } as PathParams<typeof op>);
        const res = await call(ROLE_KEYS[role], r.method, path, r.method === "POST" ? (bodies[op] ?? {}) : undefined);
        const allowed = (r.roles as readonly Role[]).includes(role);
        if (allowed) expect(op === "createWebhook" ? [400] : [r.status, 404], `${op} as ${role}: ${JSON.stringify(res.body).slice(0, 300)}`).toContain(res.status);
        else expect(res.status, `${op} as ${role}`).toBe(403);
      }
    }
    expect((await propose(KEYS.viewer, { contracts: { "jd--zto": c } })).status).toBe(403);
  });
});

describe("submitted Rego is sandboxed", () => {
  let listener: Server;
  const heard: string[] = [];
  let url: string;

  beforeAll(async () => {
    listener = createServer((req, res) => {
      heard.push(`${req.method} ${req.url}`);
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"ok":true}');
    });
    await new Promise<void>((ok) => listener.listen(0, "127.0.0.1", ok));
    url = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/ssrf`;
  });

  afterAll(() => {
    listener.close();
  });

  it("does not let a test reach a loopback listener with http.send", async () => {
    const before = service.currentVersion();
    const body = `test_ssrf if {\n\tr := http.send({"method": "GET", "url": "${url}", "raise_error": false})\n\tr.status_code == 200\n}`;
    for (const r of [await evaluate(KEYS.regulator, { rego: regoTest("zz_ssrf_test", body) }), await propose(KEYS.regulator, { rego: regoTest("zz_ssrf_test", body) })]) {
      expect(r.status).toBe(422);
      expect(JSON.stringify(r.body.details)).toMatch(/undefined function http\.send/);
    }
    expect(heard).toEqual([]);
    expect(service.currentVersion()).toBe(before);
  });

  it("does not let Rego read the service's environment: a test that confirms PX_TOKEN_KEY cannot pass", async () => {
    expect(config.router.tokenKey).toBe(SECRET);
    const confirm = `test_secret if {\n\topa.runtime().env.PX_TOKEN_KEY == "${SECRET}"\n}`;
    const r = await propose(KEYS.regulator, { rego: regoTest("zz_env_test", confirm) });
    expect(r.status).toBe(422);
    expect(JSON.stringify(r.body.details)).toMatch(/undefined function opa\.runtime/);
    // A pass/fail side channel (one character at a time) gets nothing either: it does not compile, whatever the guess.
    for (const guess of [SECRET.slice(0, 1), "z"]) {
      const g = await evaluate(KEYS.regulator, { rego: regoTest("zz_guess_test", `test_guess if {\n\tstartswith(opa.runtime().env.PX_TOKEN_KEY, "${guess}")\n}`) });
      expect(g.status).toBe(422);
      expect(g.body.details.tests).toBeUndefined();
    }
    // Nor the clock or randomness, which would make decisions depend on something but their input.
    for (const builtin of ["time.now_ns()", "rand.intn(\"x\", 10)", "uuid.rfc4122(\"x\")", "net.lookup_ip_addr(\"localhost\")"]) {
      const t = await evaluate(KEYS.regulator, { rego: regoTest("zz_builtin_test", `test_call if {\n\tx := ${builtin}\n\tx != null\n}`) });
      expect(t.status, builtin).toBe(422);
      expect(JSON.stringify(t.body.details), builtin).toMatch(/undefined function/);
    }
  });

  it("refuses a contract id that climbs out of the scratch directory with 400, writing nothing", async () => {
    const name = `px-escape-${randomBytes(6).toString("hex")}`;
    const id = `../../${name}`;
    const escaped = join(tmpdir(), `${name}.json`);
    const c = { id, parties: ["jd", "zto"], grants: [] };
    for (const r of [await evaluate(KEYS.regulator, { contracts: { [id]: c } }), await propose(KEYS.regulator, { contracts: { [id]: c } }), await propose(KEYS.regulator, { contracts: { "../x": { ...c, id: "../x" } } })]) {
      expect(r.status).toBe(400);
      expect(r.body.code).toBe("REQUEST_INVALID");
      expect(JSON.stringify(r.body.details)).toMatch(/contracts id '\.\.\/(\.\.\/px-escape-[0-9a-f]+|x)' must be lower-case letters/);
    }
    expect(existsSync(escaped)).toBe(false);
    const rego = await propose(KEYS.regulator, { rego: { "router/../../x.rego": "package px.x\n" } });
    expect(rego.status).toBe(400);
  });
});

describe("slow Rego is stopped at its limit, and the service keeps answering", () => {
  /**
   * Calls /healthz every 50 ms while `work` runs: the slowest answer, and the longest time between two answers
   * (the test and the service share this process, so a blocked event loop shows as a gap as much as a slow answer).
   */
  async function healthWhile<T>(work: Promise<T>): Promise<{ result: T; slowest: number; longestGap: number; answered: number }> {
    let done = false;
    let slowest = 0;
    let longestGap = 0;
    let answered = 0;
    let last = performance.now();
    const watching = (async () => {
      while (!done) {
        const t0 = performance.now();
        const res = await fetch(`${base}/healthz`);
        expect(res.status).toBe(200);
        await res.text();
        const now = performance.now();
        slowest = Math.max(slowest, now - t0);
        longestGap = Math.max(longestGap, now - last);
        last = now;
        answered++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const result = await work.finally(() => (done = true));
    await watching;
    return { result, slowest, longestGap, answered };
  }

  it("rejects a Rego test that runs too long within the OPA limit", async () => {
    const slow = "test_slow if {\n\tcount([x | some x in numbers.range(1, 100000000)]) > 0\n}";
    const { result: r, slowest, longestGap, answered } = await healthWhile(propose(KEYS.regulator, { rego: regoTest("zz_slow_test", slow) }));
    expect(r.status).toBe(422);
    expect(r.body.error).toMatch(/took too long/);
    expect(r.ms).toBeLessThan(OPA_LIMIT_MS + 4000);
    expect(answered).toBeGreaterThan(5);
    expect(slowest).toBeLessThan(500);
    expect(longestGap).toBeLessThan(1000);
  });

  it("rejects a proposed policy that is slow in Wasm at the impact limit, while /healthz answers in well under a second", async () => {
    const router = inForce().rego!["router/router.rego"]!;
    // Decides like the policy in force, but spends many seconds on each decision for the recipient slowco (which no Rego test uses).
    const slowRouter = router.replace(/^deliver if not refusal$/m, 'deliver if {\n\tnot slow\n\tnot refusal\n}\n\nslow if {\n\tinput.recipient == "slowco"\n\tcount({i | some i in numbers.range(1, 2000); some j in numbers.range(1, 2000)}) < 0\n}');
    expect(slowRouter).not.toBe(router);
    const change = { rego: { "router/router.rego": slowRouter }, parties: { slowco: { kind: "courier" } } };
    const { result: r, slowest, longestGap, answered } = await healthWhile(evaluate(KEYS.regulator, change));
    // The service kept answering while the proposed Wasm ran...
    expect(longestGap, `longest time without a /healthz answer while the evaluation ran (${answered} answers)`).toBeLessThan(1000);
    expect(slowest).toBeLessThan(500);
    expect(answered).toBeGreaterThan(10);
    // ...and stopped it at the limit: a rejection, not a failure of the service.
    expect(r.status, JSON.stringify(r.body)).toBe(422);
    expect(r.body.error, JSON.stringify(r.body.details).slice(0, 2000)).toMatch(new RegExp(`took longer than ${IMPACT_LIMIT_MS} ms`));
    // The service is fine afterwards: a plain evaluation still works.
    const c = structuredClone((inForce().data.contracts as Record<string, unknown>)["jd--zto"]);
    expect((await evaluate(KEYS.regulator, { contracts: { "jd--zto": c } })).status).toBe(200);
  });
});

describe("what every change must keep", () => {
  it("refuses a change that deletes or changes a test file in force", async () => {
    const before = service.currentVersion();
    const deleted = await evaluate(KEYS.regulator, { rego: { "router/floor_test.rego": null } });
    expect(deleted.status).toBe(422);
    expect(deleted.body.details.testsInForce).toEqual(["router/floor_test.rego (deleted)"]);
    const changed = await propose(KEYS.regulator, { rego: { "router/router_test.rego": "package px.router_test\n\ntest_ok if true\n", "router/zz_new_test.rego": "package px.zz_new_test\n\ntest_ok if true\n" } });
    expect(changed.status).toBe(422);
    expect(changed.body.error).toMatch(/deletes or changes test files of the version in force \(router\/router_test\.rego \(changed\)\)/);
    // Adding a test is fine; sending a test file in force unchanged is no change to it.
    const added = await evaluate(KEYS.regulator, { rego: { "router/zz_new_test.rego": "package px.zz_new_test\n\ntest_ok if true\n", "router/floor_test.rego": inForce().rego!["router/floor_test.rego"]! } });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(service.currentVersion()).toBe(before);
  });

  it("refuses a change whose tests cover less than the floor (PX_POLICY_MIN_COVERAGE)", async () => {
    expect(config.policyChecks.minCoverage).toBe(90);
    const uncovered = ["package px.zz_uncovered", "", ...Array.from({ length: 400 }, (_, i) => `r${i} := x if {\n\tx := input.a${i}\n\tx > ${i}\n}\n`)].join("\n");
    const r = await propose(KEYS.regulator, { rego: { "router/zz_uncovered.rego": uncovered } });
    expect(r.status).toBe(422);
    expect(r.body.error).toMatch(/under the floor of 90%/);
    expect(r.body.details.tests.failed).toBe(0);
    expect(r.body.details.tests.coverage).toBeLessThan(90);
  });
});
