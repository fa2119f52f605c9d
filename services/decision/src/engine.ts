/** Runs the compiled Rego (Wasm) in-process with @open-policy-agent/opa-wasm. */
import { loadPolicy, type LoadedPolicy } from "@open-policy-agent/opa-wasm";
import { PolicyError, type PolicyBundle } from "@parcel-exchange/shared";
import type { PolicyInput } from "./decision.js";

export interface EvalResult {
  readonly result: unknown;
  readonly seconds: number;
}

/** What the router needs of a policy; PolicyEngine is the real one, tests may supply their own. */
export interface DecisionEngine {
  readonly version: string;
  readonly bundle: Pick<PolicyBundle, "version" | "data">;
  evaluate(input: PolicyInput): EvalResult;
}

export class PolicyEngine implements DecisionEngine {
  private constructor(
    readonly bundle: PolicyBundle,
    private readonly policy: LoadedPolicy,
    private readonly timeoutMs: number,
  ) {}

  static async load(bundle: PolicyBundle, timeoutMs: number): Promise<PolicyEngine> {
    let policy: LoadedPolicy;
    try {
      policy = await loadPolicy(bundle.wasm);
      policy.setData(bundle.data);
    } catch (err) {
      throw new PolicyError(`policy ${bundle.version} could not be loaded (${(err as Error).message})`, { cause: err });
    }
    return new PolicyEngine(bundle, policy, timeoutMs);
  }

  get version(): string {
    return this.bundle.version;
  }

  /**
   * Evaluates the decision entrypoint. Wasm evaluation is synchronous, so a slow evaluation is detected when it
   * returns; past the budget its answer is not used (fail closed).
   */
  evaluate(input: PolicyInput): EvalResult {
    const t0 = performance.now();
    let out: unknown;
    try {
      out = this.policy.evaluate(input);
    } catch (err) {
      throw new PolicyError(`policy ${this.version} failed to evaluate (${(err as Error).message})`, { cause: err });
    }
    const ms = performance.now() - t0;
    if (ms > this.timeoutMs) throw new PolicyError(`policy ${this.version} took ${ms.toFixed(1)} ms, over PX_POLICY_EVAL_TIMEOUT_MS=${this.timeoutMs}`);
    if (!Array.isArray(out) || out.length !== 1) throw new PolicyError(`policy ${this.version} returned ${Array.isArray(out) ? out.length : "no"} results; the decision is undefined for this input`);
    return { result: (out[0] as { result?: unknown }).result, seconds: ms / 1000 };
  }
}
