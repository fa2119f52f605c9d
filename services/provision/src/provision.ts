/** One call that provisions a deployment from a parties file (used by `px parties provision`, the demo and tests). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { homedir } from "node:os";
import { createKafka, createLogger, type Config, type Logger } from "@parcel-exchange/shared";
import { ledgerTransactionalId } from "@parcel-exchange/ledger";
import { applyPlan, deprovision, type ApplyResult } from "./apply.js";
import { removeCredentials } from "./credentials.js";
import { ProvisionError } from "./errors.js";
import { provisionPlan, type PartySpec, type ProvisionPlan } from "./plan.js";

/** Where generated credentials live: PX_CREDENTIALS_DIR, else the state directory's `credentials/`. */
export function credentialsDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const dir = env.PX_CREDENTIALS_DIR?.trim();
  if (dir) return dir;
  return join(env.PX_STATE_DIR?.trim() || join(homedir(), ".local", "state", "parcel-exchange"), "credentials");
}

/** The parties of a parties file (`{"parties": {id: {kind, name, quota?}}}`). */
export function readParties(file: string): Record<string, PartySpec> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ProvisionError("PARTY_INVALID", `cannot read the parties file ${file}: ${(err as Error).message}`);
  }
  const parties = (raw as { parties?: unknown }).parties;
  if (typeof parties !== "object" || parties === null || Array.isArray(parties)) throw new ProvisionError("PARTY_INVALID", `${file} has no "parties" object`);
  return parties as Record<string, PartySpec>;
}

export interface ProvisionOptions {
  /** The admin's configuration (Kafka super user and registry admin); its topicPrefix names the deployment. */
  readonly config: Config;
  readonly parties: Readonly<Record<string, PartySpec>>;
  readonly credentialsDir?: string;
  readonly log?: Logger;
}

export function planFor(config: Config, parties: Readonly<Record<string, PartySpec>>): ProvisionPlan {
  return provisionPlan({ prefix: config.topicPrefix, parties, ledgerTransactionalId: ledgerTransactionalId(config.topicPrefix) });
}

export async function provisionDeployment(opts: ProvisionOptions): Promise<ApplyResult & { plan: ProvisionPlan }> {
  const log = opts.log ?? createLogger("px-provision", opts.config.logLevel);
  const plan = planFor(opts.config, opts.parties);
  const result = await applyPlan(plan, opts.config, createKafka(opts.config, log), { credentialsDir: opts.credentialsDir ?? credentialsDir(), log });
  return { ...result, plan };
}

/** Removes the deployment's identities (ACLs, SCRAM users, registry users, credential files). */
export async function deprovisionDeployment(opts: ProvisionOptions): Promise<void> {
  const log = opts.log ?? createLogger("px-provision", opts.config.logLevel);
  const plan = planFor(opts.config, opts.parties);
  await deprovision(plan, opts.config, createKafka(opts.config, log));
  removeCredentials(opts.credentialsDir ?? credentialsDir(), `${opts.config.topicPrefix}.`);
}
