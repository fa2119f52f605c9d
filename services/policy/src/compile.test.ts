/**
 * compileAndTest with the pinned OPA binary (a process boundary, not a mock): the shipped policies pass in
 * the sandbox, and submitted Rego can reach neither the network, nor the service's environment, nor files
 * outside its scratch directory, nor run past its limit or under the coverage floor.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "@parcel-exchange/shared";
import { loadPolicyData, loadRego } from "@parcel-exchange/policy-build";
import { applyChange, type PolicySourceTree } from "./change.js";
import { compileAndTest, writeTree } from "./compile.js";
import { RequestInvalidError } from "./errors.js";

const config = loadConfig({ ...process.env, NODE_ENV: "test" });
const CHECKS = { minCoverage: config.policyChecks.minCoverage, timeoutMs: 3000 };
let shipped: PolicySourceTree;
const withRego = (rego: Record<string, string>): PolicySourceTree => applyChange(shipped, { rego });

beforeAll(async () => {
  if (!existsSync(config.opaBin)) throw new Error(`no OPA at ${config.opaBin}: run npm run stack -- install`);
  shipped = { rego: await loadRego(), data: await loadPolicyData() };
});

/** OPA runs: several seconds on a busy 2-core machine. */
const OPA_TEST_MS = 30_000;

