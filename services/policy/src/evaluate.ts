/**
 * Evaluating a change, without changing any state: applied to the version in force, it is compiled and
 * tested, its impact computed exactly, and it is dry-run on recent traffic.
 */
import type { Kafka } from "kafkajs";
import type { Config, PolicyBundle } from "../../shared/src/index.js";
import { makeBundle } from "../../policy-build/src/index.js";
import { PolicyEngine } from "../../decision/src/index.js";
import type { DryRunReport, Impact, PolicyChange, TestSummary } from "./api.js";
import { applyChange, sourceOfBundle } from "./change.js";
import { compileAndTest } from "./compile.js";
import { dryRun, sampleRecent } from "./dryrun.js";
import { ChangeRejectedError } from "./errors.js";
import { compareEngines } from "./impact.js";

export interface Evaluation {
  /** The proposed bundle, unsigned. */
  readonly bundle: PolicyBundle;
  readonly impact: Impact;
  readonly dryRun: DryRunReport;
  readonly tests: TestSummary;
}

export class Evaluator {
  private readonly engines = new Map<string, PolicyEngine>();

  constructor(
    private readonly config: Config,
    private readonly kafka: Kafka,
  ) {}

  private async engine(b: PolicyBundle): Promise<PolicyEngine> {
    let e = this.engines.get(b.version);
    if (!e) this.engines.set(b.version, (e = await PolicyEngine.load(b, 1000)));
    return e;
  }

  /** Throws ChangeRejectedError when the change does not compile or its tests fail. */
  async evaluate(base: PolicyBundle, change: PolicyChange, label: string): Promise<Evaluation> {
    const src = applyChange(sourceOfBundle(base), change);
    const out = await compileAndTest(this.config.opaBin, src);
    if (!out.ok || !out.wasm || !out.tests) throw new ChangeRejectedError("the proposed policy does not compile or its tests fail", { compiler: out.error, tests: out.tests });
    const bundle = makeBundle(out.wasm, src.data, label, { ...src.rego });
    const [cur, next] = await Promise.all([this.engine(base), this.engine(bundle)]);
    const impact = compareEngines(cur, next);
    const sample = await sampleRecent(this.kafka, this.config, this.config.policyService.dryRunEvents);
    return { bundle, impact, dryRun: dryRun(cur, next, sample), tests: { passed: out.tests.passed, failed: out.tests.failed, coverage: out.tests.coverage } };
  }
}
