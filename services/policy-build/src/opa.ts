/**
 * Runs the OPA CLI (path from config OPA_BIN), always in a sandbox: whatever Rego it reads may be a party's or
 * an attacker's (proposals), so every run gets
 *   - an empty environment (nothing of the service's, e.g. no PX_TOKEN_KEY),
 *   - a fresh scratch directory as its working directory, removed afterwards,
 *   - a hard wall-clock limit: the process is killed (SIGKILL) when it passes, and OpaTimeoutError is thrown,
 *   - for commands that compile Rego (`build`, `test`): `--capabilities` with the restricted set below, so that
 *     Rego that calls a network, runtime, time or random builtin does not compile.
 * The repository's own policies go through the same sandbox: there is one way to run OPA.
 */
import { execFile } from "node:child_process";
import { access, constants, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, PolicyBuildError } from "@parcel-exchange/shared";

export interface OpaResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface OpaLimits {
  /** Wall-clock limit of each OPA run, in milliseconds (PX_POLICY_SANDBOX_TIMEOUT_MS for submitted Rego). */
  readonly timeoutMs: number;
}

/** The limit of runs whose caller names none: the repository's own policies, built and tested at start or in CI. */
export const TRUSTED_OPA_LIMITS: OpaLimits = { timeoutMs: 120_000 };

/** An OPA run that passed its wall-clock limit; the process was killed. */
export class OpaTimeoutError extends PolicyBuildError {
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number) {
    super(`${what} took longer than ${timeoutMs} ms and was stopped`);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Builtins removed from the capabilities every compile runs with, besides every builtin OPA marks
 * nondeterministic (which, in OPA v1.10.1, are http.send, net.lookup_ip_addr, opa.runtime, rand.intn,
 * time.now_ns, uuid.rfc4122, io.jwt.decode_verify, io.jwt.encode_sign and io.jwt.encode_sign_raw): the network,
 * the runtime and its environment, the clock (also read by the certificate and token verifiers) and randomness.
 * The router policy needs none of them; a decision must depend on its input and data only.
 */
export const REMOVED_BUILTINS: readonly string[] = [
  "http.send",
  "net.lookup_ip_addr",
  "opa.runtime",
  "time.now_ns",
  "rand.intn",
  "uuid.rfc4122",
  "io.jwt.decode_verify",
  "io.jwt.encode_sign",
  "io.jwt.encode_sign_raw",
  "crypto.x509.parse_and_verify_certificates",
  "crypto.x509.parse_and_verify_certificates_with_options",
];

/** Subcommands that compile Rego and take `--capabilities`. */
const COMPILING = new Set(["build", "test", "check", "eval"]);

interface Capabilities {
  builtins: { name: string; nondeterministic?: boolean }[];
  allow_net?: string[];
  [k: string]: unknown;
}

/** `opa capabilities --current` without the removed builtins, and with no network host allowed. */
export function restrictCapabilities(current: Capabilities): Capabilities {
  const removed = new Set(REMOVED_BUILTINS);
  return { ...current, builtins: current.builtins.filter((b) => !b.nondeterministic && !removed.has(b.name)), allow_net: [] };
}

const capabilities = new Map<string, Promise<string>>();

/** The restricted capabilities of this OPA binary, as JSON (asked once per binary and process). */
export function restrictedCapabilities(opaBin: string): Promise<string> {
  let c = capabilities.get(opaBin);
  if (!c) {
    c = (async () => {
      const r = await runOpa(opaBin, ["capabilities", "--current"], TRUSTED_OPA_LIMITS);
      let current: Capabilities;
      try {
        current = JSON.parse(r.stdout) as Capabilities;
        if (r.code !== 0 || !Array.isArray(current.builtins)) throw new Error("no builtins");
      } catch {
        throw new PolicyBuildError(`opa capabilities --current did not list the builtins:\n${r.stderr || r.stdout}`);
      }
      return JSON.stringify(restrictCapabilities(current));
    })();
    capabilities.set(opaBin, c);
    c.catch(() => capabilities.delete(opaBin));
  }
  return c;
}

function exec(opaBin: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<OpaResult> {
  return new Promise((resolve, reject) => {
    execFile(opaBin, [...args], { cwd, env: {}, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: NodeJS.Signals | null };
        if (e.killed && e.signal === "SIGKILL") {
          reject(new OpaTimeoutError(`opa ${args[0] ?? ""}`, timeoutMs));
          return;
        }
        if (typeof e.code !== "number") {
          reject(new PolicyBuildError(`could not run ${opaBin}: ${err.message}`, { cause: err }));
          return;
        }
      }
      resolve({ stdout, stderr, code: err ? Number((err as NodeJS.ErrnoException).code) : 0 });
    });
  });
}

/** Runs `opa <args>` in the sandbox; a compiling subcommand gets the restricted capabilities. */
export async function runOpa(opaBin: string, args: readonly string[], limits: OpaLimits = TRUSTED_OPA_LIMITS): Promise<OpaResult> {
  try {
    await access(opaBin, constants.X_OK);
  } catch {
    throw new ConfigError("OPA_BIN", `no executable OPA CLI at ${opaBin}`, "run `npm run stack -- install` (builds the pinned OPA) or set OPA_BIN to an opa binary");
  }
  const [cmd, ...rest] = args;
  const caps = cmd !== undefined && COMPILING.has(cmd) ? await restrictedCapabilities(opaBin) : undefined;
  const scratch = await mkdtemp(join(tmpdir(), "px-opa-"));
  try {
    let full = args;
    if (caps !== undefined) {
      const file = join(scratch, "capabilities.json");
      await writeFile(file, caps);
      full = [cmd!, "--capabilities", file, ...rest];
    }
    return await exec(opaBin, full, scratch, limits.timeoutMs);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