describe("compileAndTest in the sandbox", () => {
  it("compiles and passes the shipped policies under the restricted capabilities, above the coverage floor", async () => {
    expect(config.policyChecks.minCoverage).toBe(90);
    const out = await compileAndTest(config.opaBin, shipped, CHECKS);
    expect(out.error).toBeUndefined();
    expect(out.ok).toBe(true);
    expect(out.wasm!.subarray(0, 4).toString("latin1")).toBe("\0asm");
    expect(out.tests!.failed).toBe(0);
    expect(out.tests!.passed).toBeGreaterThan(50);
    expect(out.tests!.coverage).toBeGreaterThanOrEqual(90);
  }, OPA_TEST_MS);

  it("does not let a test reach the network: http.send does not compile, and the listener hears nothing", async () => {
    const heard: string[] = [];
    const server: Server = createServer((req, res) => {
      heard.push(`${req.method} ${req.url}`);
      res.end("{}");
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ssrf`;
      const out = await compileAndTest(config.opaBin, withRego({ "router/zz_net_test.rego": `package px.zz_net_test\n\ntest_reach if {\n\tr := http.send({"method": "GET", "url": "${url}"})\n\tr.status_code == 200\n}\n` }), CHECKS);
      expect(out.ok).toBe(false);
      expect(out.error).toMatch(/undefined function http\.send/);
      expect(heard).toEqual([]);
    } finally {
      server.close();
    }
  }, OPA_TEST_MS);

  it("does not let Rego observe the service's environment (PX_TOKEN_KEY)", async () => {
    const secret = config.router.tokenKey;
    const saved = process.env.PX_TOKEN_KEY;
    process.env.PX_TOKEN_KEY = secret;
    try {
      const probe = `package px.zz_env_test\n\ntest_secret if {\n\topa.runtime().env.PX_TOKEN_KEY == "${secret}"\n}\n`;
      const out = await compileAndTest(config.opaBin, withRego({ "router/zz_env_test.rego": probe }), CHECKS);
      expect(out.ok).toBe(false);
      expect(out.error).toMatch(/undefined function opa\.runtime/);
      // Nor through a side channel of pass/fail: a guess about the key's first character neither passes nor fails, it does not compile.
      const guess = `package px.zz_guess_test\n\ntest_guess if {\n\tstartswith(opa.runtime().env.PX_TOKEN_KEY, "${secret[0]}")\n}\n`;
      const g = await compileAndTest(config.opaBin, withRego({ "router/zz_guess_test.rego": guess }), CHECKS);
      expect(g.ok).toBe(false);
      expect(g.tests).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.PX_TOKEN_KEY;
      else process.env.PX_TOKEN_KEY = saved;
    }
  }, OPA_TEST_MS);

  it("stops a slow test at the limit and says it took too long", async () => {
    const slow = "package px.zz_slow_test\n\ntest_slow if {\n\tcount([x | some x in numbers.range(1, 100000000)]) > 0\n}\n";
    const t0 = Date.now();
    const out = await compileAndTest(config.opaBin, withRego({ "router/zz_slow_test.rego": slow }), { ...CHECKS, timeoutMs: 1000 });
    expect(out).toMatchObject({ ok: false, reason: "timeout" });
    expect(out.error).toMatch(/took longer than 1000 ms/);
    expect(Date.now() - t0).toBeLessThan(5000);
  }, OPA_TEST_MS);

  it("refuses tests that cover less than the floor", async () => {
    const uncovered = ["package px.zz_uncovered", "", ...Array.from({ length: 400 }, (_, i) => `r${i} := x if {\n\tx := input.a${i}\n\tx > ${i}\n}\n`)].join("\n");
    const out = await compileAndTest(config.opaBin, withRego({ "router/zz_uncovered.rego": uncovered }), CHECKS);
    expect(out).toMatchObject({ ok: false, reason: "coverage" });
    expect(out.tests!.failed).toBe(0);
    expect(out.tests!.coverage).toBeLessThan(90);
    expect(out.error).toMatch(/under the floor of 90%/);
    // The same with no floor passes: it is the floor that refuses it.
    expect((await compileAndTest(config.opaBin, withRego({ "router/zz_uncovered.rego": uncovered }), { ...CHECKS, minCoverage: 0 })).ok).toBe(true);
  }, OPA_TEST_MS);
});

describe("writeTree", () => {
  let parent: string;
  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), "px-tree-test-"));
  });
  afterAll(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  it("refuses, before writing anything, a contract id or Rego path that leaves its directory", async () => {
    const root = join(parent, "a", "root");
    for (const [name, src] of [
      ["contract ../../x", { rego: {}, data: { ...shipped.data, contracts: { "../../x": {} } } }],
      ["contract ../x", { rego: {}, data: { ...shipped.data, contracts: { "../x": {} } } }],
      ["rego router/../../x.rego", { rego: { "router/../../x.rego": "package x\n" }, data: shipped.data }],
      ["rego /tmp/x.rego", { rego: { "/tmp/x.rego": "package x\n" }, data: shipped.data }],
    ] as const) {
      await expect(writeTree(root, src as PolicySourceTree), name).rejects.toBeInstanceOf(RequestInvalidError);
    }
    expect(await readdir(parent)).toEqual([]);
  });

  it("writes the shipped tree inside its root", async () => {
    const root = join(parent, "ok");
    await writeTree(root, shipped);
    expect((await readdir(join(root, "contracts"))).sort()).toContain("jd--zto.json");
    expect(await readdir(join(root, "router"))).not.toContain("shipped_test.rego");
    expect(await readdir(parent)).toEqual(["ok"]);
  });
});

describe("the settings of the checks", () => {
  it("defaults to a 90% floor and a few seconds per OPA run, and refuses bad values naming the setting", () => {
    const d = loadConfig({ NODE_ENV: "test" }).policyChecks;
    expect(d).toEqual({ minCoverage: 90, opaTimeoutMs: 5000, impactTimeoutMs: 10_000 });
    expect(loadConfig({ NODE_ENV: "test", PX_POLICY_MIN_COVERAGE: "95", PX_POLICY_SANDBOX_TIMEOUT_MS: "2000", PX_POLICY_IMPACT_TIMEOUT_MS: "3000" }).policyChecks).toEqual({ minCoverage: 95, opaTimeoutMs: 2000, impactTimeoutMs: 3000 });
    for (const [setting, value] of [["PX_POLICY_MIN_COVERAGE", "101"], ["PX_POLICY_MIN_COVERAGE", "ninety"], ["PX_POLICY_SANDBOX_TIMEOUT_MS", "0"], ["PX_POLICY_IMPACT_TIMEOUT_MS", "-5"]] as const) {
      let err: unknown;
      try {
        loadConfig({ NODE_ENV: "test", [setting]: value });
      } catch (e) {
        err = e;
      }
      expect(err, `${setting}=${value}`).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).setting).toBe(setting);
      expect((err as Error).message).toMatch(new RegExp(`Fix: set ${setting} to a whole number`));
    }
  });
});
