/** Runs the Rego test suite with coverage and enforces the coverage floor. */
import { PolicyBuildError } from "../../shared/src/index.js";
import { POLICY_ROOT } from "./build.js";
import { runOpa } from "./opa.js";

export interface PolicyTestReport {
  readonly passed: number;
  readonly failed: number;
  readonly coverage: number;
  readonly failures: readonly string[];
}

interface OpaTestJson {
  coverage?: number;
}

export async function testPolicies(opaBin: string, root = POLICY_ROOT): Promise<PolicyTestReport> {
  const verbose = await runOpa(opaBin, ["test", "--format", "json", root]);
  let results: { name: string; package: string; fail?: boolean; error?: unknown; skip?: boolean }[];
  try {
    results = JSON.parse(verbose.stdout) as typeof results;
  } catch {
    throw new PolicyBuildError(`opa test did not run:\n${verbose.stderr || verbose.stdout}`);
  }
  const failures = results.filter((r) => r.fail || r.error).map((r) => `${r.package}.${r.name}${r.error ? `: ${JSON.stringify(r.error)}` : ""}`);
  if (failures.length > 0) return { passed: results.length - failures.length, failed: failures.length, coverage: 0, failures };
  const cov = await runOpa(opaBin, ["test", "--coverage", "--format", "json", root]);
  let coverage: number;
  try {
    coverage = (JSON.parse(cov.stdout) as OpaTestJson).coverage ?? 0;
  } catch {
    throw new PolicyBuildError(`opa test --coverage did not report coverage:\n${cov.stderr || cov.stdout}`);
  }
  return { passed: results.length - failures.length, failed: failures.length, coverage, failures };
}
