/**
 * Compiles the router policy (policies/router/*.rego) to Wasm with the OPA CLI and pairs it with the data
 * documents (policies/data, policies/contracts). Data can be replaced without recompiling: a contract change
 * is a new bundle with the same Wasm and new data.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { contentHash, PolicyBuildError, type PolicyBundle, type PolicyData } from "@parcel-exchange/shared";
import { runOpa, TRUSTED_OPA_LIMITS, type OpaLimits } from "./opa.js";

export const POLICY_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "policies");
export const ENTRYPOINT = "px/router/decision";

/**
 * Reads policies/data/*.json and policies/contracts/*.json into the data document the policy sees. Each file
 * holds top-level documents (`{"parties": {...}}`, `{"contracts": {"<id>": {...}}}`), merged one level deep.
 */
export async function loadPolicyData(root = POLICY_ROOT): Promise<PolicyData> {
  const data: Record<string, Record<string, unknown>> = {};
  for (const dir of ["data", "contracts"]) {
    const files = (await readdir(join(root, dir))).filter((f) => f.endsWith(".json")).sort();
    for (const f of files) {
      const doc = JSON.parse(await readFile(join(root, dir, f), "utf8")) as Record<string, Record<string, unknown>>;
      for (const [top, entries] of Object.entries(doc)) {
        const target = (data[top] ??= {});
        for (const [k, v] of Object.entries(entries)) {
          if (k in target) throw new PolicyBuildError(`${dir}/${f}: data.${top}.${k} is defined twice`);
          target[k] = v;
        }
      }
    }
  }
  if (data.parties === undefined) throw new PolicyBuildError("policies/data has no parties document");
  data.contracts ??= {};
  return data as unknown as PolicyData;
}

/** Compiles the Rego under `root`/router to a Wasm module, in the sandbox of opa.ts (restricted capabilities, limit). */
export async function compileWasm(opaBin: string, root = POLICY_ROOT, limits: OpaLimits = TRUSTED_OPA_LIMITS): Promise<Buffer> {
  const tmp = await mkdtemp(join(tmpdir(), "px-policy-"));
  try {
    const out = join(tmp, "bundle.tar.gz");
    const r = await runOpa(opaBin, ["build", "-t", "wasm", "-e", ENTRYPOINT, "--ignore", "*_test.rego", "-o", out, join(root, "router")], limits);
    if (r.code !== 0) throw new PolicyBuildError(`opa build failed:\n${r.stderr || r.stdout}`);
    await promisify(execFile)("tar", ["-xzf", out, "-C", tmp, "/policy.wasm"]);
    return await readFile(join(tmp, "policy.wasm"));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export function makeBundle(wasm: Buffer, data: PolicyData, label = "policy", rego?: Record<string, string>): PolicyBundle {
  return { version: `${label}+${contentHash(wasm, data)}`, createdAt: new Date().toISOString(), wasm, data, ...(rego ? { rego } : {}) };
}

/** The Rego sources under policies/router (rules and their tests), path → text. */
export async function loadRego(root = POLICY_ROOT): Promise<Record<string, string>> {
  const dir = join(root, "router");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".rego")).sort();
  return Object.fromEntries(await Promise.all(files.map(async (f) => [`router/${f}`, await readFile(join(dir, f), "utf8")] as const)));
}

export async function buildBundle(opaBin: string, opts: { root?: string; label?: string; data?: PolicyData; limits?: OpaLimits } = {}): Promise<PolicyBundle> {
  const root = opts.root ?? POLICY_ROOT;
  const [wasm, data, rego] = await Promise.all([compileWasm(opaBin, root, opts.limits), opts.data ? Promise.resolve(opts.data) : loadPolicyData(root), loadRego(root)]);
  return makeBundle(wasm, data, opts.label, rego);
}
