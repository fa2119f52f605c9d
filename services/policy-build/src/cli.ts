/**
 * Policy build CLI.
 *   test      run `opa test` with coverage; fails under the coverage floor (PX_POLICY_MIN_COVERAGE, default 90, the
 *             floor every proposal is held to as well)
 *   build     compile and write the bundle to PX_POLICY_DIR
 *
 * There is no `publish`: a bundle reaches the routers only through the policy service (propose → approve →
 * ledger entry → signed release), never straight from a build.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadConfig, PxError, serializeBundle } from "@parcel-exchange/shared";
import { buildBundle } from "./build.js";
import { testPolicies } from "./opa-test.js";

async function main(cmd: string | undefined): Promise<number> {
  const config = loadConfig();
  const minCoverage = config.policyChecks.minCoverage;
  switch (cmd) {
    case "test": {
      const r = await testPolicies(config.opaBin);
      console.log(`policy tests: ${r.passed} passed, ${r.failed} failed; coverage ${r.coverage.toFixed(1)}% (floor ${minCoverage}%)`);
      for (const f of r.failures) console.log(`  FAIL ${f}`);
      if (r.failed > 0) return 1;
      if (r.coverage < minCoverage) {
        console.log(`coverage ${r.coverage.toFixed(1)}% is under the floor of ${minCoverage}%: add tests for the uncovered rules (opa test --coverage policies/)`);
        return 1;
      }
      return 0;
    }
    case "build": {
      const b = await buildBundle(config.opaBin);
      await mkdir(config.policyDir, { recursive: true });
      await writeFile(join(config.policyDir, "bundle.json"), serializeBundle(b));
      console.log(`built ${b.version} -> ${join(config.policyDir, "bundle.json")}`);
      return 0;
    }
    default:
      console.error("usage: policy-build test|build (bundles are published by the policy service: px policy propose …)");
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof PxError ? `${err.name}: ${err.message}` : err);
    process.exit(1);
  },
);
