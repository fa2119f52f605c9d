/**
 * Integration tests run against the real local stack. When it is not up, start it (idempotent), so that
 * `npm test` passes on a fresh clone after `npm install`. Set PX_SKIP_STACK=1 to run against services
 * configured through the environment instead (e.g. an existing cluster).
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

export default function setup(): void {
  if (process.env.PX_SKIP_STACK === "1") return;
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  execFileSync("bash", [join(root, "infra/local/stack.sh"), "up"], { stdio: "inherit", cwd: root });
}
