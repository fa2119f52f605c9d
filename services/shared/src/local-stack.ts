/**
 * The local stack (infra/local/stack.sh) seen from the demo and the tests: start it when needed, and read the
 * environment that makes a client the stack's admin principal (what `npm run stack -- env` prints).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";

/** `stack.sh up` (idempotent); its progress goes to stderr. */
export function localStackUp(root: string, stdio: "inherit" | "quiet" = "inherit"): void {
  execFileSync("bash", [join(root, "infra/local/stack.sh"), "up"], { stdio: stdio === "inherit" ? "inherit" : ["ignore", "ignore", "inherit"], cwd: root });
}

/** The `export NAME=value` lines of `stack.sh env [principal]`, as an environment. */
export function localStackEnv(root: string, principal?: string): Record<string, string> {
  const out = execFileSync("bash", [join(root, "infra/local/stack.sh"), "env", ...(principal ? [principal] : [])], { cwd: root, encoding: "utf8" });
  const env: Record<string, string> = {};
  for (const m of out.matchAll(/^export ([A-Z_]+)=(.*)$/gm)) env[m[1]!] = m[2]!;
  return env;
}
