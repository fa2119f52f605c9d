/**
 * Integration tests run against the real local stack. When it is not up, start it (idempotent), so that
 * `npm test` passes on a fresh clone after `npm install`. Set PX_LOCAL_STACK=false to run against services
 * configured through the environment instead (e.g. an existing cluster).
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { loadConfig } from "../services/shared/src/index.js";

export default function setup(): void {
  if (!loadConfig().manageLocalStack) return;
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  execFileSync("bash", [join(root, "infra/local/stack.sh"), "up"], { stdio: "inherit", cwd: root });
}
