/**
 * The sandbox every OPA run gets (opa.ts): an empty environment, a fresh scratch working directory, a hard
 * wall-clock limit, and restricted capabilities. The process side is checked with a stand-in executable that
 * reports what it was given (a process boundary, like OPA's); the capabilities with the pinned OPA itself.
 */
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "@parcel-exchange/shared";
import { OpaTimeoutError, REMOVED_BUILTINS, restrictedCapabilities, runOpa } from "./opa.js";

const opaBin = loadConfig().opaBin;
let dir: string;
let reporter: string;
let sleeper: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "px-opa-test-"));
  reporter = join(dir, "report.sh");
  // Answers `capabilities --current` like OPA (two builtins), and prints the capabilities file it is given.
  await writeFile(
    reporter,
    [
      "#!/bin/sh",
      'if [ "$1" = capabilities ]; then echo \'{"builtins":[{"name":"http.send","nondeterministic":true},{"name":"opa.runtime"},{"name":"count"}],"features":["rego_v1"]}\'; exit 0; fi',
      'echo "cwd=$(pwd)"',
      "env",
      'echo "args=$*"',
      'if [ "$2" = --capabilities ]; then echo "caps=$(cat "$3")"; fi',
      "",
    ].join("\n"),
  );
  sleeper = join(dir, "sleep.sh");
  await writeFile(sleeper, "#!/bin/sh\nexec sleep 30\n");
  await chmod(reporter, 0o755);
  await chmod(sleeper, 0o755);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the OPA sandbox", () => {
  it("runs with an empty environment in a fresh scratch directory, removed afterwards", async () => {
    process.env.PX_TOKEN_KEY_SANDBOX_PROBE = "must-not-leak";
    try {
      const r = await runOpa(reporter, ["version"]);
      const lines = r.stdout.trim().split("\n");
      const cwd = lines.find((l) => l.startsWith("cwd="))!.slice(4);
      expect(cwd.startsWith(join(tmpdir(), "px-opa-"))).toBe(true);
      expect(cwd).not.toBe(process.cwd());
      await expect(stat(cwd)).rejects.toThrow(/ENOENT/);
      // `env` of an empty environment lists only what the shell itself sets (PWD, SHLVL, _), nothing of ours.
      const vars = lines.filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l) && !l.startsWith("cwd=") && !l.startsWith("args=")).map((l) => l.split("=")[0]);
      expect(vars.filter((v) => !["PWD", "OLDPWD", "SHLVL", "_"].includes(v!))).toEqual([]);
      expect(r.stdout).not.toContain("must-not-leak");
    } finally {
      delete process.env.PX_TOKEN_KEY_SANDBOX_PROBE;
    }
  });

  it("kills a run at its wall-clock limit and says it took too long", async () => {
    const t0 = Date.now();
    const err = await runOpa(sleeper, ["version"], { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpaTimeoutError);
    expect((err as Error).message).toMatch(/took longer than 300 ms/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it("gives build and test the restricted capabilities: no network, runtime, clock or randomness", async () => {
    const r = await runOpa(reporter, ["test", "x"]);
    expect(r.stdout).toMatch(/args=test --capabilities \/\S+\/capabilities\.json x/);
    expect(JSON.parse(r.stdout.split("caps=")[1]!)).toEqual({ builtins: [{ name: "count" }], features: ["rego_v1"], allow_net: [] });
    expect((await runOpa(reporter, ["version"])).stdout).not.toContain("--capabilities");
    const caps = JSON.parse(await restrictedCapabilities(opaBin)) as { builtins: { name: string; nondeterministic?: boolean }[]; allow_net: string[] };
    const names = caps.builtins.map((b) => b.name);
    expect(names.length).toBeGreaterThan(100);
    for (const b of REMOVED_BUILTINS) expect(names, b).not.toContain(b);
    expect(caps.builtins.filter((b) => b.nondeterministic)).toEqual([]);
    expect(caps.allow_net).toEqual([]);
    // What the router policy does need is still there.
    for (const b of ["object.get", "sprintf", "startswith", "uuid.parse", "trace"]) expect(names).toContain(b);
  });

  it("removes every builtin the pinned OPA marks nondeterministic", async () => {
    const r = await runOpa(opaBin, ["capabilities", "--current"]);
    const all = (JSON.parse(r.stdout) as { builtins: { name: string; nondeterministic?: boolean }[] }).builtins;
    const nondeterministic = all.filter((b) => b.nondeterministic).map((b) => b.name);
    expect(nondeterministic.length).toBeGreaterThan(0);
    for (const b of nondeterministic) expect(REMOVED_BUILTINS, b).toContain(b);
  });
});
