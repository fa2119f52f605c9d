#!/usr/bin/env node
// Launcher for the px CLI: runs services/cli/src/px.ts under tsx (resolved from this package, so it works
// from any directory) and exits with its exit code.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const entry = fileURLToPath(new URL("../src/px.ts", import.meta.url));
const tsx = import.meta.resolve("tsx");
// --conditions=px-source: the workspace packages (@parcel-exchange/*) resolve to their TypeScript sources.
const child = spawn(process.execPath, ["--conditions=px-source", "--import", tsx, entry, ...process.argv.slice(2)], { stdio: "inherit" });
// Ctrl-C reaches the child directly (same process group); stay alive until it has cleaned up.
process.on("SIGINT", () => undefined);
process.on("SIGTERM", () => child.kill("SIGTERM"));
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : 1)));
child.on("error", (err) => {
  console.error(`px: cannot start node (${err.message})`);
  process.exit(1);
});
