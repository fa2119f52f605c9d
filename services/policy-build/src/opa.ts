/** Runs the OPA CLI (path from config OPA_BIN). */
import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { ConfigError, PolicyBuildError } from "../../shared/src/index.js";

export interface OpaResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export async function runOpa(opaBin: string, args: readonly string[], cwd?: string): Promise<OpaResult> {
  try {
    await access(opaBin, constants.X_OK);
  } catch {
    throw new ConfigError("OPA_BIN", `no executable OPA CLI at ${opaBin}`, "run `npm run stack -- install` (builds the pinned OPA) or set OPA_BIN to an opa binary");
  }
  return new Promise((resolve, reject) => {
    execFile(opaBin, [...args], { cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code !== "number") {
        reject(new PolicyBuildError(`could not run ${opaBin}: ${err.message}`, { cause: err }));
        return;
      }
      resolve({ stdout, stderr, code: err ? Number((err as NodeJS.ErrnoException).code) : 0 });
    });
  });
}
