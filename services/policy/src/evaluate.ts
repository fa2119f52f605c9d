/**
 * Evaluating a change, without changing any state: applied to the version in force, it is compiled and
 * tested (OPA in its sandbox, compile.ts; held to the coverage floor, and unable to delete or change the tests
 * in force), its impact computed exactly and dry-run on recent traffic — in a worker thread with a wall-clock
 * limit (impact-pool.ts), never on the service's event loop.
 */
import type { Kafka } from "kafkajs";
import type { Config, PolicyBundle } from "@parcel-exchange/shared";
import { makeBundle } from "@parcel-exchange/policy-build";
import type { DryRunReport, Impact, PolicyChange, TestSummary } from "./api.js";
import { applyChange, sourceOfBundle } from "./change.js";
import { compileAndTest } from "./compile.js";
import { sampleRecent } from "./dryrun.js";
import { ChangeRejectedError } from "./errors.js";
import { ImpactWorkers } from "./impact-pool.js";
import type { DecisionMatrix } from "./matrix.js";

export interface Evaluation {
  /** The proposed bundle, unsigned. */
  readonly bundle: PolicyBundle;
  readonly impact: Impact;
  readonly dryRun: DryRunReport;
  readonly tests: TestSummary;
}

const TEST_FILE = /_test\.rego$/;

/**
 * The Rego test files of the version in force that `change` deletes or changes, e.g. "router/floor_test.rego
 * (deleted)". A change may add tests, never take away or weaken one in force.
 */
export function testsInForceTouched(base: Pick<PolicyBundle, "rego">, change: PolicyChange): string[] {
  const inForce = base.rego ?? {};
  return Object.entries(change.rego ?? {})
    .filter(([path, text]) => TEST_FILE.test(path) && Object.hasOwn(inForce, path) && text !== inForce[path])
    .map(([path, text]) => `${path} (${text === null ? "deleted" : "changed"})`)
    .sort();
}

export class Evaluator {
  private readonly workers = new ImpactWorkers();

  constructor(
    private readonly config: Config,
    private readonly kafka: Kafka,
  ) {
    this.workers.warm();
  }

  /** Throws ChangeRejectedError when the change does not pass its checks, or they take too long. */
  async evaluate(base: PolicyBundle, change: PolicyChange, label: string): Promise<Evaluation> {
    const checks = this.config.policyChecks;
    const touched = testsInForceTouched(base, change);
    if (touched.length > 0) throw new ChangeRejectedError(`the change deletes or changes test files of the version in force (${touched.join(", ")}); a change may add tests but not remove or change them`, { testsInForce: touched });
    const src = applyChange(sourceOfBundle(base), change);
    const out = await compileAndTest(this.config.opaBin, src, { minCoverage: checks.minCoverage, timeoutMs: checks.opaTimeoutMs });
    if (out.reason === "timeout") throw new ChangeRejectedError(`the proposed policy took too long to compile or test (each OPA run is stopped after ${checks.opaTimeoutMs} ms, PX_POLICY_SANDBOX_TIMEOUT_MS)`, { compiler: out.error });
    if (out.reason === "coverage") throw new ChangeRejectedError(`the proposed policy's tests cover ${out.tests?.coverage.toFixed(1)}% of it, under the floor of ${checks.minCoverage}% (PX_POLICY_MIN_COVERAGE)`, { compiler: out.error, tests: out.tests });
    if (!out.ok || !out.wasm || !out.tests) throw new ChangeRejectedError("the proposed policy does not compile or its tests fail", { compiler: out.error, tests: out.tests });
    const bundle = makeBundle(out.wasm, src.data, label, { ...src.rego });
    const sample = await sampleRecent(this.kafka, this.config, this.config.policyService.dryRunEvents);
    const { impact, dryRun } = await this.workers.run({ base, proposed: bundle, sample }, checks.impactTimeoutMs);
    return { bundle, impact, dryRun, tests: { passed: out.tests.passed, failed: out.tests.failed, coverage: out.tests.coverage } };
  }

  /** Who receives what under `bundle` (for `party` only, when given), computed in a worker under the impact time limit. */
  matrix(bundle: PolicyBundle, party: string | undefined): Promise<DecisionMatrix> {
    return this.workers.matrix(bundle, party, this.config.policyChecks.impactTimeoutMs);
  }

  /** Stops the worker threads. */
  close(): Promise<void> {
    return this.workers.close();
  }
}
