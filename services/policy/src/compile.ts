/** Compiles and tests a proposed policy source with the OPA CLI in a scratch directory. */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PolicyBuildError } from "../../shared/src/index.js";
import { compileWasm, testPolicies, type PolicyTestReport } from "../../policy-build/src/index.js";
import type { PolicySourceTree } from "./change.js";

export interface CompileOutcome {
  readonly ok: boolean;
  readonly wasm?: Buffer;
  readonly tests?: PolicyTestReport;
  /** The compiler's or the test runner's own words when not ok. */
  readonly error?: string;
}

/**
 * Tests of the shipped contract data (shipped_test.rego) pin the repository's contracts; a proposal that
 * changes contracts supersedes them, so proposals run every other Rego test.
 */
export const DATA_BOUND_TESTS = /(^|\/)shipped_test\.rego$/;

async function writeTree(root: string, src: PolicySourceTree): Promise<void> {
  await mkdir(join(root, "router"), { recursive: true });
  await mkdir(join(root, "data"), { recursive: true });
  await mkdir(join(root, "contracts"), { recursive: true });
  for (const [path, text] of Object.entries(src.rego)) {
    if (DATA_BOUND_TESTS.test(path)) continue;
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  const { contracts, ...rest } = src.data;
  for (const [k, v] of Object.entries(rest)) await writeFile(join(root, "data", `${k}.json`), JSON.stringify({ [k]: v }));
  for (const [id, c] of Object.entries(contracts as Record<string, unknown>)) await writeFile(join(root, "contracts", `${id}.json`), JSON.stringify({ contracts: { [id]: c } }));
}

export async function compileAndTest(opaBin: string, src: PolicySourceTree, minCoverage = 0): Promise<CompileOutcome> {
  const root = await mkdtemp(join(tmpdir(), "px-proposal-"));
  try {
    await writeTree(root, src);
    let wasm: Buffer;
    try {
      wasm = await compileWasm(opaBin, root);
    } catch (err) {
      if (err instanceof PolicyBuildError) return { ok: false, error: err.message };
      throw err;
    }
    let tests: PolicyTestReport;
    try {
      tests = await testPolicies(opaBin, root);
    } catch (err) {
      if (err instanceof PolicyBuildError) return { ok: false, error: err.message };
      throw err;
    }
    if (tests.failed > 0) return { ok: false, wasm, tests, error: `opa test: ${tests.failed} failed:\n${tests.failures.join("\n")}` };
    if (tests.coverage < minCoverage) return { ok: false, wasm, tests, error: `opa test coverage ${tests.coverage.toFixed(1)}% is under ${minCoverage}%` };
    return { ok: true, wasm, tests };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
