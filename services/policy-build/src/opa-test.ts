/** Runs the Rego test suite with coverage (in the sandbox of opa.ts); the floor is the caller's to enforce. */
import { PolicyBuildError } from "@parcel-exchange/shared";
import { POLICY_ROOT } from "./build.js";
import { OpaTimeoutError, runOpa, TRUSTED_OPA_LIMITS, type OpaLimits } from "./opa.js";

export interface PolicyTestReport {
  readonly passed: number;
  readonly failed: number;
  readonly coverage: number;
  readonly failures: readonly string[];
}

interface OpaTestJson {
  coverage?: number;
}

interface OpaTestResult {
  name: string;
  package: string;
  fail?: boolean;
  error?: { code?: string; message?: string } | unknown;
  skip?: boolean;
}

/** OPA's code for an evaluation stopped by `--timeout`. */
const CANCELLED = "eval_cancel_error";

/**
 * `opa test` on `root`: each test is stopped by OPA at the limit (`--timeout`), and the process is killed at it
 * (opa.ts). A test stopped by the limit throws OpaTimeoutError, like a killed run.
 */
export async function testPolicies(opaBin: string, root = POLICY_ROOT, limits: OpaLimits = TRUSTED_OPA_LIMITS): Promise<PolicyTestReport> {
  const timeout = ["--timeout", `${limits.timeoutMs}ms`];
  const verbose = await runOpa(opaBin, ["test", ...timeout, "--format", "json", root], limits);
  let results: OpaTestResult[];
  try {
    results = JSON.parse(verbose.stdout) as OpaTestResult[];
  } catch {
    throw new PolicyBuildError(`opa test did not run:\n${verbose.stderr || verbose.stdout}`);
  }
  const cancelled = results.filter((r) => (r.error as { code?: string } | undefined)?.code === CANCELLED);
  if (cancelled.length > 0) throw new OpaTimeoutError(`opa test (${cancelled.map((r) => `${r.package}.${r.name}`).join(", ")})`, limits.timeoutMs);
  const failures = results.filter((r) => r.fail || r.error).map((r) => `${r.package}.${r.name}${r.error ? `: ${JSON.stringify(r.error)}` : ""}`);
  if (failures.length > 0) return { passed: results.length - failures.length, failed: failures.length, coverage: 0, failures };
  const cov = await runOpa(opaBin, ["test", ...timeout, "--coverage", "--format", "json", root], limits);
  let coverage: number;
  try {
    coverage = (JSON.parse(cov.stdout) as OpaTestJson).coverage ?? 0;
  } catch {
    if (`${cov.stdout}${cov.stderr}`.includes(CANCELLED)) throw new OpaTimeoutError("opa test --coverage", limits.timeoutMs);
    throw new PolicyBuildError(`opa test --coverage did not report coverage:\n${cov.stderr || cov.stdout}`);
  }
  return { passed: results.length - failures.length, failed: failures.length, coverage, failures };
}
