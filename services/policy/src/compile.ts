/**
 * Compiles and tests a proposed policy source with the OPA CLI: the tree is written to a scratch directory
 * (every path checked to stay inside it), and OPA runs in the sandbox of policy-build's opa.ts (empty
 * environment, restricted capabilities, wall-clock limit).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { PolicyBuildError } from "@parcel-exchange/shared";
import { compileWasm, OpaTimeoutError, testPolicies, type OpaLimits, type PolicyTestReport } from "@parcel-exchange/policy-build";
import type { PolicySourceTree } from "./change.js";
import { RequestInvalidError } from "./errors.js";

export interface CompileOutcome {
  readonly ok: boolean;
  /** Why not ok: it does not compile or its tests fail, its tests cover less than the floor, or OPA passed its wall-clock limit. */
  readonly reason?: "failed" | "coverage" | "timeout";
  readonly wasm?: Buffer;
  readonly tests?: PolicyTestReport;
  /** The compiler's or the test runner's own words when not ok. */
  readonly error?: string;
}

/** What a proposal's Rego must pass, and the limit of each OPA run on it. */
export interface CompileChecks extends OpaLimits {
  /** Coverage floor, percent (PX_POLICY_MIN_COVERAGE). */
  readonly minCoverage: number;
}

/**
 * Tests of the shipped contract data (shipped_test.rego) pin the repository's contracts; a proposal that
 * changes contracts supersedes them, so proposals run every other Rego test.
 */
export const DATA_BOUND_TESTS = /(^|\/)shipped_test\.rego$/;

/** `root`/`path`, refused (RequestInvalidError) unless it is a file inside `root`/`dir`. */
function inside(root: string, dir: "router" | "data" | "contracts", path: string): string {
  const target = resolve(root, path);
  const rel = relative(join(root, dir), target);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) throw new RequestInvalidError("the change", [`'${path}' names a file outside ${dir}/ of the policy tree`]);
  return target;
}

/** Writes the source tree under `root`; throws before writing anything when a name would leave `root`. */
export async function writeTree(root: string, src: PolicySourceTree): Promise<void> {
  const { contracts, ...rest } = src.data;
  const files: [string, string][] = [];
  for (const [path, text] of Object.entries(src.rego)) if (!DATA_BOUND_TESTS.test(path)) files.push([inside(root, "router", path), text]);
  for (const [k, v] of Object.entries(rest)) files.push([inside(root, "data", `data/${k}.json`), JSON.stringify({ [k]: v })]);
  for (const [id, c] of Object.entries(contracts as Record<string, unknown>)) files.push([inside(root, "contracts", `contracts/${id}.json`), JSON.stringify({ contracts: { [id]: c } })]);
  for (const dir of ["router", "data", "contracts"]) await mkdir(join(root, dir), { recursive: true });
  for (const [file, text] of files) {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text);
  }
}

export async function compileAndTest(opaBin: string, src: PolicySourceTree, checks: CompileChecks): Promise<CompileOutcome> {
  const root = await mkdtemp(join(tmpdir(), "px-proposal-"));
  const limits: OpaLimits = { timeoutMs: checks.timeoutMs };
  const failed = (err: unknown): CompileOutcome => {
    if (err instanceof OpaTimeoutError) return { ok: false, reason: "timeout", error: err.message };
    if (err instanceof PolicyBuildError) return { ok: false, reason: "failed", error: err.message };
    throw err;
  };
  try {
    await writeTree(root, src);
    let wasm: Buffer;
    try {
      wasm = await compileWasm(opaBin, root, limits);
    } catch (err) {
      return failed(err);
    }
    let tests: PolicyTestReport;
    try {
      tests = await testPolicies(opaBin, root, limits);
    } catch (err) {
      return failed(err);
    }
    if (tests.failed > 0) return { ok: false, reason: "failed", wasm, tests, error: `opa test: ${tests.failed} failed:\n${tests.failures.join("\n")}` };
    if (tests.coverage < checks.minCoverage) return { ok: false, reason: "coverage", wasm, tests, error: `opa test coverage ${tests.coverage.toFixed(1)}% is under the floor of ${checks.minCoverage}% (PX_POLICY_MIN_COVERAGE): add tests for the new rules` };
    return { ok: true, wasm, tests };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
